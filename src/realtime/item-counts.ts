import type { InteractionKind } from './interactions';

/** How often one user counted toward one item on one UTC day, per interaction kind. */
export interface CountedItem {
  id: string;
  /** The UTC day of the edge time, `YYYY-MM-DD`. */
  day: string;
  n: Partial<Record<InteractionKind, number>>;
}

export interface ItemCountLimits {
  /** Times one user counts toward one item per interaction kind and UTC day. */
  countsPerItem: number;
  /** Items a profile remembers counts of, the most recently counted first. */
  countedItems: number;
}

export interface CountDecision {
  /** Whether the interaction counts toward the item: its stats, weight, neighbours and trends. */
  counts: boolean;
  /** The profile's counted items after it. */
  counted: CountedItem[];
}

/**
 * Decides whether a user's interaction with an item counts toward the item, so that one client
 * repeating an event cannot carry an item up trending or popularity: each user counts at most
 * `countsPerItem` times per item, interaction kind and UTC day of the edge time (a purchase still
 * counts after many views). Counts of earlier days are dropped as a new day starts; a late record
 * of an earlier day counts against the item's current day, so it never counts more. Only the
 * `countedItems` latest items are remembered: a user who touches more items than that in a day
 * may count again for the oldest, which takes that many other items in between.
 */
export function countInteraction(
  counted: readonly CountedItem[],
  itemId: string,
  kind: InteractionKind,
  receivedAt: string,
  limits: ItemCountLimits,
): CountDecision {
  // receivedAt is normalised ISO 8601 UTC, so its first ten characters are the day.
  const day = receivedAt.slice(0, 10);
  const current = counted.filter((entry) => entry.day >= day);
  const entry = current.find((e) => e.id === itemId);
  const times = entry?.n[kind] ?? 0;
  if (times >= limits.countsPerItem) return { counts: false, counted: current };
  const next: CountedItem = { id: itemId, day: entry?.day ?? day, n: { ...entry?.n, [kind]: times + 1 } };
  return {
    counts: true,
    counted: [next, ...current.filter((e) => e.id !== itemId)].slice(0, limits.countedItems),
  };
}

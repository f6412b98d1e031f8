import { countOne } from './counts';
import type { ItemTouch, PairDelta } from './profile';

export interface ItemStatsState {
  counts: Record<string, number>;
  /** Sum over users of the strongest weight each gave the item: its popularity in similarity. */
  weight: number;
}

/** Applies an item's touches from one batch. */
export function reduceItemStats(
  stored: ItemStatsState | null,
  touches: readonly ItemTouch[],
): ItemStatsState {
  // Only the stats are copied: `stored` may be a whole item, whose neighbours are not changed here.
  const state: ItemStatsState = { counts: { ...stored?.counts }, weight: stored?.weight ?? 0 };
  for (const touch of touches) {
    countOne(state.counts, touch.event);
    state.weight += touch.weightDelta;
  }
  return state;
}

export interface NeighbourEntry {
  id: string;
  /** Accumulated weighted co-occurrence. */
  co: number;
  /** The neighbour's popularity weight when the pair was last updated. */
  nb: number;
  score: number;
}

export interface NeighboursState {
  /** Best first, at most `cap` entries. */
  neighbours: NeighbourEntry[];
}

/**
 * Pairs seen by few users are noise: a pair of two rarely seen items seen once together would
 * otherwise score a perfect 1. Shrinking by co/(co + k) needs a few users to agree first.
 */
export const SHRINKAGE = 3;
export const NEIGHBOUR_CAP = 50;

/** Cosine similarity of two items' weighted user vectors, shrunk towards 0 for thin evidence. */
export function similarity(co: number, weightA: number, weightB: number): number {
  if (co <= 0 || weightA <= 0 || weightB <= 0) return 0;
  return (co / Math.sqrt(weightA * weightB)) * (co / (co + SHRINKAGE));
}

/**
 * Adds one batch's co-occurrence to an item's neighbour list and re-scores it. Cosine divides by
 * both items' popularity, so an item that everyone views does not become everyone's neighbour.
 * Entries beyond the cap are dropped (their counts with them): a bounded, approximate top-K.
 */
export function reduceNeighbours(
  stored: NeighboursState | null,
  pairs: readonly PairDelta[],
  ownWeight: number,
  weightOf: (itemId: string) => number | undefined,
  cap = NEIGHBOUR_CAP,
): NeighboursState {
  const byId = new Map((stored?.neighbours ?? []).map((n) => [n.id, { ...n }]));
  for (const pair of pairs) {
    const entry = byId.get(pair.otherId) ?? { id: pair.otherId, co: 0, nb: 0, score: 0 };
    entry.co += pair.co;
    byId.set(pair.otherId, entry);
  }
  const neighbours = [...byId.values()].map((entry) => {
    const nb = weightOf(entry.id) ?? entry.nb;
    return { ...entry, nb, score: similarity(entry.co, ownWeight, nb) };
  });
  neighbours.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  return { neighbours: neighbours.slice(0, cap) };
}

/** An item's stats and neighbours, kept together: one write per item and batch. */
export interface ItemState extends ItemStatsState, NeighboursState {}

/** Either kind of change one batch makes to an item. */
export type ItemChange = ItemTouch | PairDelta;

function isPair(change: ItemChange): change is PairDelta {
  return 'otherId' in change;
}

/**
 * Applies a batch's touches and co-occurrence to an item, re-scoring every neighbour with the
 * item's new weight; `weightOf` gives the other items' weights (already updated for this batch).
 */
export function reduceItem(
  stored: ItemState | null,
  changes: readonly ItemChange[],
  weightOf: (itemId: string) => number | undefined,
): ItemState {
  const stats = reduceItemStats(
    stored,
    changes.filter((c): c is ItemTouch => !isPair(c)),
  );
  const { neighbours } = reduceNeighbours(stored, changes.filter(isPair), stats.weight, weightOf);
  return { ...stats, neighbours };
}

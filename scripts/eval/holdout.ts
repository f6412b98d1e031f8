/** The least an evaluation needs of an event: whose it is and which items, if any, it is about. */
export interface Interaction {
  profileId: string;
  itemIds: readonly string[];
}

export interface HoldoutSplit<E extends Interaction> {
  /** Every event the engine may learn from, in the original order. */
  train: E[];
  /** Per evaluated profile, the item to predict. */
  heldOut: Map<string, string>;
}

/**
 * Leave-last-out: per profile, the item it came to last (the latest first interaction with an
 * item) is held out, with everything that profile did from that moment on, so nothing the user did
 * later leaks into training. Only profiles with an earlier item are evaluated (the others have
 * nothing to recommend from); their events all stay in training. When one event (an order) is the
 * first touch of several items, the first it names is held out. Events must be in time order.
 */
export function holdOutLastItem<E extends Interaction>(events: readonly E[]): HoldoutSplit<E> {
  const firstTouch = new Map<string, Map<string, number>>();
  events.forEach((e, index) => {
    if (e.itemIds.length === 0) return;
    const items = firstTouch.get(e.profileId) ?? new Map<string, number>();
    for (const itemId of e.itemIds) if (!items.has(itemId)) items.set(itemId, index);
    firstTouch.set(e.profileId, items);
  });
  const cutAt = new Map<string, number>();
  const heldOut = new Map<string, string>();
  for (const [profileId, items] of firstTouch) {
    if (items.size < 2) continue;
    const [itemId, index] = [...items].reduce((latest, entry) => (entry[1] > latest[1] ? entry : latest));
    cutAt.set(profileId, index);
    heldOut.set(profileId, itemId);
  }
  const train = events.filter((e, index) => index < (cutAt.get(e.profileId) ?? Infinity));
  return { train, heldOut };
}

/**
 * Per profile, the first item it comes to (one it had not touched before) from the first event that
 * `starts` marks on, held out with everything that profile did from then on. Only profiles that came
 * to an item before that event are evaluated; the events of all others stay in training. Events
 * must be in time order.
 */
export function holdOutFirstItemAfter<E extends Interaction>(
  events: readonly E[],
  starts: (event: E) => boolean,
): HoldoutSplit<E> {
  const touched = new Map<string, Set<string>>();
  const started = new Set<string>();
  const decided = new Set<string>();
  const cutAt = new Map<string, number>();
  const heldOut = new Map<string, string>();
  events.forEach((e, index) => {
    if (decided.has(e.profileId)) return;
    const items = touched.get(e.profileId) ?? new Set<string>();
    touched.set(e.profileId, items);
    if (!started.has(e.profileId) && starts(e)) {
      if (items.size === 0) {
        decided.add(e.profileId);
        return;
      }
      started.add(e.profileId);
    }
    const fresh = started.has(e.profileId) ? e.itemIds.find((id) => !items.has(id)) : undefined;
    if (fresh !== undefined) {
      cutAt.set(e.profileId, index);
      heldOut.set(e.profileId, fresh);
      decided.add(e.profileId);
      return;
    }
    for (const id of e.itemIds) items.add(id);
  });
  const train = events.filter((e, index) => index < (cutAt.get(e.profileId) ?? Infinity));
  return { train, heldOut };
}

/** Share of profiles whose held-out item is among the first k recommended to them. */
export function hitRate(
  recommended: ReadonlyMap<string, readonly string[]>,
  heldOut: ReadonlyMap<string, string>,
  k: number,
): number {
  if (heldOut.size === 0) return 0;
  let hits = 0;
  for (const [profileId, itemId] of heldOut) {
    if ((recommended.get(profileId) ?? []).slice(0, k).includes(itemId)) hits += 1;
  }
  return hits / heldOut.size;
}

/** Items by how many events name them, most first (ties by id, so the order is stable). */
export function popularity(events: readonly Interaction[]): string[] {
  const counts = new Map<string, number>();
  for (const e of events) for (const id of e.itemIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
}

/** The most-popular baseline for one user: the top k, without what the engine would exclude too. */
export function mostPopular(ranked: readonly string[], exclude: ReadonlySet<string>, k: number): string[] {
  const result: string[] = [];
  for (const id of ranked) {
    if (result.length === k) break;
    if (!exclude.has(id)) result.push(id);
  }
  return result;
}

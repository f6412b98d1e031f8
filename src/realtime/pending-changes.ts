import type { ItemTouch, PairDelta } from './profile';

/**
 * One stream batch's changes to items and trends from one shard, waiting to be folded in
 * (`foldPending` in hot-batch.ts). A batch appends them instead of rewriting every item it
 * touches, so an item is written once per fold, not once per batch (docs/hot-tier.md#the-fold).
 *
 * An entry holds every change of each contribution it covers: the changes of one event never
 * straddle two entries. That is what lets a fold take any prefix of the pending entries: an item's
 * or a trend's watermark then never passes a position whose changes it has only in part.
 */
export interface PendingChanges {
  shardId: string;
  /** The lowest sequence of the entry's changes: with the shard, the entry's place in the log. */
  sequence: string;
  touches: ItemTouch[];
  pairs: PairDelta[];
}

/** A batch's changes as one entry per shard, ordered and named by their first position. */
export function pendingEntriesOf(
  touches: readonly ItemTouch[],
  pairs: readonly PairDelta[],
): PendingChanges[] {
  const byShard = new Map<string, PendingChanges>();
  const entryOf = (shardId: string, sequence: string): PendingChanges => {
    const entry = byShard.get(shardId) ?? { shardId, sequence, touches: [], pairs: [] };
    if (sequence < entry.sequence) entry.sequence = sequence;
    byShard.set(shardId, entry);
    return entry;
  };
  for (const touch of touches) entryOf(touch.shardId, touch.sequence).touches.push(touch);
  for (const pair of pairs) entryOf(pair.shardId, pair.sequence).pairs.push(pair);
  return [...byShard.values()];
}

/**
 * The changes of several entries, each change once. Two entries may repeat changes: a batch
 * retried after some of its profiles were written appends the rest of its changes again, and a
 * bisected batch's halves repeat what the whole appended. A change is named by its position and
 * what it changes; replaying the same profile gives the same change, so repeats are identical.
 */
export function mergePending(entries: readonly PendingChanges[]): {
  touches: ItemTouch[];
  pairs: PairDelta[];
} {
  const touches = new Map<string, ItemTouch>();
  const pairs = new Map<string, PairDelta>();
  for (const entry of entries) {
    for (const t of entry.touches) touches.set(JSON.stringify([t.shardId, t.sequence, t.itemId]), t);
    for (const p of entry.pairs) pairs.set(JSON.stringify([p.shardId, p.sequence, p.itemId, p.otherId]), p);
  }
  return { touches: [...touches.values()], pairs: [...pairs.values()] };
}

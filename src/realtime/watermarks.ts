/** Something applied at a place in the stream: what watermarks filter. */
export interface Positioned {
  shardId: string;
  /** Padded, so string order is stream order. */
  sequence: string;
}

/** Per shard, the highest sequence number a key has applied. */
export type Watermarks = Readonly<Record<string, string>>;

/** A key's state with the watermarks of what it has applied: what a hot-tier store keeps per key. */
export interface Versioned<S> {
  state: S;
  watermarks: Watermarks;
}

/**
 * What a key has not applied yet. Per shard, records reach a key in stream order and without gaps,
 * so anything at or below the shard's watermark is already in the key's state.
 */
export function unapplied<C extends Positioned>(
  stored: Versioned<unknown> | null,
  changes: readonly C[],
): C[] {
  if (stored === null) return [...changes];
  return changes.filter((c) => c.sequence > (stored.watermarks[c.shardId] ?? ''));
}

/**
 * A key's next state: the changes it has not applied reduced into its state, with its watermarks
 * raised past them. Null when it has applied them all, so a redelivery writes nothing.
 */
export function advance<S, C extends Positioned>(
  stored: Versioned<S> | null,
  changes: readonly C[],
  reduce: (state: S | null, pending: C[]) => S,
): Versioned<S> | null {
  const pending = unapplied(stored, changes);
  if (pending.length === 0) return null;
  const watermarks: Record<string, string> = { ...stored?.watermarks };
  for (const c of pending) if (c.sequence > (watermarks[c.shardId] ?? '')) watermarks[c.shardId] = c.sequence;
  return { state: reduce(stored?.state ?? null, pending), watermarks };
}

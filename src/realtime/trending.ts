import type { ItemTouch } from './profile';

export type TrendWindow = 'HOUR' | 'DAY';

export const WINDOW_MS: Readonly<Record<TrendWindow, number>> = { HOUR: 3_600_000, DAY: 86_400_000 };
export const TREND_CAP = 200;

export interface TrendEntry {
  id: string;
  /** Decayed count at the state's `ref` time. */
  s: number;
  /** Events in the bucket starting at `bucket`. */
  c: number;
  /** Events in the bucket before it. */
  p: number;
}

export interface TrendState {
  /** The latest edge time applied (ISO); scores are as of this instant. */
  ref: string;
  /** Start of the current fixed window (ISO). */
  bucket: string;
  /** Highest score first, at most the cap. */
  items: TrendEntry[];
}

export interface TrendingItem {
  itemId: string;
  score: number;
  count: number;
}

/** Half-life of a score is the window: an event an hour ago counts half in HOUR, ~97% in DAY. */
function decay(window: TrendWindow, elapsedMs: number): number {
  return Math.pow(0.5, Math.max(0, elapsedMs) / WINDOW_MS[window]);
}

function bucketOf(window: TrendWindow, time: number): number {
  return Math.floor(time / WINDOW_MS[window]) * WINDOW_MS[window];
}

/**
 * Below this a score is dropped with its entry: it is about 30 windows old, and scores keep
 * halving towards DynamoDB's smallest number (1e-130), which a write would refuse.
 */
const MIN_TREND_SCORE = 1e-9;

/** Whether an entry still says something: a score worth keeping, or events in the last two buckets. */
const isNoticeable = (entry: TrendEntry): boolean => entry.s >= MIN_TREND_SCORE || entry.c > 0 || entry.p > 0;

/**
 * Applies touches to one event's trend (exponentially decayed counts by edge time). Items past the
 * cap fall off; the decayed score of a dropped item is small by construction.
 */
export function reduceTrend(
  stored: TrendState | null,
  touches: readonly ItemTouch[],
  window: TrendWindow,
  cap = TREND_CAP,
): TrendState {
  // A loop, not Math.max(...): a batch of large orders can touch more items than a call takes arguments.
  let latest = -Infinity;
  for (const touch of touches) latest = Math.max(latest, Date.parse(touch.receivedAt));
  const oldRef = stored ? Date.parse(stored.ref) : latest;
  const ref = Math.max(oldRef, latest);
  const oldBucket = stored ? Date.parse(stored.bucket) : bucketOf(window, ref);
  const bucket = bucketOf(window, ref);
  const shift = (bucket - oldBucket) / WINDOW_MS[window];
  const factor = decay(window, ref - oldRef);
  const byId = new Map<string, TrendEntry>();
  for (const entry of stored?.items ?? []) {
    byId.set(entry.id, {
      id: entry.id,
      s: entry.s * factor,
      c: shift === 0 ? entry.c : 0,
      p: shift === 0 ? entry.p : shift === 1 ? entry.c : 0,
    });
  }
  for (const touch of touches) {
    const time = Date.parse(touch.receivedAt);
    const entry = byId.get(touch.itemId) ?? { id: touch.itemId, s: 0, c: 0, p: 0 };
    entry.s += decay(window, ref - time);
    const touchBucket = bucketOf(window, time);
    if (touchBucket === bucket) entry.c += 1;
    else if (touchBucket === bucket - WINDOW_MS[window]) entry.p += 1;
    byId.set(touch.itemId, entry);
  }
  const items = [...byId.values()]
    .filter(isNoticeable)
    .sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : 1))
    .slice(0, cap);
  return { ref: new Date(ref).toISOString(), bucket: new Date(bucket).toISOString(), items };
}

/**
 * The trend as of `now`: scores decayed to now, and `count` estimating events in the last window
 * from two fixed buckets (the previous one weighted by how much of it the sliding window covers).
 */
export function readTrend(
  state: TrendState | null,
  window: TrendWindow,
  now: number,
  limit: number,
): TrendingItem[] {
  if (state === null) return [];
  const size = WINDOW_MS[window];
  const factor = decay(window, now - Date.parse(state.ref));
  const current = bucketOf(window, now);
  const stored = Date.parse(state.bucket);
  const covered = 1 - (now - current) / size;
  const count = (e: TrendEntry): number => {
    if (stored >= current) return e.c + Math.round(e.p * covered);
    if (stored === current - size) return Math.round(e.c * covered);
    return 0;
  };
  return state.items.slice(0, limit).map((e) => ({ itemId: e.id, score: e.s * factor, count: count(e) }));
}

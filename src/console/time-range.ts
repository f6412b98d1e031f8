/** The periods the console's warehouse panels look back over, and the buckets they draw. */
export const RANGES = {
  '24h': { label: 'last 24 hours', hours: 24 },
  '7d': { label: 'last 7 days', hours: 7 * 24 },
  '30d': { label: 'last 30 days', hours: 30 * 24 },
} as const;
export type RangeName = keyof typeof RANGES;
export const DEFAULT_RANGE: RangeName = '7d';

export type BucketSize = 'HOUR' | 'DAY';
const BUCKET_MS: Record<BucketSize, number> = { HOUR: 3_600_000, DAY: 86_400_000 };

export interface TimeRange {
  /** ISO 8601, inclusive. */
  from: string;
  /** ISO 8601, exclusive. */
  to: string;
}

/** The range ending at the end of the current hour: whole hours, and an event sent a moment ago is inside it. */
export function rangeEndingNow(name: RangeName, now: Date = new Date()): TimeRange {
  const to = Math.floor(now.getTime() / BUCKET_MS.HOUR) * BUCKET_MS.HOUR + BUCKET_MS.HOUR;
  const from = to - RANGES[name].hours * BUCKET_MS.HOUR;
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

/** Every bucket start from the one holding `from` up to `to`, so a chart shows the quiet ones too (days start at 00:00 UTC, as the warehouse's do). */
export function bucketStarts(range: TimeRange, size: BucketSize): string[] {
  const step = BUCKET_MS[size];
  const first = Math.floor(Date.parse(range.from) / step) * step;
  const starts: string[] = [];
  for (let at = first; at < Date.parse(range.to); at += step) starts.push(new Date(at).toISOString());
  return starts;
}

/** A bucket's label: `05-04 10:00` for hours, `2026-05-04` for days (UTC, as the buckets are). */
export function bucketLabel(iso: string, size: BucketSize): string {
  return size === 'HOUR' ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}

/**
 * Which days of a table a load's MERGE reads to find the rows a batch repeats. `events` is
 * partitioned by day of event_time and `failed_events` by day of received_at; a MERGE whose target
 * is bound by literal time ranges reads only those days' files (Iceberg prunes by the day transform
 * and by each file's time bounds), instead of the key column of every day the table keeps.
 *
 * Why the batch's own days are enough: a repeated record is the record the edge accepted once.
 * The edge stamps `receivedAt` into the stream record (ingest-service.ts, toRecordBody; a direct
 * producer's record without one takes its arrival in the stream, which its redeliveries keep), and
 * the stream derives event_time from that record alone: `timestamp + (receivedAt − sentAt)`, or
 * receivedAt without a client time (src/events/enrich/event-time.ts). Kinesis, Lambda and Firehose
 * redeliver the same bytes, and a failed event's replay keeps its receivedAt
 * (failed-events-service.ts), so every copy has the same event_time and the same received_at.
 * A client's resend of an unanswered request is the one exception: the edge stamps it again, and
 * the tracker restamps sentAt, so its corrected time moves by the difference of the two network
 * latencies (by the whole delay when the client sent no timestamp). MARGIN_MS widens every day by
 * an hour either side, so a resend a few seconds off midnight still meets its first copy; one sent
 * without a timestamp over an hour later and on another day does not, and is stored again (edge
 * dedupe, when on, answers it DUPLICATE before it reaches the stream).
 */

/** A time range [from, to), in UTC. */
export interface TimeRange {
  from: Date;
  to: Date;
}

/** The target rows a load's MERGE may match: those in `ranges`, and those with no time if `nulls`. */
export interface LoadBound {
  ranges: readonly TimeRange[];
  nulls: boolean;
}

/** How far past its batch's days a repeated record's time may lie (see above). */
export const MARGIN_MS = 3_600_000;

const DAY_MS = 24 * 3_600_000;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The bound of a batch whose rows fall on `days` (`YYYY-MM-DD`, UTC; null for rows without a time):
 * each day widened by MARGIN_MS, ranges that meet joined, so that a straggler from months ago adds
 * its own day rather than widening one range to months. Undefined when the batch has no rows.
 */
export function loadBoundOf(days: ReadonlyArray<string | null>): LoadBound | undefined {
  if (days.length === 0) return undefined;
  const starts = [
    ...new Set(days.filter((day): day is string => day !== null).map((day) => dayStartMs(day))),
  ].sort((a, b) => a - b);
  const ranges: TimeRange[] = [];
  let open: { from: number; to: number } | undefined;
  for (const start of starts) {
    const from = start - MARGIN_MS;
    const to = start + DAY_MS + MARGIN_MS;
    if (open !== undefined && from <= open.to) {
      open.to = to;
      continue;
    }
    if (open !== undefined) ranges.push(toRange(open));
    open = { from, to };
  }
  if (open !== undefined) ranges.push(toRange(open));
  return { ranges, nulls: days.includes(null) };
}

function dayStartMs(day: string): number {
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (!ISO_DAY.test(day) || Number.isNaN(ms)) throw new Error(`not a UTC day: ${JSON.stringify(day)}`);
  return ms;
}

const toRange = (range: { from: number; to: number }): TimeRange => ({
  from: new Date(range.from),
  to: new Date(range.to),
});

/**
 * The warehouse's retention limits (docs/privacy.md#retention), written once for DuckDB and Redshift:
 * events older than the limit go by event time, failed events by the time they were received, with
 * everything derived from them (event-removal.ts).
 */

import type { SqlDialect } from './dialect';
import type { PurgeCounts, WarehouseRetention } from './port';
import { REMOVED_EVENTS, removalOf, removeEvents } from './event-removal';
import { bucketStartMs } from './queries';

/** The times before which rows go. */
export interface PurgeCutoffs {
  eventsBefore: Date;
  failedEventsBefore: Date;
}

const DAY_MS = 86_400_000;

function checkDays(name: string, days: number): number {
  if (!Number.isSafeInteger(days) || days < 1) {
    throw new RangeError(`${name} must be a positive whole number of days, got ${days}`);
  }
  return days;
}

/**
 * The cutoffs at `now`: the limit counted back from the start of the UTC day, so that the oldest day
 * kept is whole (an analytics day is a UTC day) and the daily rollup loses whole days. A row is kept
 * from `days` to `days` + 1 days.
 */
export function purgeCutoffs(retention: WarehouseRetention, now: Date): PurgeCutoffs {
  const today = bucketStartMs(now.getTime(), 'DAY');
  return {
    eventsBefore: new Date(today - checkDays('eventsDays', retention.eventsDays) * DAY_MS),
    failedEventsBefore: new Date(today - checkDays('failedEventsDays', retention.failedEventsDays) * DAY_MS),
  };
}

/** The one-row temporary table a purge leaves its counts in (`events`, `failed_events`). */
export const PURGE_COUNTS = 'purge_counts';

/**
 * Removes what has expired at the cutoffs, for one transaction that then recomputes `identities`
 * (recomputeIdentities); leaves PURGE_COUNTS for the engine to read. The cutoffs are literals: the
 * code computed them, and a literal lets the engine skip the blocks of later events by their times.
 */
export function retentionPurge(dialect: SqlDialect, cutoffs: PurgeCutoffs): string[] {
  const time = (at: Date) => `CAST(${dialect.literal(at.toISOString())} AS TIMESTAMPTZ)`;
  const eventsBefore = time(cutoffs.eventsBefore);
  // An event the warehouse could not read a time for is in no day: it goes by when it arrived.
  const expiredEvent = `event_time < ${eventsBefore}
    OR (event_time IS NULL AND coalesce(received_at, loaded_at) < ${eventsBefore})`;
  const expiredFailed = `coalesce(received_at, loaded_at) < ${time(cutoffs.failedEventsBefore)}`;
  return [
    removalOf(dialect, expiredEvent),
    dialect.tempTable(
      PURGE_COUNTS,
      `SELECT (SELECT count(*) FROM ${REMOVED_EVENTS}) AS events,
              (SELECT count(*) FROM failed_events WHERE ${expiredFailed}) AS failed_events`,
    ),
    ...removeEvents(dialect),
    `DELETE FROM failed_events WHERE ${expiredFailed}`,
    `DROP TABLE ${REMOVED_EVENTS}`,
  ];
}

/** The counts a PURGE_COUNTS row holds. */
export function purgeCountsOf(row: Record<string, unknown> | undefined): PurgeCounts {
  return { events: Number(row?.events ?? 0), failedEvents: Number(row?.failed_events ?? 0) };
}

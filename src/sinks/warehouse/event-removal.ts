/**
 * Removing events from the warehouse, with everything the loads derived from them, written once for
 * DuckDB and Redshift: an erasure (person-erasure.ts) and the retention purge (retention.ts) differ
 * only in which rows they pick. The caller recomputes `identities` afterwards, in the same
 * transaction (recomputeIdentities), since the claims it reads may have changed.
 */

import type { SqlDialect } from './dialect';
import { refoldClaims } from './identities';
import { bucketSql } from './queries';

/**
 * The temporary table of the events to remove, as removalOf makes it: their messageIds and the
 * columns the derived tables are keyed by.
 */
export const REMOVED_EVENTS = 'removed_events';

/** REMOVED_EVENTS filled with the `events` rows that `where` picks. */
export function removalOf(dialect: SqlDialect, where: string): string {
  // DuckDB counts people by user number (SqlDialect.userColumn), which the daily rollup is keyed by.
  const userColumn = dialect.userColumn === 'user_key' ? '' : `, ${dialect.userColumn}`;
  return dialect.tempTable(
    REMOVED_EVENTS,
    `SELECT message_id, user_id, user_key, event, event_time${userColumn} FROM events WHERE (${where})`,
  );
}

/**
 * Deletes the events of REMOVED_EVENTS and keeps what was derived from them exact:
 * - the daily rollup (SqlDialect.eventUserDays) loses those events' counts, and a row left with none;
 * - a claim whose event goes (identity_claims keeps the earliest event making each claim) is
 *   deleted, then made again from the events left of its person, if one of them makes it;
 * - a userId no event carries any more leaves `user_ids`, and a user key no event has any more
 *   leaves the user numbers (SqlDialect.userNumbers): every rollup row of its number is gone with
 *   the events, and `identities` is recomputed from the numbers afterwards, so nothing refers to it.
 * Rows of other people are never touched beyond that: a rollup row counts one user key, and every
 * event of it that stays still counts.
 */
export function removeEvents(dialect: SqlDialect): string[] {
  return [
    ...rollupRemoval(dialect),
    dialect.tempTable(
      'stale_claim_persons',
      `SELECT DISTINCT person FROM identity_claims
       WHERE message_id IN (SELECT message_id FROM ${REMOVED_EVENTS})`,
    ),
    `DELETE FROM identity_claims WHERE message_id IN (SELECT message_id FROM ${REMOVED_EVENTS})`,
    `DELETE FROM events WHERE message_id IN (SELECT message_id FROM ${REMOVED_EVENTS})`,
    refoldClaims(dialect, 'stale_claim_persons'),
    'DROP TABLE stale_claim_persons',
    `DELETE FROM user_ids
     WHERE user_id IN (SELECT user_id FROM ${REMOVED_EVENTS})
       AND NOT EXISTS (SELECT 1 FROM events e WHERE e.user_id = user_ids.user_id)`,
    ...userNumberRemoval(dialect),
  ];
}

function rollupRemoval(dialect: SqlDialect): string[] {
  const days = dialect.eventUserDays;
  if (days === undefined) return [];
  const day = bucketSql(dialect.epochMs('event_time'), 'DAY');
  return [
    // Events without a time are in no day, as the loads fold them (foldIntoEventUserDays).
    dialect.tempTable(
      'removed_days',
      `SELECT ${day} AS day_ms, event, ${dialect.userColumn} AS user_num, count(*) AS events
       FROM ${REMOVED_EVENTS} WHERE event_time IS NOT NULL GROUP BY 1, 2, 3`,
    ),
    `UPDATE ${days} SET events = ${days}.events - b.events FROM removed_days b
     WHERE ${days}.day_ms = b.day_ms AND ${days}.event = b.event
       AND ${days}.user_num IS NOT DISTINCT FROM b.user_num`,
    `DELETE FROM ${days} WHERE events <= 0 AND day_ms IN (SELECT day_ms FROM removed_days)`,
    'DROP TABLE removed_days',
  ];
}

function userNumberRemoval(dialect: SqlDialect): string[] {
  const numbers = dialect.userNumbers;
  if (numbers === undefined) return [];
  return [
    `DELETE FROM ${numbers}
     WHERE user_key IN (SELECT user_key FROM ${REMOVED_EVENTS})
       AND NOT EXISTS (SELECT 1 FROM events e WHERE e.user_key = ${numbers}.user_key)`,
  ];
}

/**
 * Erasing a person from the warehouse (docs/privacy.md#deletion), written once for DuckDB and
 * Redshift. Which rows name the person follows the lake's rule (src/sinks/lake/person-records.ts),
 * so the warehouse and the lake erase the same events: an event names the person by its userId or
 * anonymousId, or as the `previous_id` of an alias; a failed event by its payload, read as an
 * event when it is a JSON object, else searched for the ids anywhere in its text or bytes.
 *
 * The ids come from the engine as a table, ERASURE_SUBJECT: one row per id and per form of its
 * bytes (`hex`: UTF-8, and Latin-1 when that differs), never spliced into the SQL. The engines that
 * keep the ids in a table first (Redshift, Athena) share the steps around that too (eraseRecorded).
 */

import { ALIAS_EVENT, PREVIOUS_ID_PROPERTY, type IdentityRules } from '../../events/identity';
import { PersonIds } from '../lake/person-records';
import type { SqlDialect } from './dialect';
import { WarehouseError } from './errors';
import { REMOVED_EVENTS, removalOf, removeEvents } from './event-removal';
import { recomputeIdentities } from './identities';
import type { ErasureCounts } from './port';

/** The temporary table of the ids being erased: `id` and `hex`, the bytes of one of its forms. */
export const ERASURE_SUBJECT = 'erasure_subject';

/** One row of ERASURE_SUBJECT. */
export interface SubjectRow {
  id: string;
  hex: string;
}

/**
 * The subject rows of some ids: each id as UTF-8 bytes, and as Latin-1 bytes when it has such a form
 * and it differs (a payload that was not UTF-8 is kept as the Latin-1 bytes it was read as, so an
 * id a client wrote in Latin-1 is there in that form). Blank ids name nobody and are left out, as
 * the lake's erasure leaves them out.
 */
export function subjectRows(ids: readonly string[]): SubjectRow[] {
  const rows: SubjectRow[] = [];
  for (const id of new PersonIds(ids).list()) {
    const utf8 = Buffer.from(id, 'utf8').toString('hex');
    rows.push({ id, hex: utf8 });
    const latin1 = Buffer.from(id, 'latin1');
    if (latin1.toString('latin1') === id && latin1.toString('hex') !== utf8) {
      rows.push({ id, hex: latin1.toString('hex') });
    }
  }
  return rows;
}

/** The columns of ERASURE_COUNTS, in order, each with its ErasureCounts field. */
export const ERASURE_COUNT_COLUMNS: ReadonlyArray<readonly [string, keyof ErasureCounts]> = [
  ['events', 'events'],
  ['failed_events', 'failedEvents'],
  ['identity_claims', 'identityClaims'],
  ['user_ids', 'userIds'],
  ['identities', 'identities'],
  ['user_numbers', 'userNumbers'],
];

/** The one-row temporary table the erasure leaves its counts in, for the engine to read and drop. */
export const ERASURE_COUNTS = 'erasure_counts';

const ids = `(SELECT id FROM ${ERASURE_SUBJECT})`;

/** Whether an `events` row names one of the ids (a WHERE condition on the table itself). */
export function eventNamesSubject(dialect: SqlDialect): string {
  const previousId = dialect.jsonStringField('properties', PREVIOUS_ID_PROPERTY);
  return `(user_id IN ${ids} OR anonymous_id IN ${ids}
    OR (event = ${dialect.literal(ALIAS_EVENT)} AND ${previousId} IN ${ids}))`;
}

/**
 * Whether the events row `e` names the id of the subject row `s`: the same rule as
 * eventNamesSubject, as a join condition, for when what matched matters (the merge's tombstones).
 */
export function eventNamesId(dialect: SqlDialect, e: string, s: string): string {
  const previousId = dialect.jsonStringField(`${e}.properties`, PREVIOUS_ID_PROPERTY);
  return `(${s}.id = ${e}.user_id OR ${s}.id = ${e}.anonymous_id
    OR (${e}.event = ${dialect.literal(ALIAS_EVENT)} AND ${s}.id = ${previousId}))`;
}

/**
 * The rows of `rows` (failed events: at least `payload` and `payload_encoding`) with what a match
 * reads from each, worked out once per row rather than once per id: the bytes of a base64 payload
 * as hex, and whether the payload is a JSON object, and its ids then.
 */
export function failedPayloadFacts(dialect: SqlDialect, rows: string): string {
  const json = `coalesce(f.payload_encoding, '') <> 'base64' AND ${dialect.isJsonObject('f.payload')}`;
  const field = (...path: string[]) =>
    `CASE WHEN ${json} THEN ${dialect.jsonObjectField('f.payload', path)} END`;
  return `
    SELECT f.*,
      CASE WHEN f.payload_encoding = 'base64' THEN ${dialect.base64Hex('f.payload')} END AS payload_hex,
      CASE WHEN ${json} THEN 1 ELSE 0 END AS payload_is_event,
      ${field('userId')} AS payload_user_id,
      ${field('anonymousId')} AS payload_anonymous_id,
      ${field('properties', PREVIOUS_ID_PROPERTY)} AS payload_previous_id
    FROM ${rows} f`;
}

/**
 * Whether the failed-event row `f` (of failedPayloadFacts) names the subject row `s`: a base64
 * payload when the id's bytes occur in it, a JSON object by its ids (`previous_id` whatever the
 * event's name, which may be why it failed), any other text when the id occurs in it. Matching bytes
 * as hex may find an id across two bytes' digits: a false match removes a failed event that only
 * looks like it names the person, never keeps one that does, as the lake's text rule.
 */
export function failedNamesId(f: string, s: string): string {
  return `CASE
      WHEN ${f}.payload_encoding = 'base64' THEN POSITION(${s}.hex IN ${f}.payload_hex) > 0
      WHEN ${f}.payload_is_event = 1 THEN
        ${s}.id IN (${f}.payload_user_id, ${f}.payload_anonymous_id, ${f}.payload_previous_id)
      ELSE POSITION(${s}.id IN ${f}.payload) > 0
    END`;
}

/**
 * Erases the ids of ERASURE_SUBJECT, for one transaction: every event and failed event naming one,
 * with what derives from them (event-removal.ts), every identity row naming one, then `identities`
 * recomputed without them. Leaves ERASURE_COUNTS for the engine to read; running it again removes
 * nothing more.
 */
export function personErasure(dialect: SqlDialect, rules: IdentityRules): string[] {
  const numbers = dialect.userNumbers;
  const counts = [
    `(SELECT count(*) FROM ${REMOVED_EVENTS})`,
    '(SELECT count(*) FROM erased_failed)',
    `(SELECT count(*) FROM identity_claims WHERE person IN ${ids} OR id IN ${ids})`,
    `(SELECT count(*) FROM user_ids WHERE user_id IN ${ids})`,
    `(SELECT count(*) FROM identities WHERE id IN ${ids} OR person_id IN ${ids})`,
    numbers === undefined ? '0' : `(SELECT count(*) FROM ${numbers} WHERE user_key IN ${ids})`,
  ];
  return [
    removalOf(dialect, eventNamesSubject(dialect)),
    dialect.tempTable(
      'erased_failed',
      `SELECT DISTINCT f.record_key
       FROM (${failedPayloadFacts(dialect, 'failed_events')}) f
       JOIN ${ERASURE_SUBJECT} s ON ${failedNamesId('f', 's')}`,
    ),
    // Counted before anything goes: identities are rebuilt below, and a count after would be 0.
    dialect.tempTable(
      ERASURE_COUNTS,
      `SELECT ${ERASURE_COUNT_COLUMNS.map(([column], i) => `${counts[i] as string} AS ${column}`).join(', ')}`,
    ),
    ...removeEvents(dialect),
    // Every claim and userId naming an id came from an event just removed; these make sure of it.
    `DELETE FROM identity_claims WHERE person IN ${ids} OR id IN ${ids}`,
    `DELETE FROM user_ids WHERE user_id IN ${ids}`,
    'DELETE FROM failed_events WHERE record_key IN (SELECT record_key FROM erased_failed)',
    `DROP TABLE ${REMOVED_EVENTS}`,
    'DROP TABLE erased_failed',
    ...recomputeIdentities(dialect, rules),
  ];
}

/** The counts an ERASURE_COUNTS row holds. */
export function erasureCountsOf(row: Record<string, unknown> | undefined): ErasureCounts {
  const counts = {} as ErasureCounts;
  for (const [column, field] of ERASURE_COUNT_COLUMNS) counts[field] = Number(row?.[column] ?? 0);
  return counts;
}

/** Every row an erasure removed: the sum of its counts. */
export const removedRows = (counts: ErasureCounts): number =>
  Object.values(counts).reduce((sum, n) => sum + n, 0);

/** Erased ids are written this many to a statement, each with two bound parameters. */
const ERASURE_IDS_PER_INSERT = 100;

/** One attempt of an erasure by an engine that keeps the erased ids in a table (`erasure_ids`). */
export interface RecordedErasureSteps {
  /** Writes some subject rows under the attempt's erasure id, as one statement with bound parameters. */
  writeIds: (rows: readonly SubjectRow[]) => Promise<void>;
  /** Erases what the written ids name; resolves with the row of counts (ERASURE_COUNT_COLUMNS). */
  erase: () => Promise<Record<string, unknown> | undefined>;
}

export interface RecordedErasure {
  /** A new erasure id (a UUID), drawn only when there is someone to erase. */
  newId: () => string;
  /** The steps of one attempt under its erasure id. */
  attempt: (erasureId: string) => RecordedErasureSteps;
  /** What the error says after "erasure <id> ": how an attempt fails and what it leaves for the next. */
  failure: string;
}

/**
 * The bookkeeping around an erasure on an engine that runs statements remotely (Redshift, Athena):
 * the ids as subject rows, written ERASURE_IDS_PER_INSERT to a statement (the services cap a
 * statement's parameters), then the engine's own erasure and its counts. Only blank ids name nobody:
 * nothing runs, so the engine need not wake for them. A failure is one WAREHOUSE_ERASURE_FAILED that
 * names the erasure, never the ids, since the message is kept on the deletion request.
 */
export async function eraseRecorded(
  ids: readonly string[],
  erasure: RecordedErasure,
): Promise<ErasureCounts> {
  const subject = subjectRows(ids);
  if (subject.length === 0) return erasureCountsOf(undefined);
  const erasureId = erasure.newId();
  try {
    const steps = erasure.attempt(erasureId);
    for (let i = 0; i < subject.length; i += ERASURE_IDS_PER_INSERT) {
      await steps.writeIds(subject.slice(i, i + ERASURE_IDS_PER_INSERT));
    }
    return erasureCountsOf(await steps.erase());
  } catch (cause) {
    throw new WarehouseError(`erasure ${erasureId} ${erasure.failure}`, 'WAREHOUSE_ERASURE_FAILED', {
      cause,
    });
  }
}

/**
 * Athena's SQL: the Trino dialect the analytics queries are written against, and the engine's own
 * schema, load, erasure, purge and maintenance statements (docs/warehouse.md#athena-engine lists
 * them all). Athena runs one statement per query and has no transactions, so every statement here
 * is safe to run again after a failure part-way: tables are created IF NOT EXISTS, loads merge by
 * key, and removals pick rows by what they are rather than by a list made earlier.
 */

import { ALIAS_EVENT, PREVIOUS_ID_PROPERTY, type IdentityRules } from '../../../events/identity';
import {
  EVENT_COLUMNS,
  FAILED_EVENT_COLUMNS,
  LAKE_ENRICHMENT_COLUMN,
  isLakeColumn,
} from '../../lake/columns';
import type { EventColumn, LakeColumn, RecordColumn } from '../../lake/columns';
import { duckDbLiteral } from '../dialect';
import type { SqlDialect } from '../dialect';
import { IDENTITY_ROWS, claimsOf, identityLinksQuery } from '../identities';
import { ERASURE_COUNT_COLUMNS, failedNamesId, failedPayloadFacts } from '../person-erasure';
import type { PurgeCutoffs } from '../retention-purge';
import type { LoadBound } from './load-bound';

/** A JSON path of plain names, spelled as Trino's JSON functions take it. */
function jsonPath(path: readonly string[]): string {
  if (path.length === 0 || !path.every((key) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(key))) {
    throw new Error(`JSON paths are plain names: ${JSON.stringify(path)}`);
  }
  return `'$.${path.join('.')}'`;
}

/**
 * The text of the string at `path` of JSON text; NULL when the text is not JSON, the field is
 * missing or is anything but a string. json_format spells a JSON string with its quotes, which is
 * how a string is told from a number or an object.
 */
function jsonStringAt(value: string, path: readonly string[]): string {
  const at = jsonPath(path);
  return `CASE WHEN substr(json_format(try(json_extract(${value}, ${at}))), 1, 1) = '"' THEN json_extract_scalar(${value}, ${at}) END`;
}

/**
 * Athena engine version 3 (Trino). Columns holding JSON (properties, context, errors) are JSON
 * text, as in the lake's Parquet files: Trino reads them with its JSON functions when asked, and
 * never has to parse a row nobody reads. Timestamps are UTC `timestamp(6)` (Iceberg's timestamp),
 * and parameters travel as `:name`, which AthenaQueryApi turns into Athena's positional `?`.
 */
export const ATHENA_DIALECT: SqlDialect = {
  name: 'athena',
  param: (name) => `:${name}`,
  // Cast on the parameter's side, so the comparison is on the column itself: Iceberg then prunes
  // partitions and files by it.
  timestampParam: (name) => `CAST(from_iso8601_timestamp(:${name}) AT TIME ZONE 'UTC' AS timestamp(6))`,
  bigintParam: (name) => `CAST(:${name} AS BIGINT)`,
  // An exact integer count of whole milliseconds, floored for times after the epoch as the other
  // engines floor; to_unixtime(...) * 1000 would go through a double.
  epochMs: (expr) => `date_diff('millisecond', TIMESTAMP '1970-01-01 00:00:00', ${expr})`,
  jsonText: (column) => column,
  userColumn: 'user_key',
  identityKey: 'id',
  identityPerson: 'person_id',
  // Trino reads a string literal as DuckDB does: quotes doubled, a backslash an ordinary character.
  literal: (value) => duckDbLiteral(value),
  jsonStringField: (value, key) => jsonStringAt(value, [key]),
  trim: (text, characters) => `trim(BOTH ${characters} FROM ${text})`,
  tempTable: () => {
    throw new Error('Athena has no temporary tables: its statements use subqueries instead');
  },
  isJsonObject: (text) => `coalesce(substr(json_format(try(json_parse(${text}))), 1, 1) = '{', false)`,
  jsonObjectField: (text, path) => `json_extract_scalar(${text}, ${jsonPath(path)})`,
  base64Hex: (text) => `lower(to_hex(try(from_base64(${text}))))`,
};

const literal = ATHENA_DIALECT.literal;

/** A UTC time as a Trino timestamp literal, for times the code computed (never client input). */
export function timestampLiteral(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new Error('an invalid date cannot be a timestamp literal');
  return `TIMESTAMP '${at.toISOString().replace('T', ' ').replace('Z', '')}'`;
}

/** ISO-8601 text as a UTC timestamp; NULL for text that is not one, as the other engines read it. */
const isoTimestamp = (text: string): string =>
  `try(CAST(from_iso8601_timestamp(${text}) AT TIME ZONE 'UTC' AS timestamp(6)))`;

/** `name` must be a UUID: ids of loads and erasures are spliced into their SQL. */
export function checkUuid(name: string, id: string): string {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`${name} ids are UUIDs, got "${id}"`);
  return id;
}

/** A Glue database or table name, which is lowercase letters, digits and underscores, quoted. */
export function glueName(name: string): string {
  if (!/^[a-z0-9_]{1,255}$/.test(name)) throw new Error(`not a Glue name: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** An S3 location (s3://bucket/prefix/) as an SQL literal; refused unless it is one. */
export function s3Location(url: string): string {
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9!_.*()=-]+)*\/$/.test(url)) {
    throw new Error(`not an S3 folder URL (s3://bucket/prefix/): ${JSON.stringify(url)}`);
  }
  return literal(url);
}

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

/**
 * Every Iceberg table's properties. Snapshots older than an hour are expired by VACUUM, so that
 * what a DELETE removed (an erasure, the purge) leaves no snapshot behind past the maintenance
 * after next (docs/warehouse.md#athena-engine); one position-delete file makes a data file due
 * for OPTIMIZE, which is what rewrites a deleted row out of storage.
 */
const ICEBERG_PROPERTIES = `TBLPROPERTIES (
    'table_type'='ICEBERG',
    'format'='parquet',
    'write_compression'='zstd',
    'vacuum_max_snapshot_age_seconds'='3600',
    'optimize_rewrite_delete_file_threshold'='1'
  )`;

export interface AthenaMigration {
  version: number;
  name: string;
  /** The statements, given where the warehouse keeps its tables (s3://bucket/prefix/). */
  statements: (tablesLocation: string) => readonly string[];
}

/**
 * An Iceberg table the warehouse keeps, in a folder of its name below `tablesLocation`:
 * `IF NOT EXISTS`, since no transaction holds a migration together and a rerun must pass.
 */
function icebergTable(
  tablesLocation: string,
  table: (typeof ICEBERG_TABLES)[number],
  columns: readonly string[],
  partitionedBy?: string,
): string {
  const partitioning = partitionedBy === undefined ? '' : `PARTITIONED BY (${partitionedBy})\n      `;
  return `CREATE TABLE IF NOT EXISTS ${table} (
        ${columns.join(',\n        ')}
      )
      ${partitioning}LOCATION ${s3Location(`${tablesLocation}${table}/`)}
      ${ICEBERG_PROPERTIES}`;
}

/**
 * Append-only, like the other engines': a change is a new entry with the next version. Each
 * statement is idempotent, since no transaction holds a migration together.
 */
export const ATHENA_MIGRATIONS: readonly AthenaMigration[] = [
  {
    version: 1,
    name: 'tables',
    statements: (at) => [
      // Partitioned by day: every analytics query restricts event_time to [from, to).
      icebergTable(
        at,
        'events',
        [
          'message_id string',
          'event string',
          'user_id string',
          'anonymous_id string',
          'user_key string',
          'session_id string',
          'event_time timestamp',
          'original_timestamp timestamp',
          'sent_at timestamp',
          'received_at timestamp',
          'source string',
          'processor_version string',
          'schema_version string',
          'item_id string',
          'browser string',
          'browser_version string',
          'os string',
          'os_version string',
          'device_type string',
          'is_bot boolean',
          'utm_source string',
          'utm_medium string',
          'utm_campaign string',
          'utm_term string',
          'utm_content string',
          'referrer_class string',
          'referrer_host string',
          'clock_skew_ms bigint',
          'time_flag string',
          'properties string',
          'context string',
          'original_event string',
          'merges_users boolean',
          'loaded_at timestamp',
        ],
        'day(event_time)',
      ),
      icebergTable(
        at,
        'failed_events',
        [
          'record_key string',
          'message_id string',
          'failure_type string',
          'event string',
          'errors string',
          'payload string',
          'payload_encoding string',
          'schema string',
          'received_at timestamp',
          'processor_version string',
          'loaded_at timestamp',
        ],
        'day(received_at)',
      ),
      icebergTable(at, 'identity_claims', [
        'person string',
        'id string',
        'merges_users boolean',
        'received_at timestamp',
        'message_id string',
      ]),
      icebergTable(at, 'user_ids', ['user_id string']),
      // The ids of erasures, kept as tombstones until a load that started after them has run.
      icebergTable(at, 'erasure_ids', [
        'erasure_id string',
        'id string',
        'hex string',
        'erased_at timestamp',
      ]),
      // Lake files merged, by S3 URL and hourly partition, so that a load merges each once.
      icebergTable(at, 'lake_files', ['path string', 'hour_partition string', 'loaded_at timestamp']),
      icebergTable(at, 'load_log', [
        'load_id string',
        'started_at timestamp',
        'finished_at timestamp',
        'files bigint',
        'inserted_events bigint',
        'inserted_failed bigint',
      ]),
    ],
  },
];

export const createSchemaMigrations = (tablesLocation: string): string =>
  icebergTable(tablesLocation, 'schema_migrations', ['version int', 'name string', 'applied_at timestamp']);

export const SELECT_MIGRATIONS = 'SELECT version FROM schema_migrations';

export function recordMigration(migration: AthenaMigration, at: Date): string {
  if (!Number.isSafeInteger(migration.version) || !/^[a-z0-9_]+$/.test(migration.name)) {
    throw new Error(
      `migration names are snake_case and versions integers: ${migration.version} ${migration.name}`,
    );
  }
  return `INSERT INTO schema_migrations (version, name, applied_at)
    VALUES (${migration.version}, '${migration.name}', ${timestampLiteral(at)})`;
}

/** Every Iceberg table the warehouse keeps: what maintenance compacts and vacuums. */
export const ICEBERG_TABLES = [
  'events',
  'failed_events',
  'identity_claims',
  'user_ids',
  'erasure_ids',
  'lake_files',
  'load_log',
  'schema_migrations',
] as const;

/**
 * The failed-events lake files (gzip NDJSON) as one text column per record: Athena unzips `.gz`
 * text itself, and Hive's default field delimiter (U+0001) never occurs in JSON, which escapes
 * control characters, so each line is one `record`. The load picks fields out of it, as Redshift's
 * COPY of whole records does; no Glue table of the delivery describes these files.
 */
export const defineLakeFailedRecords = (lakeBucket: string): string => `
  CREATE EXTERNAL TABLE IF NOT EXISTS lake_failed_records (record string)
  STORED AS TEXTFILE
  LOCATION ${s3Location(`s3://${lakeBucket}/failed/`)}`;

/**
 * `identities` as a view over the claims: the recompute the other engines run after each load and
 * erasure (identities.ts), run by Athena when a query reads it. Nothing has to be kept in step with
 * the claims, and a change of rules is a new view, which the load step writes at start.
 */
export const identitiesView = (rules: IdentityRules): string => `
  CREATE OR REPLACE VIEW identities AS
  WITH identity_links AS (${identityLinksQuery(ATHENA_DIALECT, rules)})
  ${IDENTITY_ROWS}`;

// ---------------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------------

/** Where the load reads: the Glue table of the Parquet files Firehose writes. */
export interface LakeSource {
  database: string;
  table: string;
}

/** The Glue table of the lake's event files, quoted. */
const lakeTable = (source: LakeSource): string => `${glueName(source.database)}.${glueName(source.table)}`;

/** The lake files one merge reads, as S3 URLs (`s3://bucket/key`). */
function pathFilter(alias: string, paths: readonly string[]): string {
  if (paths.length === 0) throw new Error('a merge needs at least one lake file');
  return `${alias}."$path" IN (${paths.map((path) => literal(path)).join(', ')})`;
}

/** A lake column of a Parquet row `l`: enrichment fields from their struct, times parsed. */
function lakeValue(column: LakeColumn): string {
  const raw =
    column.enrichment === true ? `l.${LAKE_ENRICHMENT_COLUMN}.${column.lakeName}` : `l.${column.lakeName}`;
  return column.duckdb === 'TIMESTAMPTZ' ? isoTimestamp(raw) : raw;
}

const LAKE_FIELDS: ReadonlyArray<readonly [string, string]> = EVENT_COLUMNS.filter(isLakeColumn).map(
  (column) => [column.column, lakeValue(column)] as const,
);

/** Every `events` column a load writes, in EVENT_COLUMNS' order, from a deduped lake row `d`. */
function mergedValue(column: EventColumn): string {
  if (isLakeColumn(column)) return `d.${column.column}`;
  if ('coalesce' in column) return `coalesce(d.${column.coalesce[0]}, d.${column.coalesce[1]})`;
  return jsonStringAt(`d.${column.jsonField.of}`, column.jsonField.path);
}

const MERGED_FIELDS: ReadonlyArray<readonly [string, string]> = EVENT_COLUMNS.map(
  (column) => [column.column, mergedValue(column)] as const,
);

const columnList = (fields: ReadonlyArray<readonly [string, string]>): string[] =>
  fields.map(([name]) => name);
const selects = (fields: ReadonlyArray<readonly [string, string]>): string =>
  fields.map(([name, expr]) => `${expr} AS ${name}`).join(',\n        ');

/** The ids of every erasure not yet followed by a load (tombstones), as an IN-list subquery. */
const TOMBSTONE_IDS = '(SELECT id FROM erasure_ids)';

/**
 * Whether an `events` row (columns qualified by `row`, or bare without it) names one of `ids`: by
 * its userId, anonymousId, or as an alias's previous_id, the lake's rule (person-erasure.ts). Never
 * NULL, so that its negation keeps every row it does not pick.
 */
export function eventNamesIds(row: string | undefined, ids: string): string {
  const c = (name: string) => (row === undefined ? name : `${row}.${name}`);
  const previousId = ATHENA_DIALECT.jsonStringField(c('properties'), PREVIOUS_ID_PROPERTY);
  return `(coalesce(${c('user_id')} IN ${ids}, false) OR coalesce(${c('anonymous_id')} IN ${ids}, false)
    OR coalesce(${c('event')} = ${literal(ALIAS_EVENT)} AND ${previousId} IN ${ids}, false))`;
}

/**
 * The rows of some lake files as `events` rows: one per messageId (the earliest receivedAt winning,
 * ties broken by content so the choice is stable), none without a messageId or event name, and none
 * naming an erased id while its tombstone stands (docs/warehouse.md#athena-engine).
 */
export function lakeEventRows(source: LakeSource, paths: readonly string[]): string {
  return `SELECT ${selects(MERGED_FIELDS)}
    FROM (
      SELECT s.*, row_number() OVER (
        PARTITION BY s.message_id ORDER BY s.received_at ASC NULLS LAST, s.tie_break
      ) AS rn
      FROM (
        SELECT ${selects(LAKE_FIELDS)},
          coalesce(l.properties, '') || chr(31) || coalesce(l.context, '') AS tie_break
        FROM ${lakeTable(source)} l
        WHERE ${pathFilter('l', paths)}
      ) s
      WHERE s.message_id IS NOT NULL AND s.event IS NOT NULL
    ) d
    WHERE d.rn = 1 AND NOT ${eventNamesIds('d', TOMBSTONE_IDS)}`;
}

/**
 * A condition on a target's time `column` that holds for the rows `bound` lets a merge match:
 * literal ranges, which Iceberg prunes partitions and files by (load-bound.ts says why they hold).
 */
export function boundedBy(column: string, bound: LoadBound): string {
  const terms = bound.ranges.map(
    (range) => `(${column} >= ${timestampLiteral(range.from)} AND ${column} < ${timestampLiteral(range.to)})`,
  );
  if (bound.nulls) terms.unshift(`${column} IS NULL`);
  if (terms.length === 0) throw new Error('a load bound needs a range or the rows without a time');
  return `(${terms.join('\n      OR ')})`;
}

/**
 * The UTC days (`YYYY-MM-DD`, NULL for no time) of the rows of a load's lake files, per kind: of
 * event_time for event files, of received_at for failed-events files. The merges' bounds are made
 * of them; reading one column of the new files is cheap next to the tables' keys.
 */
export function selectBatchDays(batch: {
  events?: { source: LakeSource; paths: readonly string[] };
  failed?: readonly string[];
}): string {
  const day = (expr: string) => `CAST(CAST(${expr} AS date) AS varchar) AS day`;
  const parts: string[] = [];
  if (batch.events !== undefined) {
    const { source, paths } = batch.events;
    parts.push(`SELECT DISTINCT 'events' AS kind, ${day(fieldOf(LAKE_FIELDS, 'event_time'))}
    FROM ${lakeTable(source)} l
    WHERE ${pathFilter('l', paths)}`);
  }
  if (batch.failed !== undefined) {
    parts.push(`SELECT DISTINCT 'failed' AS kind, ${day(fieldOf(FAILED_FIELDS, 'received_at'))}
    FROM lake_failed_records r
    WHERE ${pathFilter('r', batch.failed)}`);
  }
  if (parts.length === 0) throw new Error('a batch needs event or failed-events files');
  return parts.join('\n    UNION ALL\n    ');
}

function fieldOf(fields: ReadonlyArray<readonly [string, string]>, name: string): string {
  const field = fields.find(([column]) => column === name);
  if (field === undefined) throw new Error(`no field ${name}`);
  return field[1];
}

/**
 * A merge's insert of the source rows `s` its key matched nowhere, stamped with the load's time:
 * the rows `selectLoadOutcome` counts as what the load inserted.
 */
function insertNewRows(columns: readonly string[], loadedAt: Date): string {
  return `WHEN NOT MATCHED THEN INSERT (${columns.join(', ')}, loaded_at)
      VALUES (${columns.map((c) => `s.${c}`).join(', ')}, ${timestampLiteral(loadedAt)})`;
}

/**
 * Inserts the lake rows whose messageId `events` does not hold yet: exactly once by messageId. Only
 * the days of `bound` are read for the keys held: a repeated record has its first copy's event_time.
 */
export function mergeEvents(
  source: LakeSource,
  paths: readonly string[],
  loadedAt: Date,
  bound: LoadBound,
): string {
  const columns = columnList(MERGED_FIELDS);
  return `MERGE INTO events t
    USING (${lakeEventRows(source, paths)}) s
    ON t.message_id = s.message_id AND ${boundedBy('t.event_time', bound)}
    ${insertNewRows(columns, loadedAt)}`;
}

/** The claims `rows` make, the earliest per (person, id, class): claimsOf's rows, deduped. */
function earliestClaims(rows: string): string {
  return `SELECT person, id, merges_users, received_at, message_id FROM (
      SELECT c.*, row_number() OVER (
        PARTITION BY person, id, merges_users ORDER BY received_at, message_id
      ) AS rn
      FROM (${claimsOf(ATHENA_DIALECT, rows)}) c
    ) r WHERE rn = 1`;
}

/**
 * Folds the claims of some lake files' rows into identity_claims, keeping the earliest claim per
 * (person, id, class). The same rows the events merge reads, so a load folded again after a failure
 * part-way (or folding rows `events` already held) changes nothing: folds only keep the earliest.
 */
export function foldClaims(source: LakeSource, paths: readonly string[]): string {
  return `MERGE INTO identity_claims t
    USING (${earliestClaims(`(${lakeEventRows(source, paths)})`)}) s
    ON t.person = s.person AND t.id = s.id AND t.merges_users = s.merges_users
    WHEN MATCHED AND (s.received_at < t.received_at
        OR (s.received_at = t.received_at AND s.message_id < t.message_id))
      THEN UPDATE SET received_at = s.received_at, message_id = s.message_id
    WHEN NOT MATCHED THEN INSERT (person, id, merges_users, received_at, message_id)
      VALUES (s.person, s.id, s.merges_users, s.received_at, s.message_id)`;
}

/** Adds the userIds of some lake files' rows to user_ids. */
export function foldUserIds(source: LakeSource, paths: readonly string[]): string {
  return `MERGE INTO user_ids t
    USING (SELECT DISTINCT e.user_id FROM (${lakeEventRows(source, paths)}) e WHERE e.user_id IS NOT NULL) s
    ON t.user_id = s.user_id
    WHEN NOT MATCHED THEN INSERT (user_id) VALUES (s.user_id)`;
}

/** A failed-events record field of a text row `r`: JSON text for objects, times parsed. */
function failedValue(column: RecordColumn): string {
  const at = jsonPath([column.jsonKey]);
  if (column.json === true) return `json_format(try(json_extract(r.record, ${at})))`;
  const text = `json_extract_scalar(r.record, ${at})`;
  return column.duckdb === 'TIMESTAMPTZ' ? isoTimestamp(text) : text;
}

const FAILED_FIELDS: ReadonlyArray<readonly [string, string]> = FAILED_EVENT_COLUMNS.map(
  (column) => [column.column, failedValue(column)] as const,
);

/** The records of some failed-events lake files, each with the hash identifying the failure. */
function lakeFailedRecords(paths: readonly string[]): string {
  return `SELECT lower(to_hex(sha256(to_utf8(
        coalesce(m.message_id, '') || chr(31) || m.failure_type || chr(31) || coalesce(m.payload, ''))))) AS record_key,
      m.*
    FROM (
      SELECT ${selects(FAILED_FIELDS)}
      FROM lake_failed_records r
      WHERE ${pathFilter('r', paths)}
    ) m
    WHERE m.failure_type IS NOT NULL`;
}

/**
 * The failed-event rows of `rows` (as `f`) joined to the ids of `subject` (as `alias`) that name
 * them, by person-erasure.ts's rule: what a merge keeps out, an erasure counts and deletes.
 */
function failedNaming(rows: string, subject: string, alias: string): string {
  return `(${failedPayloadFacts(ATHENA_DIALECT, rows)}) f JOIN ${subject} ${alias} ON ${failedNamesId('f', alias)}`;
}

/**
 * Inserts the failed events of some lake files that failed_events does not hold yet, one per
 * record_key (the earliest received), none naming an erased id while its tombstone stands. Only the
 * days of `bound` are read for the keys held: a repeated record has its first copy's received_at.
 */
export function mergeFailed(paths: readonly string[], loadedAt: Date, bound: LoadBound): string {
  const columns = ['record_key', ...columnList(FAILED_FIELDS)];
  const records = lakeFailedRecords(paths);
  return `MERGE INTO failed_events t
    USING (
      SELECT ${columns.map((c) => `d.${c}`).join(', ')} FROM (
        SELECT p.*, row_number() OVER (PARTITION BY p.record_key ORDER BY p.received_at ASC NULLS LAST) AS rn
        FROM (${records}) p
      ) d
      WHERE d.rn = 1 AND d.record_key NOT IN (
        SELECT f.record_key FROM ${failedNaming(`(${records})`, 'erasure_ids', 'x')})
    ) s
    ON t.record_key = s.record_key AND ${boundedBy('t.received_at', bound)}
    ${insertNewRows(columns, loadedAt)}`;
}

/** An hourly partition of the lake, as Firehose names it. */
export const HOUR_PARTITION = /^year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2}$/;

export interface LakeFile {
  /** `s3://bucket/key` */
  path: string;
  /** `year=YYYY/month=MM/day=DD/hour=HH` */
  hourPartition: string;
}

/** Records lake files as merged; run after their merges, which a rerun repeats harmlessly. */
export function recordLakeFiles(files: readonly LakeFile[], loadedAt: Date): string {
  if (files.length === 0) throw new Error('no lake files to record');
  const rows = files.map((file) => {
    if (!HOUR_PARTITION.test(file.hourPartition))
      throw new Error(`not an hourly partition: ${file.hourPartition}`);
    return `(${literal(file.path)}, '${file.hourPartition}', ${timestampLiteral(loadedAt)})`;
  });
  return `INSERT INTO lake_files (path, hour_partition, loaded_at) VALUES ${rows.join(', ')}`;
}

/** The lake files merged from `fromPartition` on (every one without it). */
export function selectLoadedFiles(fromPartition?: string): string {
  if (fromPartition === undefined) return 'SELECT path FROM lake_files';
  if (!HOUR_PARTITION.test(fromPartition)) throw new Error(`not an hourly partition: ${fromPartition}`);
  return `SELECT path FROM lake_files WHERE hour_partition >= '${fromPartition}'`;
}

/** What one load inserted (rows stamped with its time), and whether any erasure awaits a load. */
export const selectLoadOutcome = (loadedAt: Date): string => `
  SELECT (SELECT count(*) FROM events WHERE loaded_at = ${timestampLiteral(loadedAt)}) AS inserted_events,
         (SELECT count(*) FROM failed_events WHERE loaded_at = ${timestampLiteral(loadedAt)}) AS inserted_failed,
         (SELECT count(*) FROM erasure_ids) AS tombstones`;

export function recordLoad(
  loadId: string,
  startedAt: Date,
  finishedAt: Date,
  counts: { files: number; insertedEvents: number; insertedFailed: number },
): string {
  const n = (value: number) => {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`not a count: ${value}`);
    return value;
  };
  return `INSERT INTO load_log (load_id, started_at, finished_at, files, inserted_events, inserted_failed)
    VALUES ('${checkUuid('load', loadId)}', ${timestampLiteral(startedAt)}, ${timestampLiteral(finishedAt)},
      ${n(counts.files)}, ${n(counts.insertedEvents)}, ${n(counts.insertedFailed)})`;
}

/**
 * Tombstones no load can need any more: a load that started after an erasure read the lake after
 * the lake's own erasure rewrote it (the deletion runs the lake's steps first).
 */
export const dropTombstones = (loadStartedAt: Date): string =>
  `DELETE FROM erasure_ids WHERE erased_at < ${timestampLiteral(loadStartedAt)}`;

/** Rows and freshness: the start of the last load that merged, since what it saw is in `events`. */
export const SELECT_STATUS = `
  SELECT (SELECT count(*) FROM events) AS row_count,
         (SELECT ${ATHENA_DIALECT.epochMs('max(started_at)')} FROM load_log) AS as_of_ms`;

// ---------------------------------------------------------------------------------------------
// Removal: erasure and retention
// ---------------------------------------------------------------------------------------------

/**
 * Removes the `events` rows `picked` chooses (a condition on the table's own columns) and keeps
 * what was derived from them exact, as event-removal.ts does for the other engines, in statements
 * that each stand alone: the claims those events made go, and are made again from the person's
 * events that stay; a userId no remaining event carries leaves user_ids; then the events go. Every
 * statement picks rows by the condition, so a run stopped part-way is finished by the next one.
 */
export function eventRemoval(picked: string): string[] {
  const removed = `coalesce((${picked}), false)`;
  const kept = `NOT ${removed}`;
  const persons = `(SELECT user_id FROM events WHERE ${removed})`;
  return [
    `DELETE FROM identity_claims WHERE message_id IN (SELECT message_id FROM events WHERE ${removed})`,
    `INSERT INTO identity_claims (person, id, merges_users, received_at, message_id)
     SELECT r.person, r.id, r.merges_users, r.received_at, r.message_id
     FROM (${earliestClaims(`(SELECT * FROM events WHERE user_id IN ${persons} AND ${kept})`)}) r
     WHERE NOT EXISTS (SELECT 1 FROM identity_claims k
       WHERE k.person = r.person AND k.id = r.id AND k.merges_users = r.merges_users)`,
    `DELETE FROM user_ids WHERE user_id IN ${persons}
       AND user_id NOT IN (SELECT user_id FROM events WHERE user_id IS NOT NULL AND ${kept})`,
    `DELETE FROM events WHERE ${removed}`,
  ];
}

/** The ids of one erasure, or of every tombstone standing (what a load sweeps). */
export type ErasureScope = { erasureId: string } | 'tombstones';

function scopeOf(scope: ErasureScope): { ids: string; subject: string } {
  const where =
    scope === 'tombstones' ? '' : ` WHERE erasure_id = '${checkUuid('erasure', scope.erasureId)}'`;
  return {
    ids: `(SELECT id FROM erasure_ids${where})`,
    subject: `(SELECT id, hex FROM erasure_ids${where})`,
  };
}

/** The rows that put an erasure's subject rows into erasure_ids, with named parameters. */
export function insertErasureIds(
  erasureId: string,
  rows: ReadonlyArray<{ id: string; hex: string }>,
  erasedAt: Date,
): { sql: string; params: Record<string, string> } {
  if (rows.length === 0) throw new Error('no ids to erase');
  const params: Record<string, string> = {};
  const values = rows.map((row, i) => {
    params[`id${i}`] = row.id;
    params[`hex${i}`] = row.hex;
    return `('${checkUuid('erasure', erasureId)}', :id${i}, :hex${i}, ${timestampLiteral(erasedAt)})`;
  });
  return {
    sql: `INSERT INTO erasure_ids (erasure_id, id, hex, erased_at) VALUES ${values.join(', ')}`,
    params,
  };
}

/**
 * What an erasure will remove, per table (ERASURE_COUNT_COLUMNS): counted before anything goes, as
 * the other engines count. `identities` is the view, so the links the ids take part in.
 */
export function selectErasureCounts(scope: ErasureScope): string {
  const { ids, subject } = scopeOf(scope);
  const counts: Record<string, string> = {
    events: `(SELECT count(*) FROM events WHERE ${eventNamesIds(undefined, ids)})`,
    failed_events: `(SELECT count(DISTINCT f.record_key)
       FROM ${failedNaming('failed_events', subject, 's')})`,
    identity_claims: `(SELECT count(*) FROM identity_claims WHERE person IN ${ids} OR id IN ${ids})`,
    user_ids: `(SELECT count(*) FROM user_ids WHERE user_id IN ${ids})`,
    identities: `(SELECT count(*) FROM identities WHERE id IN ${ids} OR person_id IN ${ids})`,
    user_numbers: '0',
  };
  return `SELECT ${ERASURE_COUNT_COLUMNS.map(([column]) => `${counts[column] as string} AS ${column}`).join(',\n    ')}`;
}

/**
 * Erases the ids of `scope`: every claim and userId naming one, every event naming one with what
 * derives from it (eventRemoval), and every failed event naming one (person-erasure.ts's rule).
 * `identities` is a view of the claims, so it follows by itself.
 */
export function erasureStatements(scope: ErasureScope): string[] {
  const { ids, subject } = scopeOf(scope);
  return [
    `DELETE FROM identity_claims WHERE person IN ${ids} OR id IN ${ids}`,
    ...eventRemoval(eventNamesIds(undefined, ids)),
    `DELETE FROM user_ids WHERE user_id IN ${ids}`,
    `DELETE FROM failed_events WHERE record_key IN (
       SELECT f.record_key FROM ${failedNaming('failed_events', subject, 's')})`,
  ];
}

/**
 * The retention purge at `cutoffs` (retention-purge.ts's rule): events by event time (by arrival
 * when the time could not be read), failed events by when they were received. `count` tells whether
 * anything expired, so that an idle day costs one small query and no DELETE.
 */
export function retentionStatements(cutoffs: PurgeCutoffs): { count: string; statements: string[] } {
  const eventsBefore = timestampLiteral(cutoffs.eventsBefore);
  const expiredEvent = `event_time < ${eventsBefore}
    OR (event_time IS NULL AND coalesce(received_at, loaded_at) < ${eventsBefore})`;
  const expiredFailed = `coalesce(received_at, loaded_at) < ${timestampLiteral(cutoffs.failedEventsBefore)}`;
  return {
    count: `SELECT (SELECT count(*) FROM events WHERE ${expiredEvent}) AS events,
                   (SELECT count(*) FROM failed_events WHERE ${expiredFailed}) AS failed_events`,
    statements: [...eventRemoval(expiredEvent), `DELETE FROM failed_events WHERE ${expiredFailed}`],
  };
}

/**
 * Compaction, then snapshot expiry, of every table: OPTIMIZE rewrites each data file that holds
 * deleted rows (or is small) without them, and VACUUM expires the snapshots older than the tables'
 * hour and deletes the files only they referenced. Only then is a deleted row gone from storage.
 */
export const MAINTENANCE_STATEMENTS: readonly string[] = ICEBERG_TABLES.flatMap((table) => [
  `OPTIMIZE ${table} REWRITE DATA USING BIN_PACK`,
  `VACUUM ${table}`,
]);

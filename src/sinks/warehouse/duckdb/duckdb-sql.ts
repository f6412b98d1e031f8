/**
 * The DuckDB warehouse's schema and load SQL. Migrations are append-only: a new column or table
 * is a new entry with the next version, never an edit to an applied one.
 */

import {
  EVENT_COLUMNS,
  FAILED_EVENT_COLUMNS,
  LAKE_ENRICHMENT_COLUMN,
  isLakeColumn,
} from '../../lake/columns';
import type { DerivedColumn, DuckDbType, LakeColumn, LakeType, RecordColumn } from '../../lake/columns';
import { EVENT_RECORD_READ_COLUMNS, ndjsonReadColumns } from '../../lake/file-format';
import { DUCKDB_DIALECT } from '../dialect';
import { identityFold } from '../identities';
import { bucketSql } from '../queries';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The start of the UTC day of `event_time`, in epoch milliseconds, cut as the analytics queries cut it. */
const EVENT_DAY_MS = bucketSql(DUCKDB_DIALECT.epochMs('event_time'), 'DAY');

/**
 * The events the running load inserted: every insert writes `loaded_at = current_timestamp`, which
 * DuckDB fixes at the start of the transaction, so zone maps skip every earlier load's rows.
 */
export const LOADED_NOW = `(SELECT * FROM events WHERE loaded_at = current_timestamp)`;

/**
 * `event_user_days` rows for some events: `rows` selects their event_time, event and user_num.
 * Rows without an event time are in no day, as no range ever holds them.
 */
const eventUserDaysOf = (rows: string): string => `
  SELECT ${EVENT_DAY_MS} AS day_ms, event, user_num, count(*) AS events
  FROM (${rows})
  WHERE event_time IS NOT NULL
  GROUP BY ALL`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events',
    sql: `
      CREATE TABLE events (
        message_id VARCHAR PRIMARY KEY,
        event VARCHAR NOT NULL,
        user_id VARCHAR,
        anonymous_id VARCHAR,
        session_id VARCHAR,
        event_time TIMESTAMPTZ,
        sent_at TIMESTAMPTZ,
        received_at TIMESTAMPTZ,
        loaded_at TIMESTAMPTZ NOT NULL,
        source VARCHAR,
        processor_version VARCHAR,
        properties JSON,
        context JSON
      );`,
  },
  {
    version: 2,
    name: 'failed_events',
    sql: `
      CREATE TABLE failed_events (
        record_key VARCHAR PRIMARY KEY,
        message_id VARCHAR,
        failure_type VARCHAR NOT NULL,
        event VARCHAR,
        errors JSON,
        payload VARCHAR,
        payload_encoding VARCHAR,
        schema VARCHAR,
        received_at TIMESTAMPTZ,
        processor_version VARCHAR,
        loaded_at TIMESTAMPTZ NOT NULL
      );`,
  },
  {
    version: 3,
    name: 'loaded_files',
    sql: `
      CREATE TABLE loaded_files (
        path VARCHAR PRIMARY KEY,
        rows BIGINT NOT NULL,
        loaded_at TIMESTAMPTZ NOT NULL
      );`,
  },
  {
    version: 4,
    name: 'events_enrichment',
    // user_key is the person every analytics query counts: userId, else anonymousId.
    sql: `
      ALTER TABLE events ADD COLUMN user_key VARCHAR;
      ALTER TABLE events ADD COLUMN schema_version VARCHAR;
      ALTER TABLE events ADD COLUMN item_id VARCHAR;
      ALTER TABLE events ADD COLUMN original_timestamp TIMESTAMPTZ;
      ALTER TABLE events ADD COLUMN browser VARCHAR;
      ALTER TABLE events ADD COLUMN browser_version VARCHAR;
      ALTER TABLE events ADD COLUMN os VARCHAR;
      ALTER TABLE events ADD COLUMN os_version VARCHAR;
      ALTER TABLE events ADD COLUMN device_type VARCHAR;
      ALTER TABLE events ADD COLUMN is_bot BOOLEAN;
      ALTER TABLE events ADD COLUMN utm_source VARCHAR;
      ALTER TABLE events ADD COLUMN utm_medium VARCHAR;
      ALTER TABLE events ADD COLUMN utm_campaign VARCHAR;
      ALTER TABLE events ADD COLUMN utm_term VARCHAR;
      ALTER TABLE events ADD COLUMN utm_content VARCHAR;
      ALTER TABLE events ADD COLUMN referrer_class VARCHAR;
      ALTER TABLE events ADD COLUMN referrer_host VARCHAR;
      ALTER TABLE events ADD COLUMN clock_skew_ms BIGINT;
      ALTER TABLE events ADD COLUMN time_flag VARCHAR;
      UPDATE events SET user_key = coalesce(user_id, anonymous_id);`,
  },
  {
    version: 5,
    name: 'events_without_primary_key',
    // The primary-key index cost the load about as much as all its other work. The loader is the
    // table's only writer, loads run one at a time, and each load keeps one row per messageId that
    // is not in the table yet, so uniqueness holds without it. DuckDB cannot drop a constraint, so
    // the table is rebuilt, with its columns in the same order.
    sql: `
      CREATE TABLE events_rebuilt (
        message_id VARCHAR NOT NULL,
        event VARCHAR NOT NULL,
        user_id VARCHAR,
        anonymous_id VARCHAR,
        session_id VARCHAR,
        event_time TIMESTAMPTZ,
        sent_at TIMESTAMPTZ,
        received_at TIMESTAMPTZ,
        loaded_at TIMESTAMPTZ NOT NULL,
        source VARCHAR,
        processor_version VARCHAR,
        properties JSON,
        context JSON,
        user_key VARCHAR,
        schema_version VARCHAR,
        item_id VARCHAR,
        original_timestamp TIMESTAMPTZ,
        browser VARCHAR,
        browser_version VARCHAR,
        os VARCHAR,
        os_version VARCHAR,
        device_type VARCHAR,
        is_bot BOOLEAN,
        utm_source VARCHAR,
        utm_medium VARCHAR,
        utm_campaign VARCHAR,
        utm_term VARCHAR,
        utm_content VARCHAR,
        referrer_class VARCHAR,
        referrer_host VARCHAR,
        clock_skew_ms BIGINT,
        time_flag VARCHAR
      );
      INSERT INTO events_rebuilt BY NAME SELECT * FROM events;
      DROP TABLE events;
      ALTER TABLE events_rebuilt RENAME TO events;`,
  },
  {
    version: 6,
    name: 'user_numbers',
    // Analytics count distinct people over millions of rows; DuckDB counts distinct integers several
    // times faster than strings, so each user_key gets a dense integer once, when it is first loaded.
    // The loader is the only writer and loads run one at a time, so the numbers stay unique without
    // an index (which would cost every load a probe per row).
    sql: `
      CREATE TABLE user_numbers (
        user_key VARCHAR NOT NULL,
        user_num INTEGER NOT NULL
      );
      ALTER TABLE events ADD COLUMN user_num INTEGER;
      INSERT INTO user_numbers (user_key, user_num)
      SELECT user_key, CAST(row_number() OVER (ORDER BY user_key) AS INTEGER)
      FROM (SELECT DISTINCT user_key FROM events WHERE user_key IS NOT NULL);
      UPDATE events SET user_num = n.user_num FROM user_numbers n WHERE n.user_key = events.user_key;`,
  },
  {
    version: 7,
    name: 'event_user_days',
    // eventCounts by day and event counts distinct people per (day, event): millions of
    // (day, event, person) combinations that no index spares a scan from deduplicating. The loader
    // keeps them here instead, one row each with its number of events, so whole days are a sum over
    // this table. Loads only add to it; an erasure or the retention purge takes the counts of the
    // events it removes out of it (src/sinks/warehouse/event-removal.ts).
    sql: `
      CREATE TABLE event_user_days (
        day_ms BIGINT NOT NULL,
        event VARCHAR NOT NULL,
        user_num INTEGER,
        events BIGINT NOT NULL
      );
      INSERT INTO event_user_days ${eventUserDaysOf('SELECT event_time, event, user_num FROM events')};`,
  },
  {
    version: 8,
    name: 'events_original_event',
    // The name a Segment track call was sent with, which loads derive from context.segment.event;
    // the rows loaded before get it from the context they were stored with.
    sql: `
      ALTER TABLE events ADD COLUMN original_event VARCHAR;
      UPDATE events SET original_event = json_extract_string(context, '$.segment.event')
      WHERE json_extract_string(context, '$.segment.event') IS NOT NULL;`,
  },
  {
    version: 9,
    name: 'events_merges_users',
    // An alias allowed to merge two userIds (docs/identity.md). Rows loaded before it were stored
    // before the stream set the flag: NULL, which the identity rules read as false.
    sql: `
      ALTER TABLE events ADD COLUMN merges_users BOOLEAN;`,
  },
  {
    version: 10,
    name: 'identities',
    // identity_claims and user_ids hold no rule (src/sinks/warehouse/identities.ts), so they are
    // filled from the events already loaded here; identities depends on the configured rules, and
    // the warehouse recomputes it when it opens. id_num and person_num are the user numbers of the
    // id and its person, which analytics join and count by, as they count user_num.
    sql: `
      CREATE TABLE identity_claims (
        person VARCHAR NOT NULL,
        id VARCHAR NOT NULL,
        merges_users BOOLEAN NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        message_id VARCHAR NOT NULL
      );
      CREATE TABLE user_ids (user_id VARCHAR NOT NULL);
      CREATE TABLE identities (
        id VARCHAR NOT NULL,
        person_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        linked_at TIMESTAMPTZ NOT NULL,
        message_id VARCHAR NOT NULL,
        id_num INTEGER,
        person_num INTEGER
      );
      ${identityFold(DUCKDB_DIALECT, 'events')
        .map((statement) => `${statement.sql};`)
        .join('\n      ')}`,
  },
];

/** The migration that creates the identity tables: `identities` exists from it on. */
export const IDENTITIES_MIGRATION = 10;

/** Folds the running load's events into the identity tables (see identityFold). */
export const IDENTITY_FOLD = identityFold(DUCKDB_DIALECT, LOADED_NOW);

export const CREATE_SCHEMA_MIGRATIONS = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
  );`;

/** `$1` is the list of absolute file paths (bound as VARCHAR[]), never spliced into the SQL. */
const readLake = (columns: string): string =>
  `read_json($1, format = 'newline_delimited', compression = 'gzip', filename = true, columns = ${columns})`;

/** A value read as `from`, as the column's type; what does not convert becomes NULL, never an error. */
const castTo = (value: string, from: DuckDbType, to: DuckDbType): string =>
  from === to ? value : `TRY_CAST(${value} AS ${to})`;

/** The type DuckDB reads a record field as from gzip NDJSON (see ndjsonReadColumns). */
const ndjsonType = (column: RecordColumn): DuckDbType => (column.json ? 'JSON' : 'VARCHAR');

const PARQUET_TYPES: Readonly<Record<LakeType, DuckDbType>> = {
  string: 'VARCHAR',
  boolean: 'BOOLEAN',
  bigint: 'BIGINT',
};

interface ColumnValue {
  column: string;
  value: string;
}

/**
 * Each `events` column a load writes, in EVENT_COLUMNS' order, as an expression over a lake row:
 * `field` is where a lake column is read, and `read` the type it is read as.
 */
function eventValues(
  field: (column: LakeColumn) => string,
  read: (column: LakeColumn) => DuckDbType,
): ColumnValue[] {
  const values = new Map<string, string>();
  const valueOf = (source: string): string => {
    const value = values.get(source);
    if (value === undefined) throw new Error(`a derived column needs ${source} listed before it`);
    return value;
  };
  return EVENT_COLUMNS.map((column) => {
    const value = isLakeColumn(column)
      ? castTo(field(column), read(column), column.duckdb)
      : derivedValue(column, valueOf);
    values.set(column.column, value);
    return { column: column.column, value };
  });
}

/** A derived column's value, given the values of the columns before it. */
function derivedValue(column: DerivedColumn, valueOf: (source: string) => string): string {
  if ('coalesce' in column) return `coalesce(${column.coalesce.map(valueOf).join(', ')})`;
  return jsonFieldText(valueOf(column.jsonField.of), column.jsonField.path);
}

/** The text of a field inside a JSON value, NULL where there is none. */
const jsonFieldText = (json: string, path: readonly string[]): string =>
  `json_extract_string(${json}, '$.${path.join('.')}')`;

/** `value AS column`, or the bare name when they are the same. */
const selectAs = ({ column, value }: ColumnValue): string =>
  value === column ? column : `${value} AS ${column}`;

/** The `events` columns a load writes, in the order the load statements select them. */
const EVENT_TABLE_COLUMN_NAMES = EVENT_COLUMNS.map((c) => c.column);
const EVENT_TABLE_COLUMNS = EVENT_TABLE_COLUMN_NAMES.join(', ');

/** The `events` columns from a gzip NDJSON event record, read with EVENT_RECORD_READ_COLUMNS. */
const NDJSON_EVENT_SELECT = eventValues(
  (c) => (c.enrichment === true ? `${LAKE_ENRICHMENT_COLUMN}.${c.jsonKey}` : c.jsonKey),
  ndjsonType,
)
  .map(selectAs)
  .join(',\n      ');

/** The `events` columns from a row `r` of the Parquet event files. */
const PARQUET_EVENT_VALUES = eventValues(
  (c) => (c.enrichment === true ? `r.${LAKE_ENRICHMENT_COLUMN}.${c.lakeName}` : `r.${c.lakeName}`),
  (c) => PARQUET_TYPES[c.lakeType],
)
  .map(({ value }) => value)
  .join(',\n    ');

const FAILED_TABLE_COLUMNS = FAILED_EVENT_COLUMNS.map((c) => c.column).join(', ');

/** The `failed_events` columns from a failed-event lake record (gzip NDJSON). */
const NDJSON_FAILED_SELECT = FAILED_EVENT_COLUMNS.map((c) =>
  selectAs({ column: c.column, value: castTo(c.jsonKey, ndjsonType(c), c.duckdb) }),
).join(',\n        ');

/**
 * Gzip NDJSON event files, which the lake held before it moved to Parquet; data folders written then
 * still load. Stages the new events of a batch of files: one row per messageId not yet in `events`, the
 * earliest received copy winning (file name breaks ties so the choice is deterministic). Fields a
 * record lacks (older processors wrote no enrichment) load as NULL.
 */
export const STAGE_EVENTS = `
  CREATE OR REPLACE TEMP TABLE staged_events AS
  SELECT s.* EXCLUDE (rank_received, rank_file) FROM (
    SELECT
      ${NDJSON_EVENT_SELECT},
      filename AS lake_file,
      TRY_CAST(receivedAt AS TIMESTAMPTZ) AS rank_received,
      filename AS rank_file
    FROM ${readLake(EVENT_RECORD_READ_COLUMNS)}
    WHERE messageId IS NOT NULL AND event IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY messageId ORDER BY rank_received NULLS LAST, rank_file) = 1
  ) s
  ANTI JOIN events e ON e.message_id = s.message_id;`;

export const INSERT_STAGED_EVENTS = `
  INSERT INTO events (${EVENT_TABLE_COLUMNS}, user_num, loaded_at)
  SELECT ${EVENT_TABLE_COLUMN_NAMES.map((column) => `s.${column}`).join(', ')}, n.user_num, current_timestamp
  FROM staged_events s LEFT JOIN user_numbers n ON n.user_key = s.user_key;`;

/**
 * Numbers the user_keys of a load's staged rows that have none yet, after the highest number given
 * so far. Runs before the load's insert, which looks each row's number up.
 */
export const numberNewUsers = (staged: 'staged_events' | 'load_keys'): string => `
  INSERT INTO user_numbers (user_key, user_num)
  SELECT k.user_key,
         CAST((SELECT coalesce(max(user_num), 0) FROM user_numbers) + row_number() OVER () AS INTEGER)
  FROM (SELECT DISTINCT user_key FROM ${staged} WHERE user_key IS NOT NULL) k
  ANTI JOIN user_numbers n ON n.user_key = k.user_key;`;

/** The same for failed events, keyed by a hash of what makes a failure the same failure. */
export const STAGE_FAILED = `
  CREATE OR REPLACE TEMP TABLE staged_failed AS
  SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY record_key ORDER BY received_at NULLS LAST, lake_file) AS rn
    FROM (
      SELECT
        sha256(concat_ws(chr(31), coalesce(messageId, ''), failureType, coalesce(payload, ''))) AS record_key,
        ${NDJSON_FAILED_SELECT},
        filename AS lake_file
      FROM ${readLake(ndjsonReadColumns(FAILED_EVENT_COLUMNS))}
      WHERE failureType IS NOT NULL
    ) r
  ) s
  WHERE rn = 1 AND NOT EXISTS (SELECT 1 FROM failed_events f WHERE f.record_key = s.record_key);`;

export const INSERT_STAGED_FAILED = `
  INSERT INTO failed_events (record_key, ${FAILED_TABLE_COLUMNS}, loaded_at)
  SELECT record_key, ${FAILED_TABLE_COLUMNS}, current_timestamp
  FROM staged_failed;`;

/**
 * Records every file of the batch, with the rows it contributed. `$1` is the absolute paths,
 * `$2` the same files relative to the lake (what is stored, so the data folder can move).
 */
export const recordLoadedFiles = (stagedTable: 'staged_events' | 'staged_failed'): string => `
  INSERT INTO loaded_files (path, rows, loaded_at)
  SELECT f.rel, coalesce(c.n, 0), current_timestamp
  FROM (SELECT unnest($1::VARCHAR[]) AS abs, unnest($2::VARCHAR[]) AS rel) f
  LEFT JOIN (SELECT lake_file, count(*) AS n FROM ${stagedTable} GROUP BY lake_file) c ON c.lake_file = f.abs;`;

export const SELECT_LOADED_AMONG = `SELECT path FROM loaded_files WHERE path IN (SELECT unnest($1::VARCHAR[]));`;

// ---- Parquet event files (see src/sinks/lake/columns.ts for their columns) ----

/**
 * The batch's Parquet files; `$1` is their absolute paths (VARCHAR[]). By name, so that files written
 * before a column was added still load, with NULL there; the partition folders are not columns.
 */
const READ_PARQUET = `read_parquet($1, filename = true, file_row_number = true, union_by_name = true, hive_partitioning = false)`;

/**
 * A load reads the small key columns first and works out which rows not to insert, so the wide rows
 * are read once, straight into `events`, with no sort or window over them. Rows without messageId
 * or event are not keys, and never loaded.
 */
export const STAGE_PARQUET_KEYS = `
  CREATE OR REPLACE TEMP TABLE load_keys AS
  SELECT message_id, filename AS lake_file, file_row_number AS file_row,
         TRY_CAST(received_at AS TIMESTAMPTZ) AS received_at, coalesce(user_id, anonymous_id) AS user_key,
         event, TRY_CAST(event_time AS TIMESTAMPTZ) AS event_time
  FROM ${READ_PARQUET}
  WHERE message_id IS NOT NULL AND event IS NOT NULL;`;

/**
 * The rows a load skips: those whose messageId `events` holds already, and every copy of a
 * messageId the batch holds more than once but the earliest received (file name, then row, break
 * ties). The window sorts only the duplicated keys, usually none.
 */
export const STAGE_PARQUET_SKIPS = `
  CREATE OR REPLACE TEMP TABLE load_skip AS
  SELECT k.lake_file, k.file_row FROM load_keys k SEMI JOIN events e ON e.message_id = k.message_id
  UNION ALL
  SELECT lake_file, file_row FROM (
    SELECT k.* FROM load_keys k
    SEMI JOIN (SELECT message_id FROM load_keys GROUP BY message_id HAVING count(*) > 1) d
      ON d.message_id = k.message_id
    QUALIFY row_number() OVER (
      PARTITION BY message_id ORDER BY received_at NULLS LAST, lake_file, file_row
    ) > 1
  );`;

export const INSERT_PARQUET_EVENTS = `
  INSERT INTO events (${EVENT_TABLE_COLUMNS}, user_num, loaded_at)
  SELECT
    ${PARQUET_EVENT_VALUES},
    n.user_num,
    current_timestamp
  FROM ${READ_PARQUET} r
  ANTI JOIN load_skip s ON s.lake_file = r.filename AND s.file_row = r.file_row_number
  LEFT JOIN user_numbers n ON n.user_key = coalesce(r.user_id, r.anonymous_id)
  WHERE r.message_id IS NOT NULL AND r.event IS NOT NULL;`;

/** The keys (as `k`) of the rows a Parquet load inserts: every key it does not skip. */
const INSERTED_KEYS = `load_keys k ANTI JOIN load_skip s ON s.lake_file = k.lake_file AND s.file_row = k.file_row`;

/** Records the batch's files with the rows each contributed; `$1` absolute paths, `$2` relative. */
export const RECORD_PARQUET_FILES = `
  INSERT INTO loaded_files (path, rows, loaded_at)
  SELECT f.rel, coalesce(c.n, 0), current_timestamp
  FROM (SELECT unnest($1::VARCHAR[]) AS abs, unnest($2::VARCHAR[]) AS rel) f
  LEFT JOIN (
    SELECT k.lake_file, count(*) AS n FROM ${INSERTED_KEYS} GROUP BY k.lake_file
  ) c ON c.lake_file = f.abs;`;

export const DROP_PARQUET_STAGING = `DROP TABLE load_keys; DROP TABLE load_skip;`;

/** An `event_user_days` row `d` and a load's row `b` for the same day, event and person. */
const SAME_DAY_EVENT_PERSON = `d.day_ms = b.day_ms AND d.event = b.event AND d.user_num IS NOT DISTINCT FROM b.user_num`;

/**
 * Adds a load's rows to `event_user_days` (migration 7), in the load's transaction: the events of a
 * (day, event, person) already there are added to its row, the others get a row. `staged` names
 * the load's staging: its rows are exactly those the load inserted into `events`. Only the days the
 * table already holds can need an update, which leaves a load of new days (the first load of a
 * lake, say) with no join to build over its millions of combinations.
 */
export const foldIntoEventUserDays = (staged: 'staged_events' | 'load_keys'): string => `
  CREATE OR REPLACE TEMP TABLE load_days AS ${eventUserDaysOf(
    staged === 'staged_events'
      ? `SELECT s.event_time, s.event, n.user_num
         FROM staged_events s LEFT JOIN user_numbers n ON n.user_key = s.user_key`
      : `SELECT k.event_time, k.event, n.user_num
         FROM ${INSERTED_KEYS} LEFT JOIN user_numbers n ON n.user_key = k.user_key`,
  )};
  UPDATE event_user_days d SET events = d.events + b.events
  FROM (SELECT * FROM load_days SEMI JOIN (SELECT DISTINCT day_ms FROM event_user_days) k USING (day_ms)) b
  WHERE ${SAME_DAY_EVENT_PERSON};
  INSERT INTO event_user_days
  SELECT b.* FROM load_days b ANTI JOIN event_user_days d ON ${SAME_DAY_EVENT_PERSON};
  DROP TABLE load_days;`;

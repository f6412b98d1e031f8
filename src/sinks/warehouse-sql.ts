/**
 * The DuckDB warehouse's schema and load SQL. Migrations are append-only: a new column or table
 * is a new entry with the next version, never an edit to an applied one.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

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
];

export const CREATE_SCHEMA_MIGRATIONS = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
  );`;

// Explicit columns, read as text, so schema inference can never drift between files; text is
// cast in SQL with TRY_CAST so one odd timestamp cannot make a whole file unloadable.
const EVENT_COLUMNS = `{
  messageId: 'VARCHAR', event: 'VARCHAR', userId: 'VARCHAR', anonymousId: 'VARCHAR',
  sessionId: 'VARCHAR', timestamp: 'VARCHAR', sentAt: 'VARCHAR', receivedAt: 'VARCHAR',
  source: 'VARCHAR', processorVersion: 'VARCHAR', properties: 'JSON', context: 'JSON'
}`;

const FAILED_COLUMNS = `{
  messageId: 'VARCHAR', failureType: 'VARCHAR', event: 'VARCHAR', errors: 'JSON', payload: 'VARCHAR',
  payloadEncoding: 'VARCHAR', schema: 'VARCHAR', receivedAt: 'VARCHAR', processorVersion: 'VARCHAR'
}`;

/** `$1` is the list of absolute file paths (bound as VARCHAR[]), never spliced into the SQL. */
const readLake = (columns: string): string =>
  `read_json($1, format = 'newline_delimited', compression = 'gzip', filename = true, columns = ${columns})`;

/**
 * Stages the new events of a batch of files: one row per messageId not yet in `events`, the
 * earliest received copy winning (file name breaks ties so the choice is deterministic).
 */
export const STAGE_EVENTS = `
  CREATE OR REPLACE TEMP TABLE staged_events AS
  SELECT * EXCLUDE (rn) FROM (
    SELECT
      messageId AS message_id,
      event,
      userId AS user_id,
      anonymousId AS anonymous_id,
      sessionId AS session_id,
      TRY_CAST(timestamp AS TIMESTAMPTZ) AS event_time,
      TRY_CAST(sentAt AS TIMESTAMPTZ) AS sent_at,
      TRY_CAST(receivedAt AS TIMESTAMPTZ) AS received_at,
      source,
      processorVersion AS processor_version,
      properties,
      context,
      filename AS lake_file,
      row_number() OVER (
        PARTITION BY messageId ORDER BY TRY_CAST(receivedAt AS TIMESTAMPTZ) NULLS LAST, filename
      ) AS rn
    FROM ${readLake(EVENT_COLUMNS)}
    WHERE messageId IS NOT NULL AND event IS NOT NULL
  ) s
  WHERE rn = 1 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = s.message_id);`;

export const INSERT_STAGED_EVENTS = `
  INSERT INTO events
    (message_id, event, user_id, anonymous_id, session_id, event_time, sent_at, received_at,
     loaded_at, source, processor_version, properties, context)
  SELECT message_id, event, user_id, anonymous_id, session_id, event_time, sent_at, received_at,
     current_timestamp, source, processor_version, properties, context
  FROM staged_events;`;

/** The same for failed events, keyed by a hash of what makes a failure the same failure. */
export const STAGE_FAILED = `
  CREATE OR REPLACE TEMP TABLE staged_failed AS
  SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY record_key ORDER BY received_at NULLS LAST, lake_file) AS rn
    FROM (
      SELECT
        sha256(concat_ws(chr(31), coalesce(messageId, ''), failureType, coalesce(payload, ''))) AS record_key,
        messageId AS message_id,
        failureType AS failure_type,
        event,
        errors,
        payload,
        payloadEncoding AS payload_encoding,
        schema,
        TRY_CAST(receivedAt AS TIMESTAMPTZ) AS received_at,
        processorVersion AS processor_version,
        filename AS lake_file
      FROM ${readLake(FAILED_COLUMNS)}
      WHERE failureType IS NOT NULL
    ) r
  ) s
  WHERE rn = 1 AND NOT EXISTS (SELECT 1 FROM failed_events f WHERE f.record_key = s.record_key);`;

export const INSERT_STAGED_FAILED = `
  INSERT INTO failed_events
    (record_key, message_id, failure_type, event, errors, payload, payload_encoding, schema,
     received_at, processor_version, loaded_at)
  SELECT record_key, message_id, failure_type, event, errors, payload, payload_encoding, schema,
     received_at, processor_version, current_timestamp
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

/** Allow-list: the only SQL a granularity can become. */
export const BUCKET_UNIT = { HOUR: 'hour', DAY: 'day' } as const;
export type BucketUnit = (typeof BUCKET_UNIT)[keyof typeof BUCKET_UNIT];

/** `$1` from, `$2` to (ISO text); with a filter, `$3` the event names (VARCHAR[]). */
export const eventCountsSql = (unit: BucketUnit, filtered: boolean): string => `
  SELECT
    epoch_ms(date_trunc('${unit}', event_time AT TIME ZONE 'UTC')) AS bucket_ms,
    event,
    count(*) AS n,
    count(DISTINCT coalesce(user_id, anonymous_id)) AS users
  FROM events
  WHERE event_time >= CAST($1 AS TIMESTAMPTZ)
    AND event_time < CAST($2 AS TIMESTAMPTZ)
    ${filtered ? 'AND list_contains($3, event)' : ''}
  GROUP BY ALL
  ORDER BY bucket_ms, event;`;

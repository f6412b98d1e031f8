/**
 * The event columns, listed once: for each, its key in the JSON lake record, its name and type in
 * the lake's Parquet files (and so in the Glue table Firehose converts records with), and its
 * column and type in the DuckDB and Redshift `events` tables. The Parquet writer, the Glue table,
 * the warehouses' load, staging and merge SQL, and the tests are all generated from this list.
 * Migrations are not: an applied migration is never edited, so a new column is a new entry here
 * plus a new migration in each warehouse, and the tests check that the two agree.
 *
 * Lake names are lowercase because Glue (and so Firehose's Parquet output) lowercases them.
 * Firehose's OpenX JSON deserializer matches JSON keys case-insensitively; the top-level columns
 * whose name is not the lowercased JSON key get a mapping (`FIREHOSE_JSON_KEY_MAPPINGS`).
 * Timestamps stay ISO-8601 text in the lake, cast by the warehouses; `properties` and `context`
 * hold the objects as JSON text, which DuckDB reads as JSON and Redshift parses into SUPER.
 */

/** A Parquet (and Glue) scalar type. */
export type LakeType = 'string' | 'boolean' | 'bigint';

/** A column type of the DuckDB warehouse. */
export type DuckDbType = 'VARCHAR' | 'TIMESTAMPTZ' | 'BOOLEAN' | 'BIGINT' | 'JSON';

/** A column of a warehouse table, with its type in each engine. */
export interface WarehouseColumn {
  /** The column name, the same in both warehouses. */
  column: string;
  duckdb: DuckDbType;
  /** The Redshift type; text is narrowed to its width when loaded. */
  redshift: string;
}

/** A warehouse column read from a field of a JSON lake record. */
export interface RecordColumn extends WarehouseColumn {
  /** The key in the JSON lake record (in its `enrichment` object, for an enrichment field). */
  jsonKey: string;
  /** An object in the record: JSON text in the lake, JSON in DuckDB, SUPER in Redshift. */
  json?: true;
}

/** An `events` column that the lake's Parquet files hold. */
export interface LakeColumn extends RecordColumn {
  /** The Parquet and Glue name: a top-level column, or a field of the `enrichment` struct. */
  lakeName: string;
  lakeType: LakeType;
  /** A field of the `enrichment` struct rather than a top-level column. */
  enrichment?: true;
}

/** An `events` column the loads derive from two others: the first of them that is not NULL. */
export interface CoalescedColumn extends WarehouseColumn {
  coalesce: readonly [string, string];
}

/**
 * An `events` column the loads derive from a string field inside a JSON column (`path` its keys,
 * each a plain lowercase name); NULL where the field is missing.
 */
export interface JsonFieldColumn extends WarehouseColumn {
  jsonField: { of: string; path: readonly string[] };
}

/** An `events` column the warehouses compute at load time: the lake's files do not hold it. */
export type DerivedColumn = CoalescedColumn | JsonFieldColumn;

export type EventColumn = LakeColumn | DerivedColumn;

export const isLakeColumn = (column: EventColumn): column is LakeColumn => 'lakeName' in column;

const text = (column: string, jsonKey: string, redshift: string): LakeColumn => ({
  column,
  jsonKey,
  lakeName: column,
  lakeType: 'string',
  duckdb: 'VARCHAR',
  redshift,
});

const time = (column: string, jsonKey: string): LakeColumn => ({
  column,
  jsonKey,
  lakeName: column,
  lakeType: 'string',
  duckdb: 'TIMESTAMPTZ',
  redshift: 'TIMESTAMPTZ',
});

const object = (column: string): LakeColumn => ({
  column,
  jsonKey: column,
  lakeName: column,
  lakeType: 'string',
  json: true,
  duckdb: 'JSON',
  redshift: 'SUPER',
});

/** A true/false field of the record: a top-level boolean in the lake, BOOLEAN in both warehouses. */
const flag = (column: string, jsonKey: string): LakeColumn => ({
  column,
  jsonKey,
  lakeName: column,
  lakeType: 'boolean',
  duckdb: 'BOOLEAN',
  redshift: 'BOOLEAN',
});

/** An enrichment field: in the struct under its lowercased key, a column under its snake_case name. */
const enriched = (column: string, jsonKey: string, type: LakeType, redshift: string): LakeColumn => ({
  column,
  jsonKey,
  lakeName: jsonKey.toLowerCase(),
  lakeType: type,
  enrichment: true,
  duckdb: type === 'string' ? 'VARCHAR' : type === 'boolean' ? 'BOOLEAN' : 'BIGINT',
  redshift,
});

/**
 * The columns a load writes into `events`, in the order the load statements list them. Filtered
 * to the top-level lake columns, the order is the Parquet file's, which must never change: files
 * already written keep their layout, and Redshift's Parquet COPY maps columns by position. So a new
 * top-level lake column goes after `context`; the `enrichment` struct is always the file's last
 * column, and a new enrichment field goes after `time_flag`. Derived columns are in no file: each
 * is listed after the columns it is derived from.
 */
export const EVENT_COLUMNS: readonly EventColumn[] = [
  text('message_id', 'messageId', 'VARCHAR(128)'),
  text('event', 'event', 'VARCHAR(256)'),
  text('user_id', 'userId', 'VARCHAR(256)'),
  text('anonymous_id', 'anonymousId', 'VARCHAR(256)'),
  // The person every analytics query counts: userId, else anonymousId.
  { column: 'user_key', coalesce: ['user_id', 'anonymous_id'], duckdb: 'VARCHAR', redshift: 'VARCHAR(256)' },
  text('session_id', 'sessionId', 'VARCHAR(256)'),
  // `timestamp` is a Hive keyword, so the lake column takes the warehouse's name for it.
  time('event_time', 'timestamp'),
  time('original_timestamp', 'originalTimestamp'),
  time('sent_at', 'sentAt'),
  time('received_at', 'receivedAt'),
  text('source', 'source', 'VARCHAR(64)'),
  text('processor_version', 'processorVersion', 'VARCHAR(64)'),
  text('schema_version', 'schemaVersion', 'VARCHAR(64)'),
  text('item_id', 'itemId', 'VARCHAR(256)'),
  enriched('browser', 'browser', 'string', 'VARCHAR(128)'),
  enriched('browser_version', 'browserVersion', 'string', 'VARCHAR(64)'),
  enriched('os', 'os', 'string', 'VARCHAR(128)'),
  enriched('os_version', 'osVersion', 'string', 'VARCHAR(64)'),
  enriched('device_type', 'deviceType', 'string', 'VARCHAR(32)'),
  enriched('is_bot', 'isBot', 'boolean', 'BOOLEAN'),
  enriched('utm_source', 'utmSource', 'string', 'VARCHAR(512)'),
  enriched('utm_medium', 'utmMedium', 'string', 'VARCHAR(512)'),
  enriched('utm_campaign', 'utmCampaign', 'string', 'VARCHAR(512)'),
  enriched('utm_term', 'utmTerm', 'string', 'VARCHAR(512)'),
  enriched('utm_content', 'utmContent', 'string', 'VARCHAR(512)'),
  enriched('referrer_class', 'referrerClass', 'string', 'VARCHAR(16)'),
  enriched('referrer_host', 'referrerHost', 'string', 'VARCHAR(512)'),
  enriched('clock_skew_ms', 'clockSkewMs', 'bigint', 'BIGINT'),
  enriched('time_flag', 'timeFlag', 'string', 'VARCHAR(16)'),
  object('properties'),
  object('context'),
  // The name a Segment track call was sent with ("Order Completed"), kept in the context because
  // the event name is normalised (order_completed); NULL for every other event.
  {
    column: 'original_event',
    jsonField: { of: 'context', path: ['segment', 'event'] },
    duckdb: 'VARCHAR',
    redshift: 'VARCHAR(256)',
  },
  // An `alias` allowed to merge two userIds (docs/identity.md); NULL in rows from before the flag.
  flag('merges_users', 'mergesUsers'),
];

/** The top-level scalar columns of the lake's Parquet files, in file order; `enrichment` follows them. */
export const LAKE_EVENT_COLUMNS: readonly LakeColumn[] = EVENT_COLUMNS.filter(isLakeColumn).filter(
  (c) => c.enrichment !== true,
);

/** The `enrichment` struct's fields, in file order. */
export const LAKE_ENRICHMENT_FIELDS: readonly LakeColumn[] = EVENT_COLUMNS.filter(isLakeColumn).filter(
  (c) => c.enrichment === true,
);

export const LAKE_ENRICHMENT_COLUMN = 'enrichment';

/**
 * The `failed_events` columns a load writes from the failed-events lake records (gzip NDJSON), in
 * the order the load statements list them. `record_key`, a hash identifying the failure, and
 * `loaded_at` are added by each load.
 */
export const FAILED_EVENT_COLUMNS: readonly RecordColumn[] = [
  { column: 'message_id', jsonKey: 'messageId', duckdb: 'VARCHAR', redshift: 'VARCHAR(128)' },
  { column: 'failure_type', jsonKey: 'failureType', duckdb: 'VARCHAR', redshift: 'VARCHAR(32)' },
  { column: 'event', jsonKey: 'event', duckdb: 'VARCHAR', redshift: 'VARCHAR(256)' },
  { column: 'errors', jsonKey: 'errors', json: true, duckdb: 'JSON', redshift: 'SUPER' },
  { column: 'payload', jsonKey: 'payload', duckdb: 'VARCHAR', redshift: 'VARCHAR(65535)' },
  { column: 'payload_encoding', jsonKey: 'payloadEncoding', duckdb: 'VARCHAR', redshift: 'VARCHAR(8)' },
  { column: 'schema', jsonKey: 'schema', duckdb: 'VARCHAR', redshift: 'VARCHAR(256)' },
  { column: 'received_at', jsonKey: 'receivedAt', duckdb: 'TIMESTAMPTZ', redshift: 'TIMESTAMPTZ' },
  { column: 'processor_version', jsonKey: 'processorVersion', duckdb: 'VARCHAR', redshift: 'VARCHAR(64)' },
];

/** The Hive type of the enrichment struct, as Glue declares it. */
export const LAKE_ENRICHMENT_GLUE_TYPE = `struct<${LAKE_ENRICHMENT_FIELDS.map((f) => `${f.lakeName}:${f.lakeType}`).join(',')}>`;

/** The Glue table's columns, in file order (Redshift's Parquet COPY maps columns by position). */
export function lakeEventGlueColumns(): Array<{ name: string; type: string }> {
  return [
    ...LAKE_EVENT_COLUMNS.map((c) => ({ name: c.lakeName, type: c.lakeType })),
    { name: LAKE_ENRICHMENT_COLUMN, type: LAKE_ENRICHMENT_GLUE_TYPE },
  ];
}

/**
 * Column → JSON key for Firehose's OpenX deserializer, for the columns whose name is not the
 * lowercased key. The keys are given lowercased: the deserializer lowercases the record's keys
 * before it looks them up.
 */
export const FIREHOSE_JSON_KEY_MAPPINGS: Readonly<Record<string, string>> = Object.fromEntries(
  LAKE_EVENT_COLUMNS.filter((c) => c.lakeName !== c.jsonKey.toLowerCase()).map((c) => [
    c.lakeName,
    c.jsonKey.toLowerCase(),
  ]),
);

/**
 * The columns of the events lake's Parquet files: one list read by the local lake writer, the Glue
 * table Firehose converts records with, and the Redshift staging table the files are COPYed into,
 * so the two engines load the same file layout.
 *
 * Names are lowercase because Glue (and so Firehose's Parquet output) lowercases them. Firehose's
 * OpenX JSON deserializer matches JSON keys case-insensitively; the top-level columns whose name is
 * not the lowercased JSON key get a mapping (`FIREHOSE_JSON_KEY_MAPPINGS`). Timestamps stay ISO-8601
 * text, cast by the warehouses exactly as they were from JSON; `properties` and `context` hold the
 * objects as JSON text, which DuckDB reads as JSON and Redshift parses into SUPER.
 */

export type LakeScalarType = 'string' | 'boolean' | 'bigint';

export interface LakeScalarColumn {
  /** The Parquet, Glue and staging column name. */
  name: string;
  /** The key in the JSON lake record. */
  jsonKey: string;
  type: LakeScalarType;
  /** An object in the record, written as its JSON text. */
  json?: true;
}

/** The `enrichment` struct's fields, in file order. */
export const LAKE_ENRICHMENT_FIELDS: readonly LakeScalarColumn[] = [
  { name: 'browser', jsonKey: 'browser', type: 'string' },
  { name: 'browserversion', jsonKey: 'browserVersion', type: 'string' },
  { name: 'os', jsonKey: 'os', type: 'string' },
  { name: 'osversion', jsonKey: 'osVersion', type: 'string' },
  { name: 'devicetype', jsonKey: 'deviceType', type: 'string' },
  { name: 'isbot', jsonKey: 'isBot', type: 'boolean' },
  { name: 'utmsource', jsonKey: 'utmSource', type: 'string' },
  { name: 'utmmedium', jsonKey: 'utmMedium', type: 'string' },
  { name: 'utmcampaign', jsonKey: 'utmCampaign', type: 'string' },
  { name: 'utmterm', jsonKey: 'utmTerm', type: 'string' },
  { name: 'utmcontent', jsonKey: 'utmContent', type: 'string' },
  { name: 'referrerclass', jsonKey: 'referrerClass', type: 'string' },
  { name: 'referrerhost', jsonKey: 'referrerHost', type: 'string' },
  { name: 'clockskewms', jsonKey: 'clockSkewMs', type: 'bigint' },
  { name: 'timeflag', jsonKey: 'timeFlag', type: 'string' },
];

/** The top-level scalar columns, in file order; `enrichment` follows them as the last column. */
export const LAKE_EVENT_COLUMNS: readonly LakeScalarColumn[] = [
  { name: 'message_id', jsonKey: 'messageId', type: 'string' },
  { name: 'event', jsonKey: 'event', type: 'string' },
  { name: 'user_id', jsonKey: 'userId', type: 'string' },
  { name: 'anonymous_id', jsonKey: 'anonymousId', type: 'string' },
  { name: 'session_id', jsonKey: 'sessionId', type: 'string' },
  // `timestamp` is a Hive keyword, so the column takes the warehouse's name for it.
  { name: 'event_time', jsonKey: 'timestamp', type: 'string' },
  { name: 'original_timestamp', jsonKey: 'originalTimestamp', type: 'string' },
  { name: 'sent_at', jsonKey: 'sentAt', type: 'string' },
  { name: 'received_at', jsonKey: 'receivedAt', type: 'string' },
  { name: 'source', jsonKey: 'source', type: 'string' },
  { name: 'processor_version', jsonKey: 'processorVersion', type: 'string' },
  { name: 'schema_version', jsonKey: 'schemaVersion', type: 'string' },
  { name: 'item_id', jsonKey: 'itemId', type: 'string' },
  { name: 'properties', jsonKey: 'properties', type: 'string', json: true },
  { name: 'context', jsonKey: 'context', type: 'string', json: true },
];

export const LAKE_ENRICHMENT_COLUMN = 'enrichment';

/** The Hive type of the enrichment struct, as Glue declares it. */
export const LAKE_ENRICHMENT_GLUE_TYPE = `struct<${LAKE_ENRICHMENT_FIELDS.map((f) => `${f.name}:${f.type}`).join(',')}>`;

/** The Glue table's columns, in file order (Redshift's Parquet COPY maps columns by position). */
export function lakeEventGlueColumns(): Array<{ name: string; type: string }> {
  return [
    ...LAKE_EVENT_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
    { name: LAKE_ENRICHMENT_COLUMN, type: LAKE_ENRICHMENT_GLUE_TYPE },
  ];
}

/**
 * Column → JSON key for Firehose's OpenX deserializer, for the columns whose name is not the
 * lowercased key. The keys are given lowercased: the deserializer lowercases the record's keys
 * before it looks them up.
 */
export const FIREHOSE_JSON_KEY_MAPPINGS: Readonly<Record<string, string>> = Object.fromEntries(
  LAKE_EVENT_COLUMNS.filter((c) => c.name !== c.jsonKey.toLowerCase()).map((c) => [
    c.name,
    c.jsonKey.toLowerCase(),
  ]),
);

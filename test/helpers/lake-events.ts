import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { listValue, LIST, VARCHAR } from '@duckdb/node-api';
import type { StoredEvent } from '../../src/events/types';
import {
  LAKE_ENRICHMENT_COLUMN,
  LAKE_ENRICHMENT_FIELDS,
  LAKE_EVENT_COLUMNS,
} from '../../src/sinks/lake/columns';
import type { LakeColumn } from '../../src/sinks/lake/columns';

const scalar = (column: LakeColumn, value: unknown): unknown => {
  if (value === null || value === undefined) return null;
  if (column.json) return JSON.parse(String(value)) as unknown;
  if (column.lakeType === 'bigint') return Number(value);
  return value;
};

/** A Parquet lake row as the JSON record it was written from (camelCase keys, objects parsed). */
function recordOf(row: Record<string, unknown>): StoredEvent {
  const record: Record<string, unknown> = {};
  for (const column of LAKE_EVENT_COLUMNS) record[column.jsonKey] = scalar(column, row[column.lakeName]);
  const enrichment = row[LAKE_ENRICHMENT_COLUMN] as Record<string, unknown> | null;
  if (enrichment !== null && enrichment !== undefined) {
    record.enrichment = Object.fromEntries(
      LAKE_ENRICHMENT_FIELDS.map((field) => [field.jsonKey, scalar(field, enrichment[field.lakeName])]),
    );
  }
  return record as unknown as StoredEvent;
}

/**
 * Every event in a data folder's lake (`<dataDir>/lake/events`), duplicates included (the lake is
 * at-least-once): Parquet files read back into records, gzip NDJSON files parsed.
 */
export async function readLakeEvents(dataDir: string): Promise<StoredEvent[]> {
  const root = path.join(dataDir, 'lake', 'events');
  const files = (await readdir(root, { recursive: true })).filter((f) => !path.basename(f).startsWith('.'));
  const events: StoredEvent[] = [];
  for (const file of files.filter((f) => f.endsWith('.json.gz'))) {
    const text = gunzipSync(await readFile(path.join(root, file))).toString('utf8');
    for (const line of text.split('\n')) if (line.trim() !== '') events.push(JSON.parse(line) as StoredEvent);
  }
  const parquet = files.filter((f) => f.endsWith('.parquet')).map((f) => path.join(root, f));
  if (parquet.length === 0) return events;
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      'SELECT * FROM read_parquet($1, union_by_name = true, hive_partitioning = false)',
      [listValue(parquet)],
      [LIST(VARCHAR)],
    );
    for (const row of reader.getRowObjectsJS()) events.push(recordOf(row));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return events;
}

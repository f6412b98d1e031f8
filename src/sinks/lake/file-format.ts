import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { LAKE_ENRICHMENT_COLUMN, LAKE_ENRICHMENT_FIELDS, LAKE_EVENT_COLUMNS } from './columns';
import type { LakeColumn, RecordColumn } from './columns';

const gzip = promisify(gzipCallback);

/** Records as NDJSON text, one per line. */
const ndjson = (lines: readonly string[]): string => lines.map((line) => line + '\n').join('');

/** How a batch of JSON lake records becomes one lake file. */
export interface LakeFileFormat {
  /** The file name suffix, e.g. `.json.gz`; the warehouse loader picks files by it. */
  readonly extension: string;
  /**
   * Writes the records (one JSON text each) to `path`, which does not exist yet. `scratchPath` may be
   * used for an intermediate file and must be removed before returning.
   */
  write(path: string, lines: readonly string[], scratchPath: string): Promise<void>;
  /** Releases what the format holds (an engine, say). */
  close(): Promise<void>;
}

/** Gzip NDJSON, what Firehose writes with GZIP compression and no format conversion. */
export const NDJSON_GZIP: LakeFileFormat = {
  extension: '.json.gz',
  async write(path, lines) {
    const body = await gzip(Buffer.from(ndjson(lines), 'utf8'));
    await fs.writeFile(path, body, { flag: 'wx' });
  },
  close: () => Promise.resolve(),
};

/** A path as a DuckDB string literal; COPY ... TO takes no bound parameter. */
export const sqlPath = (path: string): string => `'${path.replace(/'/g, "''")}'`;

const readType = (column: RecordColumn): string => (column.json ? 'JSON' : 'VARCHAR');

/**
 * The `columns` argument of DuckDB's read_json for lake records with these fields (and objects of
 * fields, as structs). Every field is read as text (or JSON) and cast in SQL: a record whose field
 * has an odd type gets NULL there instead of failing the whole file, and no schema inference can
 * differ between files.
 */
export function ndjsonReadColumns(
  columns: readonly RecordColumn[],
  structs: Readonly<Record<string, readonly RecordColumn[]>> = {},
): string {
  return `{${[
    ...columns.map((c) => `"${c.jsonKey}": '${readType(c)}'`),
    ...Object.entries(structs).map(
      ([key, fields]) =>
        `"${key}": 'STRUCT(${fields.map((f) => `"${f.jsonKey}" ${readType(f)}`).join(', ')})'`,
    ),
  ].join(', ')}}`;
}

/** How DuckDB reads an event lake record (gzip NDJSON, as the lake held events before Parquet). */
export const EVENT_RECORD_READ_COLUMNS = ndjsonReadColumns(LAKE_EVENT_COLUMNS, {
  [LAKE_ENRICHMENT_COLUMN]: LAKE_ENRICHMENT_FIELDS,
});

const castTo = (column: LakeColumn, value: string): string => {
  if (column.json) return `CAST(${value} AS VARCHAR)`;
  if (column.lakeType === 'boolean') return `TRY_CAST(${value} AS BOOLEAN)`;
  if (column.lakeType === 'bigint') return `TRY_CAST(${value} AS BIGINT)`;
  return value;
};

const PROJECTION = [
  ...LAKE_EVENT_COLUMNS.map((c) => `${castTo(c, `"${c.jsonKey}"`)} AS ${c.lakeName}`),
  `CASE WHEN "${LAKE_ENRICHMENT_COLUMN}" IS NULL THEN NULL ELSE struct_pack(${LAKE_ENRICHMENT_FIELDS.map(
    (f) => `${f.lakeName} := ${castTo(f, `"${LAKE_ENRICHMENT_COLUMN}"."${f.jsonKey}"`)}`,
  ).join(', ')}) END AS ${LAKE_ENRICHMENT_COLUMN}`,
].join(',\n    ');

/** How the lake's event Parquet files are written, as DuckDB COPY options (Snappy, as Firehose writes them). */
export const EVENTS_PARQUET_COPY_OPTIONS = 'FORMAT parquet, COMPRESSION snappy';

/** The conversion Firehose's record format conversion does for the events stream, as DuckDB SQL. */
export function eventsParquetCopy(ndjsonPath: string, parquetPath: string): string {
  return `COPY (
  SELECT
    ${PROJECTION}
  FROM read_json(${sqlPath(ndjsonPath)}, format = 'newline_delimited', columns = ${EVENT_RECORD_READ_COLUMNS})
) TO ${sqlPath(parquetPath)} (${EVENTS_PARQUET_COPY_OPTIONS})`;
}

/**
 * Events as Parquet with the lake's column layout (`columns.ts`), Snappy-compressed as
 * Firehose writes it. The records go through an NDJSON scratch file that an in-memory DuckDB converts,
 * as Firehose converts the JSON records it receives.
 */
export class EventsParquetFormat implements LakeFileFormat {
  /** The suffix of its files, also for whoever only reads them. */
  static readonly extension = '.parquet';
  readonly extension = EventsParquetFormat.extension;
  private instance: Promise<DuckDBInstance> | undefined;

  async write(path: string, lines: readonly string[], scratchPath: string): Promise<void> {
    try {
      await fs.writeFile(scratchPath, ndjson(lines), { flag: 'wx' });
      const instance = (this.instance ??= DuckDBInstance.create(':memory:'));
      // A failed start is not kept: the next flush tries again.
      instance.catch(() => {
        if (this.instance === instance) this.instance = undefined;
      });
      // A connection per file: flushes of different partitions convert at the same time.
      const connection = await (await instance).connect();
      try {
        await connection.run(eventsParquetCopy(scratchPath, path));
      } finally {
        connection.closeSync();
      }
    } finally {
      await fs.rm(scratchPath, { force: true });
    }
  }

  async close(): Promise<void> {
    const instance = await this.instance?.catch(() => undefined);
    this.instance = undefined;
    instance?.closeSync();
  }
}

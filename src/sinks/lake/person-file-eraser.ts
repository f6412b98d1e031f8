/**
 * Finding a person's records in lake files on disk, and writing a file again without them: the part
 * of an erasure the local folder and S3 share (S3 files are downloaded first). Parquet goes through
 * DuckDB, which reads only the columns the match needs and writes the file back with the lake's
 * own options; gzip NDJSON is streamed line by line, and the lines kept are written as they were.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip } from 'node:zlib';
import { DuckDBInstance, LIST, VARCHAR, listValue } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ErasureResult, MessageMarkers } from '../../privacy/port';
import { ALIAS_EVENT, PREVIOUS_ID_PROPERTY } from '../../events/identity';
import { EVENTS_PARQUET_COPY_OPTIONS, EventsParquetFormat, sqlPath } from './file-format';
import { lineNamesPerson, messageIdOfLine } from './person-records';
import type { LakeRecordKind, PersonIds } from './person-records';

/** What a lake eraser did, beside the records it removed. */
export interface LakeErasureResult extends ErasureResult {
  filesScanned: number;
  /** Files written again without the person's records. */
  filesRewritten: number;
  /** Files that held nothing but the person's records, removed. */
  filesDeleted: number;
  /** The size the rewritten and deleted files had before. */
  bytesRewritten: number;
  /** The removed records' messageId markers deleted; absent when the erasure deletes none. */
  markersRemoved?: number;
}

/** What an erasure did, for DeletionStep.detail. */
export function describeErasure(result: LakeErasureResult): string {
  return (
    `scanned ${result.filesScanned} file(s): ${result.filesRewritten} rewritten, ` +
    `${result.filesDeleted} deleted (${result.bytesRewritten} bytes before)` +
    (result.markersRemoved === undefined ? '' : `, ${result.markersRemoved} messageId marker(s) deleted`)
  );
}

/** A file that could not be read or written; an erasure that meets one is not finished. */
export interface LakeFileFailure {
  file: string;
  error: unknown;
}

/** What a file holds after a rewrite, and what was taken out of it. */
export interface FileRewrite {
  kept: number;
  removed: number;
  /** The removed records' messageId markers that were deleted first. */
  markersRemoved: number;
}

/** A file's records kept and removed by a rewrite. */
type RowCounts = Omit<FileRewrite, 'markersRemoved'>;

/**
 * The suffixes an erasure reads under each folder: events are Parquet, or gzip NDJSON from before
 * the lake was Parquet (`.json.gz` locally, `.gz` from Firehose); failed events are gzip NDJSON.
 */
const GZIP_SUFFIX = '.gz';
const PARQUET_SUFFIX = EventsParquetFormat.extension;

/** Parquet files matched in one query; bounds the list DuckDB binds and the files it opens at once. */
const PARQUET_FILES_PER_QUERY = 256;

/**
 * The person's messageIds held in memory at once while their markers are deleted: a file may hold
 * a great many of one person's records, and its markers go a page at a time.
 */
export const MESSAGE_ID_PAGE = 500;

// read_parquet takes these as a glob pattern; the lake's writers never put them in a name.
const GLOB_CHARS = /[*?[\]{}]/;

/** The type of a bound `$1` list of text (paths, ids). */
const TEXT_LIST = [LIST(VARCHAR)];

/**
 * A Parquet event row that names the person, in DuckDB SQL over `person_ids`. The columns are cast
 * to text in case a file holds one with no value at all (typed INTEGER then). `properties` is JSON
 * text, checked before it is read so that one damaged value cannot fail the whole file. NULLs
 * count as no match (coalesce), so that NOT of it keeps every other row.
 */
const PARQUET_ROW_NAMES_PERSON = `coalesce(
    CAST(user_id AS VARCHAR) IN (SELECT id FROM person_ids)
    OR CAST(anonymous_id AS VARCHAR) IN (SELECT id FROM person_ids)
    OR (event = '${ALIAS_EVENT}' AND CASE WHEN json_valid(properties)
      THEN json_extract_string(properties, '$.${PREVIOUS_ID_PROPERTY}') END IN (SELECT id FROM person_ids)),
    false)`;

/** Parquet files as read for an erasure: the partition folders are not columns. */
const readParquet = (from: string, extra = ''): string =>
  `read_parquet(${from}, hive_partitioning = false${extra})`;

/**
 * One person's erasure over the files of one kind of lake record. Open one per erasure and close it
 * when done: it holds a DuckDB instance once it has read a Parquet file.
 */
export class PersonFileEraser {
  private duckdb: Promise<DuckDBInstance> | undefined;

  private constructor(
    private readonly kind: LakeRecordKind,
    private readonly ids: PersonIds,
    private readonly tempDirectory: string | undefined,
    private readonly markers: MessageMarkers | undefined,
  ) {}

  /**
   * An eraser of `ids` from files of `kind`. DuckDB spills to `tempDirectory` when given (Lambda can
   * only write under /tmp). With `markers`, a rewrite first deletes the messageId markers of the
   * records it removes (forgetMessages).
   */
  static open(
    kind: LakeRecordKind,
    ids: PersonIds,
    options: { tempDirectory?: string; markers?: MessageMarkers } = {},
  ): PersonFileEraser {
    return new PersonFileEraser(kind, ids, options.tempDirectory, options.markers);
  }

  /** Whether files of this name are lake records of the eraser's kind (anything else is left alone). */
  reads(name: string): boolean {
    if (name.endsWith(GZIP_SUFFIX)) return true;
    return this.kind === 'events' && name.endsWith(PARQUET_SUFFIX);
  }

  /** How many of the person's records each file holds (files holding none are left out), and the files that could not be read. */
  async find(
    files: readonly string[],
  ): Promise<{ counts: Map<string, number>; unreadable: LakeFileFailure[] }> {
    const counts = new Map<string, number>();
    const unreadable: LakeFileFailure[] = [];
    const parquet: string[] = [];
    for (const file of files) {
      if (this.isParquet(file)) {
        if (GLOB_CHARS.test(file)) unreadable.push({ file, error: new Error('path has glob characters') });
        else parquet.push(file);
        continue;
      }
      try {
        const { removed } = await this.scanNdjson(file);
        if (removed > 0) counts.set(file, removed);
      } catch (error) {
        unreadable.push({ file, error });
      }
    }
    for (let start = 0; start < parquet.length; start += PARQUET_FILES_PER_QUERY) {
      const batch = parquet.slice(start, start + PARQUET_FILES_PER_QUERY);
      try {
        for (const [file, n] of await this.countParquet(batch)) counts.set(file, n);
      } catch (batchError) {
        // One unreadable file fails the query; file by file, the others are still matched.
        for (const file of batch) {
          try {
            for (const [name, n] of await this.countParquet([file])) counts.set(name, n);
          } catch (error) {
            unreadable.push({ file, error: batch.length === 1 ? batchError : error });
          }
        }
      }
    }
    return { counts, unreadable };
  }

  /**
   * Writes `source` without the person's records to `target`, which must not exist yet, after
   * deleting their messageId markers: once the file is replaced, nothing tells which markers were
   * theirs. A crash in between leaves the file as it was, and the rerun deletes what is left.
   */
  async rewrite(source: string, target: string): Promise<FileRewrite> {
    const markersRemoved = await this.forgetMessages(source);
    const rows = this.isParquet(source)
      ? await this.rewriteParquet(source, target)
      : await this.rewriteNdjson(source, target);
    return { ...rows, markersRemoved };
  }

  /**
   * Deletes the messageId markers (edge dedupe, hot-tier claim) of the person's records in `file`,
   * MESSAGE_ID_PAGE messageIds at a time; answers how many markers there were (0 without `markers`).
   * The file is the simplest complete source of the messageIds: every record the stream took lands
   * in the lake, as an event or a failed event, loaded into the warehouse or not, and the warehouse
   * loads nothing else. Read here, as the file is erased, they cost no second pass over the lake (a
   * step of its own would download every S3 object again), and no record landing between such a
   * step and the lake's is missed.
   */
  async forgetMessages(file: string): Promise<number> {
    const markers = this.markers;
    if (markers === undefined) return 0;
    let removed = 0;
    let page: string[] = [];
    const flush = async (): Promise<void> => {
      if (page.length === 0) return;
      const sent = page;
      page = [];
      removed += await markers.erase(sent);
    };
    const add = async (messageId: string | null): Promise<void> => {
      if (messageId === null) return;
      page.push(messageId);
      if (page.length >= MESSAGE_ID_PAGE) await flush();
    };
    if (this.isParquet(file)) {
      await this.withConnection(async (connection) => {
        const result = await connection.stream(
          `SELECT CAST(message_id AS VARCHAR) AS message_id FROM ${readParquet(sqlPath(file))}
           WHERE ${PARQUET_ROW_NAMES_PERSON} AND message_id IS NOT NULL`,
        );
        for await (const rows of result.yieldRowsJs()) {
          for (const [messageId] of rows) await add(typeof messageId === 'string' ? messageId : null);
        }
      });
    } else {
      for await (const line of linesOf(file)) {
        if (lineNamesPerson(this.kind, line, this.ids)) await add(messageIdOfLine(line));
      }
    }
    await flush();
    return removed;
  }

  /** Releases DuckDB. */
  async close(): Promise<void> {
    const instance = await this.duckdb?.catch(() => undefined);
    this.duckdb = undefined;
    instance?.closeSync();
  }

  private isParquet(file: string): boolean {
    return this.kind === 'events' && file.endsWith(PARQUET_SUFFIX);
  }

  /**
   * Runs `work` on a connection of its own (one connection runs one statement at a time, and files
   * may be handled concurrently), on the eraser's DuckDB instance, started at the first Parquet file.
   */
  private async withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const started = (this.duckdb ??= this.start());
    // A failed start is not kept: the next file tries again.
    started.catch(() => {
      if (this.duckdb === started) this.duckdb = undefined;
    });
    const connection = await (await started).connect();
    try {
      return await work(connection);
    } finally {
      connection.closeSync();
    }
  }

  private async start(): Promise<DuckDBInstance> {
    const instance = await DuckDBInstance.create(
      ':memory:',
      this.tempDirectory === undefined ? {} : { temp_directory: this.tempDirectory },
    );
    try {
      const connection = await instance.connect();
      try {
        // A table every connection sees; the ids are bound, never spliced into SQL.
        await connection.run('CREATE TABLE person_ids (id VARCHAR PRIMARY KEY)');
        await connection.run(
          'INSERT INTO person_ids SELECT DISTINCT unnest($1::VARCHAR[])',
          [listValue(this.ids.list())],
          TEXT_LIST,
        );
      } finally {
        connection.closeSync();
      }
    } catch (error) {
      instance.closeSync();
      throw error;
    }
    return instance;
  }

  private countParquet(files: readonly string[]): Promise<Map<string, number>> {
    return this.withConnection(async (connection) => {
      // By name: files written before a column was added lack it.
      const reader = await connection.runAndReadAll(
        `SELECT filename AS file, count(*) AS n
         FROM ${readParquet('$1::VARCHAR[]', ', filename = true, union_by_name = true')}
         WHERE ${PARQUET_ROW_NAMES_PERSON}
         GROUP BY filename`,
        [listValue([...files])],
        TEXT_LIST,
      );
      return new Map(reader.getRowObjectsJS().map((row) => [String(row.file), Number(row.n)]));
    });
  }

  /**
   * `SELECT *` of the one file keeps its own columns, in its order, whatever layout it was written
   * with: Redshift's Parquet COPY maps columns by position.
   */
  private rewriteParquet(source: string, target: string): Promise<RowCounts> {
    return this.withConnection(async (connection) => {
      const total = await connection.runAndReadAll(
        `SELECT count(*) AS n FROM ${readParquet(sqlPath(source))}`,
      );
      const rows = Number(total.getRowObjectsJS()[0]?.n ?? 0);
      const written = await connection.run(
        `COPY (SELECT * FROM ${readParquet(sqlPath(source))} WHERE NOT ${PARQUET_ROW_NAMES_PERSON})
         TO ${sqlPath(target)} (${EVENTS_PARQUET_COPY_OPTIONS})`,
      );
      const kept = Number(written.rowsChanged);
      return { kept, removed: rows - kept };
    });
  }

  private async scanNdjson(file: string): Promise<RowCounts> {
    let kept = 0;
    let removed = 0;
    for await (const line of linesOf(file)) {
      if (lineNamesPerson(this.kind, line, this.ids)) removed += 1;
      else kept += 1;
    }
    return { kept, removed };
  }

  private async rewriteNdjson(source: string, target: string): Promise<RowCounts> {
    const { kind, ids } = this;
    const result: RowCounts = { kept: 0, removed: 0 };
    await pipeline(
      async function* keptLines() {
        for await (const line of linesOf(source)) {
          if (lineNamesPerson(kind, line, ids)) {
            result.removed += 1;
          } else {
            result.kept += 1;
            yield `${line}\n`;
          }
        }
      },
      createGzip(),
      createWriteStream(target, { flags: 'wx' }),
    );
    return result;
  }
}

/** The records of a gzip NDJSON file, one line each, as written; blank lines are no records. */
async function* linesOf(file: string): AsyncGenerator<string> {
  const gunzip = createGunzip();
  const reading = pipeline(createReadStream(file), gunzip);
  // A read error destroys gunzip, which ends the loop below with it.
  reading.catch(() => undefined);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    const lines = (rest + decoder.write(chunk)).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') yield line;
  }
  rest += decoder.end();
  if (rest.trim() !== '') yield rest;
  await reading;
}

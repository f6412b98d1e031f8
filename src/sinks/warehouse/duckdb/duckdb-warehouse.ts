import { promises as fs } from 'node:fs';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { DuckDBConnection, DuckDBInstance, LIST, VARCHAR, listValue } from '@duckdb/node-api';
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { EventsParquetFormat, NDJSON_GZIP } from '../../lake/file-format';
import type {
  ErasureCounts,
  LoadReport,
  PurgeCounts,
  Warehouse,
  WarehouseLoader,
  WarehousePersonRows,
  WarehouseRetention,
  WarehouseStatusRow,
} from '../port';
import { WarehouseError } from '../errors';
import { DEFAULT_IDENTITY_RULES, type IdentityRules } from '../../../events/identity';
import { DUCKDB_DIALECT } from '../dialect';
import { numberIdentities, recomputeIdentities } from '../identities';
import {
  ERASURE_COUNTS,
  ERASURE_SUBJECT,
  erasureCountsOf,
  personErasure,
  removedRows,
  subjectRows,
} from '../person-erasure';
import { PURGE_COUNTS, purgeCountsOf, purgeCutoffs, retentionPurge } from '../retention-purge';
import { SqlWarehouse } from '../sql-warehouse';
import { WarehouseQueries } from '../queries';
import type { SqlQuery, SqlRow } from '../queries';
import {
  CREATE_SCHEMA_MIGRATIONS,
  DROP_PARQUET_STAGING,
  IDENTITIES_MIGRATION,
  IDENTITY_FOLD,
  INSERT_PARQUET_EVENTS,
  INSERT_STAGED_EVENTS,
  INSERT_STAGED_FAILED,
  MIGRATIONS,
  RECORD_PARQUET_FILES,
  SELECT_LOADED_AMONG,
  STAGE_EVENTS,
  STAGE_FAILED,
  STAGE_PARQUET_KEYS,
  STAGE_PARQUET_SKIPS,
  foldIntoEventUserDays,
  numberNewUsers,
  recordLoadedFiles,
} from './duckdb-sql';
import type { Migration } from './duckdb-sql';

export interface DuckDbWarehouseOptions {
  /** A database file, or `:memory:`. */
  databasePath: string;
  /** The lake folder the local deliveries write to (it holds `events/` and `failed/`). */
  lakeDir: string;
  /** Files read per load transaction; bounds memory on a large backlog. */
  filesPerLoad?: number;
  /** Applied on open, in version order; defaults to the warehouse's own list. */
  migrations?: readonly Migration[];
  /** The rules `identities` is computed with (Config.identity); the defaults otherwise. */
  identity?: IdentityRules;
}

/** One statement of a load; `paths` binds the batch's absolute paths as `$1`. */
interface LoadStatement {
  sql: string;
  paths?: true;
  /** Its changed-row count is the rows the batch inserted. */
  inserts?: true;
}

/** A kind of lake file: where it lives, its suffix, and the statements that load a batch of it. */
interface LakeKind {
  folder: 'events' | 'failed';
  extension: string;
  load: readonly LoadStatement[];
  /** Records the batch's files: `$1` absolute paths, `$2` relative ones. */
  record: string;
  cleanup: string;
  /** Its rows are events, which the load folds into the identity tables (IDENTITY_FOLD). */
  claims?: true;
}

/**
 * Loaded in this order: gzip NDJSON events (what the lake held before Parquet) before Parquet ones,
 * so that a data folder from before the change loads its older files first.
 */
const LAKE_KINDS: readonly LakeKind[] = [
  {
    folder: 'events',
    extension: NDJSON_GZIP.extension,
    load: [
      { sql: STAGE_EVENTS, paths: true },
      { sql: numberNewUsers('staged_events') },
      { sql: INSERT_STAGED_EVENTS, inserts: true },
      { sql: foldIntoEventUserDays('staged_events') },
    ],
    record: recordLoadedFiles('staged_events'),
    cleanup: 'DROP TABLE staged_events',
    claims: true,
  },
  {
    folder: 'events',
    extension: EventsParquetFormat.extension,
    load: [
      { sql: STAGE_PARQUET_KEYS, paths: true },
      { sql: STAGE_PARQUET_SKIPS },
      { sql: numberNewUsers('load_keys') },
      { sql: INSERT_PARQUET_EVENTS, paths: true, inserts: true },
      { sql: foldIntoEventUserDays('load_keys') },
    ],
    record: RECORD_PARQUET_FILES,
    cleanup: DROP_PARQUET_STAGING,
    claims: true,
  },
  {
    folder: 'failed',
    extension: NDJSON_GZIP.extension,
    load: [
      { sql: STAGE_FAILED, paths: true },
      { sql: INSERT_STAGED_FAILED, inserts: true },
    ],
    record: recordLoadedFiles('staged_failed'),
    cleanup: 'DROP TABLE staged_failed',
  },
];

/** Every suffix some kind of lake file has. */
const LAKE_EXTENSIONS = [...new Set(LAKE_KINDS.map((kind) => kind.extension))];

/** The storage format of database files this warehouse creates (readable by DuckDB 1.5 and later). */
export const STORAGE_VERSION = 'v1.5.0';

// read_json treats these as a glob pattern; the lake delivery never writes such names.
const GLOB_CHARS = /[*?[\]{}]/;

const TEXT_LIST: DuckDBType = LIST(VARCHAR);

interface LakeFile {
  abs: string;
  rel: string;
}

/**
 * The embedded warehouse: DuckDB in-process, loading the local lake exactly once per messageId.
 * DuckDB allows one writing process per file, so keep one instance per process.
 */
export class DuckDbWarehouse extends SqlWarehouse implements Warehouse, WarehouseLoader, WarehousePersonRows {
  /**
   * Loads, erasures and purges run one at a time on their own connection, so their transactions
   * never interleave. An erasure queued behind a load therefore deletes whatever that load brought,
   * even from lake files it read before they were rewritten; a load after it reads the files as
   * they are then.
   */
  private writeChain: Promise<unknown> = Promise.resolve();
  private readonly reads = new Set<Promise<unknown>>();
  protected override readonly queries = new WarehouseQueries(DUCKDB_DIALECT, (query) => this.runQuery(query));
  private closed = false;
  private version = 0;
  private lastLoadStartedAt: Date | null = null;
  /**
   * Lake files known to be in loaded_files (this loader is their only writer), so that a load
   * whose folders hold nothing new asks the database nothing and loads that find new files ask
   * only about those.
   */
  private readonly loadedPaths = new Set<string>();

  /** Rebuilds `identities` with the configured rules (src/sinks/warehouse/identities.ts). */
  private readonly identityRecompute: readonly string[];
  private readonly identityNumbering = numberIdentities(DUCKDB_DIALECT);
  /** Erases the ids of ERASURE_SUBJECT (src/sinks/warehouse/person-erasure.ts). */
  private readonly erasure: readonly string[];

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly lakeDir: string,
    private readonly filesPerLoad: number,
    identity: IdentityRules,
  ) {
    super();
    this.identityRecompute = recomputeIdentities(DUCKDB_DIALECT, identity);
    this.erasure = personErasure(DUCKDB_DIALECT, identity);
  }

  /** Opens (or creates) the database and brings its schema up to date. */
  static async open(options: DuckDbWarehouseOptions): Promise<DuckDbWarehouse> {
    if (options.databasePath !== ':memory:') {
      await fs.mkdir(path.dirname(path.resolve(options.databasePath)), { recursive: true });
    }
    let instance: DuckDBInstance;
    try {
      // Loads and queries never rely on insertion order (every result has an ORDER BY), and
      // keeping it costs bulk inserts a sort. A database file created now uses DuckDB 1.5's storage
      // format, whose string compression makes loads about a fifth cheaper than the default
      // (1.0-compatible) format; a file keeps the format it was created with.
      instance = await DuckDBInstance.create(options.databasePath, {
        preserve_insertion_order: 'false',
        storage_compatibility_version: STORAGE_VERSION,
      });
    } catch (cause) {
      throw new WarehouseError(
        `could not open DuckDB database ${options.databasePath}`,
        'WAREHOUSE_QUERY_FAILED',
        {
          cause,
        },
      );
    }
    const writer = await instance.connect();
    try {
      const migrations = options.migrations ?? MIGRATIONS;
      await applyMigrations(writer, migrations);
      const warehouse = new DuckDbWarehouse(
        instance,
        writer,
        path.resolve(options.lakeDir),
        options.filesPerLoad ?? 500,
        options.identity ?? DEFAULT_IDENTITY_RULES,
      );
      // The rules may have changed since identities was computed (they are configuration).
      if (migrations.some((m) => m.version === IDENTITIES_MIGRATION)) {
        await warehouse.inTransaction(() => warehouse.recompute());
      }
      return warehouse;
    } catch (error) {
      writer.closeSync();
      instance.closeSync();
      throw error;
    }
  }

  /** Loads every lake file not loaded before; rows counts only rows actually inserted. */
  loadNew(): Promise<LoadReport> {
    return this.exclusive(() => this.loadAll());
  }

  /**
   * Deletes every row naming one of the ids (docs/privacy.md#deletion) in one transaction, between
   * loads; idempotent. Run it after the lake's erasure, so that no later load reads the person.
   */
  erasePerson(ids: readonly string[]): Promise<ErasureCounts> {
    const subject = subjectRows(ids);
    return this.exclusive(async () => {
      let counts: ErasureCounts;
      try {
        counts = await this.inTransaction(async () => {
          await this.writer.run(
            `CREATE OR REPLACE TEMP TABLE ${ERASURE_SUBJECT} AS
             SELECT unnest($1::VARCHAR[]) AS id, unnest($2::VARCHAR[]) AS hex`,
            [listValue(subject.map((row) => row.id)), listValue(subject.map((row) => row.hex))],
            [TEXT_LIST, TEXT_LIST],
          );
          for (const sql of this.erasure) await this.writer.run(sql);
          const reader = await this.writer.runAndReadAll(`SELECT * FROM ${ERASURE_COUNTS}`);
          await this.writer.run(`DROP TABLE ${ERASURE_COUNTS}; DROP TABLE ${ERASURE_SUBJECT}`);
          return erasureCountsOf(reader.getRowObjectsJS()[0]);
        });
      } catch (cause) {
        // Never the ids: the message is kept on the deletion request.
        throw new WarehouseError('erasing a person from the warehouse failed', 'WAREHOUSE_ERASURE_FAILED', {
          cause,
        });
      }
      if (removedRows(counts) > 0) this.version += 1;
      return counts;
    });
  }

  /**
   * Deletes what is older than the limits at `now` (docs/privacy.md#retention), in one transaction,
   * between loads. Cheap when nothing has expired: run it every hour or so.
   */
  purge(retention: WarehouseRetention, now: Date = new Date()): Promise<PurgeCounts> {
    const statements = retentionPurge(DUCKDB_DIALECT, purgeCutoffs(retention, now));
    return this.exclusive(async () => {
      let counts: PurgeCounts;
      try {
        counts = await this.inTransaction(async () => {
          for (const sql of statements) await this.writer.run(sql);
          const reader = await this.writer.runAndReadAll(`SELECT * FROM ${PURGE_COUNTS}`);
          await this.writer.run(`DROP TABLE ${PURGE_COUNTS}`);
          const purged = purgeCountsOf(reader.getRowObjectsJS()[0]);
          // Identities follow from the claims, which only the events that went can have changed.
          if (purged.events > 0) await this.recompute();
          return purged;
        });
      } catch (cause) {
        throw new WarehouseError('the warehouse retention purge failed', 'WAREHOUSE_PURGE_FAILED', { cause });
      }
      if (counts.events + counts.failedEvents > 0) this.version += 1;
      return counts;
    });
  }

  /** Row count and freshness. */
  async status(): Promise<WarehouseStatusRow> {
    return { rows: await this.rowCount(), dataAsOf: await this.dataAsOf() };
  }

  /** Changes after every load that inserted rows, and every erasure or purge that deleted some. */
  dataVersion(): number {
    return this.version;
  }

  /** Number of events in the warehouse. */
  async rowCount(): Promise<number> {
    const [row] = await this.read('SELECT count(*) AS n FROM events');
    return Number(row?.n ?? 0);
  }

  /**
   * When the last completed load started: every file in the lake then is loaded. After a restart,
   * until the first load completes, the time the last file was loaded.
   */
  async dataAsOf(): Promise<Date | null> {
    if (this.lastLoadStartedAt !== null) return this.lastLoadStartedAt;
    const [row] = await this.read('SELECT epoch_ms(max(loaded_at)) AS ms FROM loaded_files');
    return row?.ms === null || row?.ms === undefined ? null : new Date(Number(row.ms));
  }

  /** Waits for a running load and open reads, then releases the database file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeChain;
    await Promise.allSettled([...this.reads]);
    this.writer.closeSync();
    this.instance.closeSync();
  }

  // Reads get a connection each: DuckDB connections are cheap, and one connection must not run
  // two statements at once.
  private runQuery(query: SqlQuery): Promise<SqlRow[]> {
    return this.read(query.sql, query.params);
  }

  private async read(
    sql: string,
    values?: DuckDBValue[] | Record<string, DuckDBValue>,
    types?: DuckDBType[],
  ): Promise<Record<string, unknown>[]> {
    if (this.closed) throw new WarehouseError('warehouse is closed', 'WAREHOUSE_CLOSED');
    const run = (async () => {
      const connection = await this.instance.connect();
      try {
        const reader = await connection.runAndReadAll(sql, values, types);
        return reader.getRowObjectsJS() as Record<string, unknown>[];
      } catch (cause) {
        throw new WarehouseError('warehouse query failed', 'WAREHOUSE_QUERY_FAILED', { cause });
      } finally {
        connection.closeSync();
      }
    })();
    this.reads.add(run);
    try {
      return await run;
    } finally {
      this.reads.delete(run);
    }
  }

  private async loadAll(): Promise<LoadReport> {
    const startedAt = new Date();
    const report: LoadReport = { files: 0, rows: 0 };
    const failures: Array<{ file: string; cause: unknown }> = [];
    // Each folder is listed once per load, whatever number of file kinds it holds.
    const newByFolder = new Map<LakeKind['folder'], Promise<LakeFile[]>>();
    for (const kind of LAKE_KINDS) {
      let folderFiles = newByFolder.get(kind.folder);
      if (folderFiles === undefined) {
        folderFiles = this.newFiles(kind.folder);
        newByFolder.set(kind.folder, folderFiles);
      }
      const files = (await folderFiles).filter((file) => file.rel.endsWith(kind.extension));
      for (let start = 0; start < files.length; start += this.filesPerLoad) {
        const batch = files.slice(start, start + this.filesPerLoad);
        try {
          report.rows += await this.loadBatch(kind, batch);
          report.files += batch.length;
        } catch (batchError) {
          // Find the bad file(s) so one unreadable file cannot hold back the rest.
          for (const file of batch) {
            try {
              report.rows += await this.loadBatch(kind, [file]);
              report.files += 1;
            } catch (cause) {
              failures.push({ file: file.rel, cause: batch.length === 1 ? batchError : cause });
            }
          }
        }
      }
    }
    if (failures.length > 0) {
      throw new WarehouseError(
        `could not load ${failures.length} lake file(s): ${failures.map((f) => f.file).join(', ')} ` +
          `(loaded ${report.files} file(s), ${report.rows} row(s) before giving up)`,
        'WAREHOUSE_LOAD_FAILED',
        { cause: failures[0]?.cause },
      );
    }
    this.lastLoadStartedAt = startedAt;
    return report;
  }

  private async loadBatch(kind: LakeKind, files: LakeFile[]): Promise<number> {
    const abs = listValue(files.map((f) => f.abs));
    const rel = listValue(files.map((f) => f.rel));
    const inserted = await this.inTransaction(async () => {
      let rows = 0;
      for (const statement of kind.load) {
        const result = statement.paths
          ? await this.writer.run(statement.sql, [abs], [TEXT_LIST])
          : await this.writer.run(statement.sql);
        if (statement.inserts) rows = Number(result.rowsChanged);
      }
      if (kind.claims && rows > 0) await this.foldIdentities();
      await this.writer.run(kind.record, [abs, rel], [TEXT_LIST, TEXT_LIST]);
      await this.writer.run(kind.cleanup);
      return rows;
    });
    for (const file of files) this.loadedPaths.add(file.rel);
    if (inserted > 0) this.version += 1;
    return inserted;
  }

  /**
   * Runs `work` while no load runs: after the loads, erasures and purges queued before it, before any
   * queued after. For whatever rewrites lake files the loads read (the lake's erasure): a Parquet
   * load reads its files twice, for their keys and then for their rows, which must not change between.
   */
  betweenLoads<T>(work: () => Promise<T>): Promise<T> {
    return this.exclusive(work);
  }

  /** Runs `work` on the writer once every write queued before it is done, before any queued after. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new WarehouseError('warehouse is closed', 'WAREHOUSE_CLOSED'));
    const run = this.writeChain.then(work);
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  /** Runs `work` on the writer as one transaction. */
  private async inTransaction<T>(work: () => Promise<T>): Promise<T> {
    await this.writer.run('BEGIN TRANSACTION');
    try {
      const result = await work();
      await this.writer.run('COMMIT');
      return result;
    } catch (error) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /**
   * Folds the load's events into the identity tables, and recomputes `identities` only when that
   * changed a claim or made a claimed id a userId: the recompute reads every claim, and most loads
   * bring only claims already known (a returning visitor) or none (anonymous traffic).
   */
  private async foldIdentities(): Promise<void> {
    let changes = 0;
    for (const statement of IDENTITY_FOLD) {
      const result = await this.writer.run(statement.sql);
      if (statement.counts) changes += Number(result.rowsChanged);
    }
    if (changes > 0) await this.recompute();
    else if (this.identityNumbering !== undefined) await this.writer.run(this.identityNumbering);
  }

  private async recompute(): Promise<void> {
    for (const sql of this.identityRecompute) await this.writer.run(sql);
  }

  /** Lake data files under one folder that are not in loaded_files yet, oldest name first. */
  private async newFiles(folder: LakeKind['folder']): Promise<LakeFile[]> {
    const root = path.join(this.lakeDir, folder);
    const files = (await listLakeFiles(root, LAKE_EXTENSIONS))
      .map((abs) => ({ abs, rel: path.relative(this.lakeDir, abs).split(path.sep).join('/') }))
      .filter((file) => !GLOB_CHARS.test(file.abs));
    const unknown = files.filter((f) => !this.loadedPaths.has(f.rel));
    if (unknown.length === 0) return [];
    const reader = await this.writer.runAndReadAll(
      SELECT_LOADED_AMONG,
      [listValue(unknown.map((f) => f.rel))],
      [TEXT_LIST],
    );
    for (const row of reader.getRowObjectsJS()) this.loadedPaths.add(String(row.path));
    return unknown
      .filter((f) => !this.loadedPaths.has(f.rel))
      .sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  }
}

/** Every file below dir whose name ends with one of extensions; dot files are a writer's temp files and are skipped. */
async function listLakeFiles(
  dir: string,
  extensions: readonly string[],
  found: string[] = [],
): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return found;
    throw error;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await listLakeFiles(full, extensions, found);
    else if (entry.isFile() && extensions.some((extension) => entry.name.endsWith(extension)))
      found.push(full);
  }
  return found;
}

async function applyMigrations(
  connection: DuckDBConnection,
  migrations: readonly Migration[],
): Promise<void> {
  try {
    await connection.run(CREATE_SCHEMA_MIGRATIONS);
  } catch (cause) {
    throw new WarehouseError('could not create schema_migrations', 'WAREHOUSE_MIGRATION_FAILED', { cause });
  }
  const reader = await connection.runAndReadAll('SELECT version FROM schema_migrations');
  const applied = new Set(reader.getRowObjectsJS().map((row) => Number(row.version)));
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  for (const migration of ordered) {
    if (applied.has(migration.version)) continue;
    try {
      await connection.run('BEGIN TRANSACTION');
      await connection.run(migration.sql);
      await connection.run('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      await connection.run('COMMIT');
    } catch (cause) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw new WarehouseError(
        `migration ${migration.version} (${migration.name}) failed`,
        'WAREHOUSE_MIGRATION_FAILED',
        { cause },
      );
    }
  }
}

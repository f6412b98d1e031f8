import { randomUUID } from 'node:crypto';
import { DEFAULT_IDENTITY_RULES, type IdentityRules } from '../../../events/identity';
import type { LakeLister, LakeObject } from '../../lake/firehose/s3-lake-lister';
import { WarehouseError } from '../errors';
import type {
  ErasureCounts,
  LoadReport,
  PurgeCounts,
  Warehouse,
  WarehouseLoader,
  WarehousePersonRows,
  WarehouseRetention,
} from '../port';
import { eraseRecorded } from '../person-erasure';
import { purgeCountsOf, purgeCutoffs } from '../retention-purge';
import { RemoteSqlWarehouse } from '../sql-warehouse';
import type { AthenaQueryApi } from './athena-query-api';
import {
  ATHENA_DIALECT,
  ATHENA_MIGRATIONS,
  MAINTENANCE_STATEMENTS,
  SELECT_MIGRATIONS,
  SELECT_STATUS,
  createSchemaMigrations,
  defineLakeFailedRecords,
  dropTombstones,
  erasureStatements,
  foldClaims,
  foldUserIds,
  identitiesView,
  insertErasureIds,
  mergeEvents,
  mergeFailed,
  recordLakeFiles,
  recordLoad,
  recordMigration,
  retentionStatements,
  selectBatchDays,
  selectErasureCounts,
  selectLoadOutcome,
  selectLoadedFiles,
} from './athena-sql';
import type { AthenaMigration, LakeFile, LakeSource } from './athena-sql';
import { loadBoundOf, type LoadBound } from './load-bound';

/** What the load step needs besides the query API: where the lake is, and where tables go. */
export interface AthenaLakeOptions {
  /** The Glue table of the Parquet files Firehose writes (the delivery's events table). */
  source: LakeSource;
  /** Lists the lake bucket: how the load finds files it has not merged. */
  lister: LakeLister;
  /** Where the Iceberg tables live (s3://bucket/prefix/), each in a folder of its name. */
  tablesLocation: string;
  /** New files are looked for in the partitions of this many hours before now. */
  lookbackHours?: number;
  /** Files merged per kind per run at most; a backlog drains over several runs. */
  maxFilesPerRun?: number;
}

export interface AthenaWarehouseOptions {
  api: AthenaQueryApi;
  /** Only where loads run (the load step); the API and the deletion function need none. */
  lake?: AthenaLakeOptions;
  /** Applied by migrate(), in version order; defaults to the warehouse's own list. */
  migrations?: readonly AthenaMigration[];
  /** The rules the `identities` view applies (Config.identity); the defaults otherwise. */
  identity?: IdentityRules;
  /** The limits runDaily() purges to (Config.retention); without them, nothing is purged. */
  retention?: WarehouseRetention;
  /** Ids of loads and erasures (UUIDs); random ones otherwise. */
  newId?: () => string;
  now?: () => Date;
}

export interface AthenaLoadOptions {
  /** List the whole lake instead of the lookback's partitions, to pick up files older than it. */
  fullListing?: boolean;
}

/** A load: files merged (LoadReport), and those still pending after it (beyond maxFilesPerRun). */
export type AthenaLoadReport = LoadReport & { pendingFiles: number; skippedKeys: string[] };

/** What the daily run removed and whether it compacted and vacuumed. */
export interface AthenaDailyReport {
  purged: PurgeCounts;
  maintained: boolean;
}

/**
 * Tombstones older than this are dropped by the daily run even when no load merged since: longer
 * than any load runs (the function's timeout), so no load that read the lake before the erasure
 * is still to sweep.
 */
const TOMBSTONE_MAX_AGE_MS = 3_600_000;

/** Where each kind of lake file is, and what marks a data file of it. */
const LAKE_ROOTS = [
  { kind: 'events', prefix: 'events/', suffix: '.parquet' },
  { kind: 'failed', prefix: 'failed/', suffix: '.gz' },
] as const;

type LakeKind = (typeof LAKE_ROOTS)[number]['kind'];

/** A Firehose data file below a root: an hourly partition, then a file name. */
const DATA_FILE = /^(year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2})\/[^/]+$/;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const pad = (value: number): string => String(value).padStart(2, '0');
const dayPrefix = (at: Date): string =>
  `year=${at.getUTCFullYear()}/month=${pad(at.getUTCMonth() + 1)}/day=${pad(at.getUTCDate())}/`;
const hourPartition = (at: Date): string => `${dayPrefix(at)}hour=${pad(at.getUTCHours())}`;

/**
 * The warehouse on Athena over Iceberg tables: no cluster, nothing to pay while nobody queries or
 * sends. Reads run the shared analytics SQL through the Trino dialect; loadNew() merges new lake
 * files into `events` and `failed_events` exactly once by key; erasures and the retention purge are
 * Iceberg row-level DELETEs, made physical by the daily maintenance (docs/warehouse.md#athena-engine).
 */
export class AthenaWarehouse
  extends RemoteSqlWarehouse<AthenaQueryApi>
  implements Warehouse, WarehouseLoader, WarehousePersonRows
{
  constructor(private readonly options: AthenaWarehouseOptions) {
    super(options.api, ATHENA_DIALECT, SELECT_STATUS);
  }

  /**
   * Creates what is missing (the Iceberg tables, by migration; the failed-events source table),
   * and writes the `identities` view with the configured rules; returns the versions applied. Run
   * by the load step at start: DDL scans nothing and costs nothing.
   */
  async migrate(): Promise<number[]> {
    const lake = this.lake('migrate');
    const done: number[] = [];
    try {
      await this.api.execute(createSchemaMigrations(lake.tablesLocation));
      const applied = new Set((await this.api.query(SELECT_MIGRATIONS)).map((row) => Number(row.version)));
      const ordered = [...(this.options.migrations ?? ATHENA_MIGRATIONS)].sort(
        (a, b) => a.version - b.version,
      );
      for (const migration of ordered) {
        if (applied.has(migration.version)) continue;
        for (const statement of migration.statements(lake.tablesLocation)) await this.api.execute(statement);
        await this.api.execute(recordMigration(migration, this.now()));
        done.push(migration.version);
      }
      await this.api.execute(defineLakeFailedRecords(lake.lister.bucket));
      await this.api.execute(identitiesView(this.identity()));
    } catch (cause) {
      throw new WarehouseError(
        'Athena migration failed; its statements are safe to run again',
        'WAREHOUSE_MIGRATION_FAILED',
        {
          cause,
        },
      );
    }
    return done;
  }

  /**
   * Merges the lake files not merged yet: lists the lookback's partitions (the whole lake when
   * asked), and only when some file there is not in `lake_files` merges them into events (and the
   * claims and userIds they make) and failed_events, records them, and logs the load. A run that
   * finds nothing new runs at most one small query; one with no files in the lookback runs none.
   * After a merge, erasures that happened meanwhile are swept again and their tombstones dropped.
   */
  async loadNew(options: AthenaLoadOptions = {}): Promise<AthenaLoadReport> {
    const lake = this.lake('load');
    const startedAt = this.now();
    try {
      const listed = await this.listLake(lake, startedAt, options.fullListing === true);
      if (listed.files.length === 0)
        return { files: 0, rows: 0, pendingFiles: 0, skippedKeys: listed.skipped };
      const loaded = new Set(
        (await this.api.query(selectLoadedFiles(listed.fromPartition))).map((row) => String(row.path)),
      );
      const pending = listed.files.filter((file) => !loaded.has(file.path));
      const max = lake.maxFilesPerRun ?? 200;
      const batch = {
        events: pending.filter((file) => file.kind === 'events').slice(0, max),
        failed: pending.filter((file) => file.kind === 'failed').slice(0, max),
      };
      const files = [...batch.events, ...batch.failed];
      const report = { pendingFiles: pending.length - files.length, skippedKeys: listed.skipped };
      if (files.length === 0) return { files: 0, rows: 0, ...report };

      const paths = (kind: LakeKind) => batch[kind].map((file) => file.path);
      const bounds = await this.batchBounds(lake.source, {
        events: batch.events.length > 0 ? paths('events') : undefined,
        failed: batch.failed.length > 0 ? paths('failed') : undefined,
      });
      // No bound: the files hold no row, so there is nothing to merge (they are still recorded).
      if (bounds.events !== undefined) {
        await this.api.execute(mergeEvents(lake.source, paths('events'), startedAt, bounds.events));
        await this.api.execute(foldClaims(lake.source, paths('events')));
        await this.api.execute(foldUserIds(lake.source, paths('events')));
      }
      if (bounds.failed !== undefined) {
        await this.api.execute(mergeFailed(paths('failed'), startedAt, bounds.failed));
      }
      await this.api.execute(recordLakeFiles(files, startedAt));

      const [outcome] = await this.api.query(selectLoadOutcome(startedAt));
      if (Number(outcome?.tombstones ?? 0) > 0) {
        // An erasure may have deleted while this load read lake files the lake's erasure had not
        // rewritten yet: its rows are erased again, then its tombstones, which no later load needs.
        for (const statement of erasureStatements('tombstones')) await this.api.execute(statement);
        await this.api.execute(dropTombstones(startedAt));
      }
      const counts = {
        files: files.length,
        insertedEvents: Number(outcome?.inserted_events ?? 0),
        insertedFailed: Number(outcome?.inserted_failed ?? 0),
      };
      await this.api.execute(recordLoad(this.newId(), startedAt, this.now(), counts));
      return { files: files.length, rows: counts.insertedEvents + counts.insertedFailed, ...report };
    } catch (cause) {
      throw new WarehouseError(
        'Athena load failed; files of the failed run stay unrecorded, and the next run merges them (nothing twice)',
        'WAREHOUSE_LOAD_FAILED',
        { cause },
      );
    }
  }

  /**
   * Once a day (the load step's daily schedule): purges what the retention limits expire, drops
   * tombstones no load can need, then compacts and vacuums every table, which is what removes
   * deleted rows from storage. The cutoffs
   * move once a UTC day, so a second run the same day purges nothing.
   */
  async runDaily(options: { maintenance?: boolean } = {}): Promise<AthenaDailyReport> {
    let purged: PurgeCounts = { events: 0, failedEvents: 0 };
    try {
      const { retention } = this.options;
      if (retention !== undefined) {
        const purge = retentionStatements(purgeCutoffs(retention, this.now()));
        const [row] = await this.api.query(purge.count);
        purged = purgeCountsOf(row);
        if (purged.events + purged.failedEvents > 0) {
          for (const statement of purge.statements) await this.api.execute(statement);
        }
      }
    } catch (cause) {
      throw new WarehouseError(
        'Athena retention purge failed; the next run purges again',
        'WAREHOUSE_PURGE_FAILED',
        {
          cause,
        },
      );
    }
    if (options.maintenance === false) return { purged, maintained: false };
    try {
      await this.api.execute(dropTombstones(new Date(this.now().getTime() - TOMBSTONE_MAX_AGE_MS)));
      for (const statement of MAINTENANCE_STATEMENTS) await this.api.execute(statement);
    } catch (cause) {
      throw new WarehouseError(
        'Athena table maintenance failed; the next run starts it again',
        'WAREHOUSE_MAINTENANCE_FAILED',
        {
          cause,
        },
      );
    }
    return { purged, maintained: true };
  }

  /**
   * Deletes every row naming one of the ids (docs/privacy.md#deletion): writes them to erasure_ids
   * as tombstones with bound parameters, counts what names them, then deletes statement by
   * statement. Athena has no transactions: a failed attempt leaves part done and the tombstones,
   * and the next attempt (or the next load, which sweeps tombstones) finishes it, since each
   * statement picks its rows by the ids. The rows leave storage with the daily maintenance.
   */
  erasePerson(ids: readonly string[]): Promise<ErasureCounts> {
    return eraseRecorded(ids, {
      newId: () => this.newId(),
      attempt: (erasureId) => {
        // One time for all the attempt's tombstones: a load that starts after it drops them together.
        const erasedAt = this.now();
        return {
          writeIds: async (rows) => {
            const { sql, params } = insertErasureIds(erasureId, rows, erasedAt);
            await this.api.execute(sql, params);
          },
          erase: async () => {
            const [row] = await this.api.query(selectErasureCounts({ erasureId }));
            for (const statement of erasureStatements({ erasureId })) await this.api.execute(statement);
            return row;
          },
        };
      },
      failure: 'failed part-way; its tombstones stay, and the next attempt or load finishes it',
    });
  }

  /**
   * The data files of the lake's roots in the lookback's day partitions (or all of them), with the
   * earliest hourly partition searched, and the keys that are not data files, which are left alone.
   */
  private async listLake(
    lake: AthenaLakeOptions,
    now: Date,
    full: boolean,
  ): Promise<{ files: Array<LakeFile & { kind: LakeKind }>; fromPartition?: string; skipped: string[] }> {
    const from = new Date(now.getTime() - (lake.lookbackHours ?? 48) * HOUR_MS);
    const days: string[] = [];
    for (let day = Math.floor(from.getTime() / DAY_MS) * DAY_MS; day <= now.getTime(); day += DAY_MS) {
      days.push(dayPrefix(new Date(day)));
    }
    const files: Array<LakeFile & { kind: LakeKind }> = [];
    const skipped: string[] = [];
    for (const root of LAKE_ROOTS) {
      const prefixes = full ? [root.prefix] : days.map((day) => `${root.prefix}${day}`);
      for (const prefix of prefixes) {
        const objects: LakeObject[] = await lake.lister.list(prefix);
        for (const object of objects) {
          const match = DATA_FILE.exec(object.key.slice(root.prefix.length));
          if (match === null || !object.key.endsWith(root.suffix)) {
            skipped.push(object.key);
            continue;
          }
          files.push({
            kind: root.kind,
            path: `s3://${lake.lister.bucket}/${object.key}`,
            hourPartition: match[1] as string,
          });
        }
      }
    }
    // The day of `from`, whole: a file's partition is its hour, and the listing was by day.
    return {
      files,
      fromPartition: full ? undefined : hourPartition(new Date(Math.floor(from.getTime() / DAY_MS) * DAY_MS)),
      skipped,
    };
  }

  /**
   * The days each kind of the batch's rows fall on, as the bound of its merge (load-bound.ts), in
   * one query over the new files; undefined for a kind with no file or no row.
   */
  private async batchBounds(
    source: LakeSource,
    paths: { events: string[] | undefined; failed: string[] | undefined },
  ): Promise<Record<LakeKind, LoadBound | undefined>> {
    const rows = await this.api.query(
      selectBatchDays({
        events: paths.events === undefined ? undefined : { source, paths: paths.events },
        failed: paths.failed,
      }),
    );
    const daysOf = (kind: LakeKind) =>
      rows.filter((row) => row.kind === kind).map((row) => (typeof row.day === 'string' ? row.day : null));
    return { events: loadBoundOf(daysOf('events')), failed: loadBoundOf(daysOf('failed')) };
  }

  private lake(what: string): AthenaLakeOptions {
    if (this.options.lake === undefined) {
      throw new WarehouseError(
        `Athena ${what} needs the lake options (source table, lister, tables location)`,
        'WAREHOUSE_UNAVAILABLE',
      );
    }
    return this.options.lake;
  }

  private newId(): string {
    return (this.options.newId ?? randomUUID)();
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  private identity(): IdentityRules {
    return this.options.identity ?? DEFAULT_IDENTITY_RULES;
  }
}

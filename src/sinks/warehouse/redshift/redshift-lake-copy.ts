import type { RedshiftDataApi } from './redshift-data-api';
import {
  PARQUET_STAGING_BEFORE_MERGES_USERS,
  SELECT_LAKE_FILES_STATE,
  copyStatement,
  hasControlCharacter,
  recordLakeFilesStatement,
  selectLoadedKeys,
} from './redshift-sql';
import type { CopyRole, StagingTable } from './redshift-sql';
import type { LakeLister } from '../../lake/firehose/s3-lake-lister';
import type { LakeQuarantine } from '../../lake/firehose/s3-lake-quarantine';
import { WarehouseError, WarehouseStatementError } from '../errors';

/** Where a kind of data file is COPYed: its staging table, and those of its earlier layouts. */
interface FileKind {
  suffix: string;
  table: StagingTable;
  /**
   * Staging tables of the layouts files of this kind had before (newest first). COPY maps Parquet
   * columns by position and wants the table's number of them, so a file Firehose wrote before a
   * column was added fails on the current table and is COPYed into the one of its layout.
   */
  earlierLayouts?: readonly StagingTable[];
}

/**
 * The lake roots Firehose delivers to, and the staging table each kind of data file below them is
 * COPYed into, by name suffix. Events are Parquet (record format conversion); `.gz` events are gzip
 * NDJSON from before that, and still load.
 */
export const LAKE_ROOTS: ReadonlyArray<{ prefix: string; files: readonly FileKind[] }> = [
  {
    prefix: 'events/',
    files: [
      {
        suffix: '.parquet',
        table: 'staging_events_parquet',
        earlierLayouts: [PARQUET_STAGING_BEFORE_MERGES_USERS],
      },
      { suffix: '.gz', table: 'staging_events' },
    ],
  },
  { prefix: 'failed/', files: [{ suffix: '.gz', table: 'staging_failed' }] },
];

/** BatchExecuteStatement runs at most 40 statements; one of them records the batch's files. */
export const MAX_STATEMENTS_PER_BATCH = 40;

/**
 * A Firehose data file below a root: hourly partitions, then a file name. Only names with one of the
 * root's suffixes are loaded; anything else (error output, folder markers, files a person dropped
 * there) is reported, never COPYed: a COPY that fails would fail every run after it.
 */
const DATA_FILE = /^year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2}\/[^/]+$/;

/**
 * What Redshift says when a COPY fails on the content of its file rather than on access, capacity or
 * a conflict: COPY's own "Load into table '…' failed" (sys_load_error_detail has the reason) and
 * Spectrum's errors reading a Parquet file. Only these set a file aside; any other failure stops
 * the run, and the next run tries the file again.
 */
const COPY_DATA_ERROR = /Load into table .+ failed|Spectrum Scan Error|incompatible Parquet schema/i;
const ACCESS_ERROR = /access ?denied|not authori[sz]ed|status 403/i;

function isDataError(error: unknown): error is WarehouseStatementError {
  return (
    error instanceof WarehouseStatementError &&
    error.code === 'WAREHOUSE_STATEMENT_FAILED' &&
    !error.retryable &&
    COPY_DATA_ERROR.test(error.message) &&
    !ACCESS_ERROR.test(error.message)
  );
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface RedshiftLakeCopyOptions {
  api: RedshiftDataApi;
  lister: LakeLister;
  role: CopyRole;
  /** How far before the newest loaded partition files are still looked for; default 48 hours. */
  lookbackHours?: number;
  /** New files COPYed per run at most, oldest partitions first; the rest wait for the next run. */
  maxFilesPerRun?: number;
  /**
   * Where a file whose COPY fails on its content is moved, so that the files after it and the merge
   * still run. Without it, such a file fails the run, and every run after it.
   */
  quarantine?: LakeQuarantine;
  /**
   * Files set aside per run at most, default 10. More failing at once points at something other
   * than bad files (a schema change, say), so the run stops rather than move them all.
   */
  maxQuarantinedPerRun?: number;
  now?: () => number;
}

export interface CopyOptions {
  /** List every partition rather than the lookback window (a backfill; automatic on the first run). */
  fullListing?: boolean;
}

export interface LakeCopyReport {
  /** Files COPYed into staging by this run. */
  files: number;
  /** New files left for the next run by the per-run limit. */
  pendingFiles: number;
  /** Keys below the roots that are not Firehose data files, and so were not loaded. */
  skippedKeys: string[];
  /** Files whose COPY failed on their content, moved out of the lake's folders by this run. */
  quarantined: QuarantinedFile[];
}

export interface QuarantinedFile {
  key: string;
  /** Where the file is now. */
  quarantineKey: string;
  /** Redshift's error. */
  reason: string;
}

type LakeRoot = (typeof LAKE_ROOTS)[number];

interface Listing {
  /** Whole roots: every loaded key may be among the listed ones. */
  full: boolean;
  prefixes: Array<{ prefix: string; root: LakeRoot }>;
}

interface NewFile {
  key: string;
  table: StagingTable;
  earlierLayouts: readonly StagingTable[];
  /** The key below its root: partitions first, so sorting on it orders both roots by time. */
  partitionPath: string;
}

/**
 * Stages new lake files for the merge: lists recent partitions, drops the files `lake_files`
 * already holds, and COPYs the rest, each batch of COPYs one transaction with the rows that
 * record its files. A batch that fails records nothing, so its files are COPYed again next run.
 * A batch that fails on the content of a file is COPYed again file by file, and the file that
 * still fails is moved to the quarantine, so one bad file never holds back the files after it.
 */
export class RedshiftLakeCopy {
  private readonly lookbackMs: number;
  private readonly maxFilesPerRun: number;
  private readonly maxQuarantinedPerRun: number;
  private readonly now: () => number;

  constructor(private readonly options: RedshiftLakeCopyOptions) {
    this.lookbackMs = (options.lookbackHours ?? 48) * HOUR_MS;
    this.maxFilesPerRun = options.maxFilesPerRun ?? 100;
    this.maxQuarantinedPerRun = options.maxQuarantinedPerRun ?? 10;
    this.now = options.now ?? Date.now;
    const positive = (n: number) => Number.isSafeInteger(n) && n >= 1;
    if (!(this.lookbackMs > 0) || !positive(this.maxFilesPerRun) || !positive(this.maxQuarantinedPerRun)) {
      throw new RangeError(
        'lookbackHours must be positive, and maxFilesPerRun and maxQuarantinedPerRun positive integers',
      );
    }
  }

  /** COPYs the lake files not loaded yet into the staging tables. */
  async copyNew(copy: CopyOptions = {}): Promise<LakeCopyReport> {
    const listing = await this.listing(copy.fullListing === true);
    const loaded = await this.loadedKeys(listing);
    const skippedKeys: string[] = [];
    const fresh: NewFile[] = [];
    for (const { prefix, root } of listing.prefixes) {
      for (const { key } of await this.options.lister.list(prefix)) {
        if (loaded.has(key)) continue;
        const partitionPath = key.slice(root.prefix.length);
        const kind = root.files.find((file) => partitionPath.endsWith(file.suffix));
        if (kind === undefined || !DATA_FILE.test(partitionPath) || hasControlCharacter(key)) {
          skippedKeys.push(key);
        } else {
          fresh.push({ key, table: kind.table, earlierLayouts: kind.earlierLayouts ?? [], partitionPath });
        }
      }
    }
    // Oldest first, so the newest loaded partition is where an interrupted backlog resumes.
    fresh.sort((a, b) => compare(a.partitionPath, b.partitionPath) || compare(a.key, b.key));
    const batch = fresh.slice(0, this.maxFilesPerRun);
    const perBatch = MAX_STATEMENTS_PER_BATCH - 1;
    const quarantined: QuarantinedFile[] = [];
    for (let i = 0; i < batch.length; i += perBatch) {
      await this.copy(batch.slice(i, i + perBatch), quarantined);
    }
    return {
      files: batch.length - quarantined.length,
      pendingFiles: fresh.length - batch.length,
      skippedKeys,
      quarantined,
    };
  }

  /**
   * COPYs files as one transaction; on a failure over a file's content, one by one, each into the
   * staging tables of its earlier layouts in turn, setting aside the file none of them takes.
   */
  private async copy(files: readonly NewFile[], quarantined: QuarantinedFile[]): Promise<void> {
    try {
      await this.options.api.batch(this.copyBatch(files));
      return;
    } catch (error) {
      const { quarantine } = this.options;
      if (!isDataError(error)) throw error;
      if (quarantine === undefined && !files.some((file) => file.earlierLayouts.length > 0)) throw error;
      if (files.length > 1) {
        for (const file of files) await this.copy([file], quarantined);
        return;
      }
      const [file] = files as [NewFile];
      if (await this.copyInEarlierLayout(file)) return;
      if (quarantine === undefined) throw error;
      if (quarantined.length >= this.maxQuarantinedPerRun) {
        throw new WarehouseError(
          `${quarantined.length + 1} lake files failed to load in one run, ${file.key} among them; ` +
            `stopping rather than moving more than ${this.maxQuarantinedPerRun} to quarantine`,
          'WAREHOUSE_LOAD_FAILED',
          { cause: error },
        );
      }
      // Redshift's error for the current layout: what a person reading the report needs to fix.
      quarantined.push({
        key: file.key,
        quarantineKey: await quarantine.quarantine(file.key),
        reason: error.message,
      });
    }
  }

  /** COPYs a file the current staging table refused into those of its earlier layouts, until one takes it. */
  private async copyInEarlierLayout(file: NewFile): Promise<boolean> {
    for (const table of file.earlierLayouts) {
      try {
        await this.options.api.batch(this.copyBatch([{ ...file, table }]));
        return true;
      } catch (error) {
        if (!isDataError(error)) throw error;
      }
    }
    return false;
  }

  /**
   * Whole roots on the first run or when asked; otherwise the day partitions from the lookback
   * before the newest loaded partition (or before now, if earlier) until today. Counting from
   * what was loaded, not from the clock, means neither a loader that was down for days nor a
   * backlog cut short by maxFilesPerRun leaves files behind.
   */
  private async listing(fullListing: boolean): Promise<Listing> {
    const [state] = await this.options.api.query(SELECT_LAKE_FILES_STATE);
    const newest = partitionTime(state?.newest_partition);
    if (fullListing || Number(state?.file_count ?? 0) === 0 || newest === undefined) {
      return { full: true, prefixes: LAKE_ROOTS.map((root) => ({ prefix: root.prefix, root })) };
    }
    const now = this.now();
    const from = Math.min(now, newest) - this.lookbackMs;
    const days: string[] = [];
    for (let day = Math.floor(from / DAY_MS) * DAY_MS; day <= now; day += DAY_MS) {
      days.push(dayPartition(new Date(day)));
    }
    return {
      full: false,
      prefixes: LAKE_ROOTS.flatMap((root) => days.map((day) => ({ prefix: `${root.prefix}${day}`, root }))),
    };
  }

  private async loadedKeys(listing: Listing): Promise<Set<string>> {
    const { sql, params } = selectLoadedKeys(listing.full ? [] : listing.prefixes.map((p) => p.prefix));
    return new Set((await this.options.api.query(sql, params)).map((row) => String(row.s3_key)));
  }

  private copyBatch(files: readonly NewFile[]): string[] {
    const { bucket } = this.options.lister;
    return [
      ...files.map((file) => copyStatement(file.table, bucket, file.key, this.options.role)),
      recordLakeFilesStatement(files.map((file) => file.key)),
    ];
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const pad = (value: number): string => String(value).padStart(2, '0');

/** `year=YYYY/month=MM/day=DD/`, the UTC day part of Firehose's default partitions. */
function dayPartition(day: Date): string {
  return `year=${day.getUTCFullYear()}/month=${pad(day.getUTCMonth() + 1)}/day=${pad(day.getUTCDate())}/`;
}

const PARTITION = /^year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})$/;

/** The start of an hourly partition in epoch ms; undefined for anything else. */
function partitionTime(partition: unknown): number | undefined {
  const match = typeof partition === 'string' ? PARTITION.exec(partition) : null;
  if (match === null) return undefined;
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(match[4]));
}

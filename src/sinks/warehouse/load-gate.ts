import type { LakeLister, LakeObject } from '../lake/firehose/s3-lake-lister';
import type { LoadState, LoadStateStore } from '../lake/firehose/s3-load-state';

/** Why a run loads. */
export type LoadReason =
  /** No state yet: the first run, which also brings the schema up to date. */
  | 'first-run'
  /** At least `minPendingBytes` of lake files are pending. */
  | 'size'
  /** The oldest pending file waited `maxPendingAgeMs`. */
  | 'age'
  /** No load for `purgeIntervalMs`: the load's retention purge is due, whatever is pending. */
  | 'retention';

/** What one check found; `listedAt` is when the listing began, which a load then covers. */
export interface LoadDecision {
  load: boolean;
  reason?: LoadReason;
  pendingFiles: number;
  pendingBytes: number;
  /** How long the oldest pending file has waited; undefined when none is pending. */
  oldestPendingAgeMs?: number;
  listedAt: number;
}

/** A run the gate held back: what was pending; no warehouse statement ran. */
export type SkippedRun = { skipped: true } & Omit<LoadDecision, 'load' | 'reason'>;

export interface LoadGateOptions {
  lister: LakeLister;
  state: LoadStateStore;
  /** The lake folders the warehouse loads from; default LAKE_DATA_ROOTS. */
  roots?: readonly string[];
  minPendingBytes: number;
  maxPendingAgeMs: number;
  /** The longest a warehouse goes without a load, so its retention purge runs; default one day. */
  purgeIntervalMs?: number;
  now?: () => number;
}

/** The lake folders Firehose delivers to, each partitioned `year=/month=/day=/hour=/`. */
export const LAKE_DATA_ROOTS: readonly string[] = ['events/', 'failed/'];

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * S3 dates an object when its upload starts, so a file still uploading during a listing shows up
 * later dated before it. Files this close to the listing count as pending again next time: at
 * worst one extra load after traffic stops, never a file left behind.
 */
export const SETTLE_MS = 5 * 60_000;

/**
 * Firehose partitions by when records arrived and writes a file up to its 900 s buffer later, so
 * a file dated after the state's mark sits at most this far before it in partition time.
 */
const PARTITION_LAG_MS = HOUR_MS;

/**
 * Decides, from an S3 listing and the state the last load left, whether the scheduled load step
 * loads now: only when new lake files are pending and worth waking the warehouse for (enough bytes,
 * or a file old enough), or when the retention purge is due. Nothing here asks the warehouse.
 */
export class LoadGate {
  private readonly now: () => number;
  private readonly purgeIntervalMs: number;
  private lastState: LoadState | undefined;

  constructor(private readonly options: LoadGateOptions) {
    this.now = options.now ?? Date.now;
    this.purgeIntervalMs = options.purgeIntervalMs ?? DAY_MS;
    const { minPendingBytes, maxPendingAgeMs } = options;
    if (!(minPendingBytes >= 0) || !(maxPendingAgeMs > 0) || !(this.purgeIntervalMs > 0)) {
      throw new RangeError('minPendingBytes must be 0 or more, maxPendingAgeMs and purgeIntervalMs positive');
    }
  }

  /** Lists the lake files stored since the last load and decides whether to load them now. */
  async check(): Promise<LoadDecision> {
    const listedAt = this.now();
    const state = await this.options.state.read();
    this.lastState = state;
    if (state === undefined)
      return { load: true, reason: 'first-run', pendingFiles: 0, pendingBytes: 0, listedAt };
    const pending = await this.pendingSince(state.loadedThrough, listedAt);
    const pendingBytes = pending.reduce((sum, file) => sum + file.size, 0);
    const oldest = Math.min(...pending.map((file) => file.lastModified ?? listedAt));
    const facts = {
      pendingFiles: pending.length,
      pendingBytes,
      oldestPendingAgeMs: pending.length === 0 ? undefined : listedAt - oldest,
      listedAt,
    };
    const reason = this.reason(facts, state, listedAt);
    return reason === undefined ? { load: false, ...facts } : { load: true, reason, ...facts };
  }

  /**
   * Records a load that began after `decision`'s listing. `complete`: the load took every pending
   * file; otherwise the mark stays, so the next run sees the rest as pending (and overdue).
   */
  async loaded(decision: LoadDecision, complete: boolean): Promise<void> {
    const previous = this.lastState?.loadedThrough ?? 0;
    await this.options.state.write({
      loadedThrough: complete ? Math.max(previous, decision.listedAt - SETTLE_MS) : previous,
      lastLoadAt: this.now(),
    });
  }

  private reason(
    facts: Pick<LoadDecision, 'pendingFiles' | 'pendingBytes' | 'oldestPendingAgeMs'>,
    state: LoadState,
    now: number,
  ): LoadReason | undefined {
    if (facts.pendingFiles > 0 && facts.pendingBytes >= this.options.minPendingBytes) return 'size';
    if ((facts.oldestPendingAgeMs ?? 0) >= this.options.maxPendingAgeMs) return 'age';
    if (now - state.lastLoadAt >= this.purgeIntervalMs) return 'retention';
    return undefined;
  }

  /** Files S3 stored after `mark`, from the day partitions that can hold them. */
  private async pendingSince(mark: number, now: number): Promise<LakeObject[]> {
    const days: string[] = [];
    for (let day = Math.floor((mark - PARTITION_LAG_MS) / DAY_MS) * DAY_MS; day <= now; day += DAY_MS) {
      days.push(dayPartition(new Date(day)));
    }
    const pending: LakeObject[] = [];
    for (const root of this.options.roots ?? LAKE_DATA_ROOTS) {
      for (const day of days) {
        for (const file of await this.options.lister.list(`${root}${day}`)) {
          // A file S3 did not date is taken as new: loading it twice is harmless, missing it is not.
          if ((file.lastModified ?? Number.POSITIVE_INFINITY) > mark) pending.push(file);
        }
      }
    }
    return pending;
  }
}

const pad = (value: number): string => String(value).padStart(2, '0');

/** `year=YYYY/month=MM/day=DD/`, the UTC day part of Firehose's default partitions. */
function dayPartition(day: Date): string {
  return `year=${day.getUTCFullYear()}/month=${pad(day.getUTCMonth() + 1)}/day=${pad(day.getUTCDate())}/`;
}

import type { HotTierFolder } from '../../sinks/hot-tier/port';

export interface FoldLoopOptions {
  /** The least time between the end of one fold and the start of the next. */
  intervalMs: number;
  /** Runs after each fold that wrote anything: the API thread's read cache forgets items and trends. */
  folded: () => Promise<void>;
  logger?: Pick<Console, 'error'>;
}

/**
 * A fold waits at least this many times as long as the last one took. A fold under load rewrites
 * most of the catalogue in the one emulator the stream processor writes to as well; this keeps
 * folds to a fifth of the time, so processing keeps four fifths of the emulator.
 */
export const FOLD_BUSY_FACTOR = 4;

/**
 * The embedded stack's fold of pending item and trend changes (docs/hot-tier.md#the-fold): the
 * scheduled function's job in AWS. While batches keep coming it folds at most once per
 * `intervalMs`, or per four times the last fold's duration if longer; it does not fold while none
 * come, and folds once at start for what an earlier run left pending. One fold at a time; a
 * failure is logged and tried again at the next interval.
 */
export class FoldLoop {
  private readonly logger: Pick<Console, 'error'>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private active = false;
  private folding = false;
  /** Batches were applied (or a fold failed) since the last fold began. */
  private dirty = true;
  private lastEndedAt = Number.NEGATIVE_INFINITY;
  private lastTookMs = 0;

  constructor(
    private readonly folder: HotTierFolder,
    private readonly options: FoldLoopOptions,
  ) {
    this.logger = options.logger ?? console;
  }

  start(): void {
    this.active = true;
    this.scheduleNext();
  }

  /** A batch was applied: its changes are folded at the next fold. */
  applied(): void {
    this.dirty = true;
    this.scheduleNext();
  }

  /** Folds everything pending now (after any fold in progress): what draining the stack waits for. */
  foldAll(): Promise<void> {
    this.dirty = true;
    const fold = this.enqueue();
    // The chain itself never rejects: the caller hears of a failure, the next fold retries it.
    this.running = fold.catch(() => {
      this.dirty = true;
    });
    return fold;
  }

  async stop(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Arms the timer for the next fold, unless one is armed or running (its end arms it). */
  private scheduleNext(): void {
    if (!this.active || !this.dirty || this.folding || this.timer !== undefined) return;
    const gap = Math.max(this.options.intervalMs, FOLD_BUSY_FACTOR * this.lastTookMs);
    const delay = Math.max(0, this.lastEndedAt + gap - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.enqueue().catch((error: unknown) => {
        this.dirty = true;
        this.logger.error('hot-tier fold failed, retrying', { error: String(error) });
      });
    }, delay);
  }

  private enqueue(): Promise<void> {
    return this.running.then(() => this.foldWhilePending());
  }

  private async foldWhilePending(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    this.folding = true;
    const started = Date.now();
    let wrote = false;
    try {
      for (;;) {
        const outcome = await this.folder.foldPending();
        wrote ||= outcome.entries > 0;
        if (!outcome.more) break;
      }
    } catch (error) {
      this.dirty = true;
      throw error;
    } finally {
      this.folding = false;
      this.lastEndedAt = Date.now();
      this.lastTookMs = this.lastEndedAt - started;
      if (wrote) await this.options.folded().catch(() => undefined);
      this.scheduleNext();
    }
  }
}

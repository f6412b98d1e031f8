import type { HotTierFolder } from '../../sinks/hot-tier/port';

export interface FoldLoopOptions {
  /** The least time between the end of one fold and the start of the next. */
  intervalMs: number;
  /** Runs after each fold that wrote anything: the API thread's read cache forgets items and trends. */
  folded: () => Promise<void>;
  logger?: Pick<Console, 'error'>;
}

/**
 * The embedded stack's fold of pending item and trend changes (docs/hot-tier.md#the-fold): the
 * scheduled function's job in AWS. It folds at most once per `intervalMs` while batches keep
 * coming, not at all while none do, and once at start for what an earlier run left pending. One
 * fold at a time; a failure is logged and tried again at the next interval.
 */
export class FoldLoop {
  private readonly logger: Pick<Console, 'error'>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private active = false;
  /** Batches were applied since the last fold began. */
  private dirty = true;

  constructor(
    private readonly folder: HotTierFolder,
    private readonly options: FoldLoopOptions,
  ) {
    this.logger = options.logger ?? console;
  }

  start(): void {
    this.active = true;
    this.schedule(0);
  }

  /** A batch was applied: its changes are folded within `intervalMs`. */
  applied(): void {
    this.dirty = true;
    if (this.active && this.timer === undefined) this.schedule(this.options.intervalMs);
  }

  /** Folds everything pending now (after any fold in progress): what draining the stack waits for. */
  foldAll(): Promise<void> {
    this.dirty = true;
    const fold = this.running.then(() => this.foldWhilePending());
    // The chain itself never rejects: the caller hears of a failure, the next fold retries it.
    this.running = fold.catch(() => {
      this.dirty = true;
      this.rescheduleIfDirty();
    });
    return fold;
  }

  async stop(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running
        .then(() => this.foldWhilePending())
        .catch((error: unknown) => {
          this.dirty = true;
          this.logger.error('hot-tier fold failed, retrying', { error: String(error) });
        })
        .finally(() => this.rescheduleIfDirty());
    }, delayMs);
  }

  /** What came in (or failed) during a fold is folded an interval later. */
  private rescheduleIfDirty(): void {
    if (this.active && this.dirty && this.timer === undefined) this.schedule(this.options.intervalMs);
  }

  private async foldWhilePending(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    let wrote = false;
    try {
      for (;;) {
        const outcome = await this.folder.foldPending();
        wrote ||= outcome.entries > 0;
        if (!outcome.more) break;
      }
    } finally {
      if (wrote) await this.options.folded();
    }
  }
}

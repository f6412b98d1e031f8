import type { LoadReport, WarehouseLoader } from '../sinks/warehouse/port';

/**
 * How long the loop waits to look at the lake when nobody said files landed. The pipeline says so
 * after each flush, and a load at start picks up files left from an earlier run, so this only
 * catches files put into the lake another way (copied in by hand, or by a test): half a minute
 * keeps their wait short, while an idle stack lists the lake 30 times less often than once a second
 * (a listing cost the API thread about 13 % of its busy time under single-event load).
 */
export const FALLBACK_INTERVAL_MS = 30_000;

export interface WarehouseLoadLoopOptions {
  /** The least time between the end of one scheduled load and the start of the next. */
  intervalMs: number;
  /** How long after a load the next runs when no files landed meanwhile. */
  fallbackMs?: number;
  logger?: Pick<Console, 'error'>;
}

/**
 * Runs the warehouse loader at start, soon after it is told files landed (at most one load per
 * `intervalMs`, so a busy lake is loaded about that often), and otherwise every `fallbackMs`; one
 * load at a time. Failures are logged and retried.
 */
export class WarehouseLoadLoop {
  private readonly intervalMs: number;
  private readonly fallbackMs: number;
  private readonly logger: Pick<Console, 'error'>;
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires. */
  private dueAt = Number.POSITIVE_INFINITY;
  private running: Promise<LoadReport | undefined> = Promise.resolve(undefined);
  private active = false;
  /** A scheduled load is in progress: files told of now may be missed by it. */
  private loading = false;
  private toldWhileLoading = false;
  private lastEndedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly loader: WarehouseLoader,
    options: WarehouseLoadLoopOptions,
  ) {
    this.intervalMs = options.intervalMs;
    this.fallbackMs = options.fallbackMs ?? FALLBACK_INTERVAL_MS;
    this.logger = options.logger ?? console;
  }

  start(): void {
    this.active = true;
    this.runIn(0);
  }

  /** New lake files are durable: loads them within `intervalMs`. Ignored unless started. */
  filesLanded(): void {
    if (!this.active) return;
    if (this.loading) this.toldWhileLoading = true;
    else this.runIn(Math.max(0, this.lastEndedAt + this.intervalMs - Date.now()));
  }

  /** Loads now (after any load in progress) and resolves with what was loaded. */
  runOnce(): Promise<LoadReport | undefined> {
    this.running = this.running.then(() =>
      this.loader.loadNew().catch((error: unknown) => {
        this.logger.error('warehouse load failed; it will be retried', error);
        return undefined;
      }),
    );
    return this.running;
  }

  /** Stops the timer after one last load, so everything delivered before stopping is loaded. */
  async stop(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.runOnce();
  }

  /** Schedules a load in `delayMs`, unless one is due sooner already. */
  private runIn(delayMs: number): void {
    const dueAt = Date.now() + delayMs;
    if (this.timer !== undefined && this.dueAt <= dueAt) return;
    clearTimeout(this.timer);
    this.dueAt = dueAt;
    this.timer = setTimeout(() => void this.scheduledLoad(), delayMs);
  }

  private async scheduledLoad(): Promise<void> {
    this.timer = undefined;
    this.loading = true;
    this.toldWhileLoading = false;
    await this.runOnce();
    this.loading = false;
    this.lastEndedAt = Date.now();
    if (this.active) this.runIn(this.toldWhileLoading ? this.intervalMs : this.fallbackMs);
  }
}

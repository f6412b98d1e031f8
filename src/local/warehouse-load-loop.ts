import type { LoadReport, WarehouseLoader } from '../sinks/warehouse/port';

/** Runs the warehouse loader on an interval, one load at a time; failures are logged and retried. */
export class WarehouseLoadLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<LoadReport | undefined> = Promise.resolve(undefined);
  private stopped = false;

  constructor(
    private readonly loader: WarehouseLoader,
    private readonly intervalMs: number,
    private readonly logger: Pick<Console, 'error'> = console,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
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
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.runOnce();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.runOnce().then(() => {
        if (!this.stopped) this.schedule();
      });
    }, this.intervalMs);
  }
}

import type { RetentionConfig } from '../config';
import type { CachedHotStore } from '../sinks/hot-tier/cached-hot-store';
import type { DynamoDbTtlSweeper } from '../sinks/hot-tier/dynamodb/dynamodb-ttl-sweeper';
import type { LocalLakeRetention } from '../sinks/lake/local/local-lake-retention';
import type { DuckDbWarehouse } from '../sinks/warehouse/duckdb/duckdb-warehouse';

/** How often the embedded stack applies its retention limits (AWS: S3 lifecycle, the load step, DynamoDB TTL). */
export const RETENTION_INTERVAL_MS = 3_600_000;

export interface RetentionParts {
  lake: Pick<LocalLakeRetention, 'purge'>;
  warehouse: Pick<DuckDbWarehouse, 'purge'>;
  hotTable: Pick<DynamoDbTtlSweeper, 'sweep'>;
  hotCache: Pick<CachedHotStore, 'forgetErased'>;
  limits: RetentionConfig;
}

/**
 * Applies the retention limits (docs/privacy.md#retention) at start and then every hour: expired
 * lake partitions, warehouse rows past their days, and hot-tier items past their `ttl` (dynalite
 * has no TTL of its own). Each part runs on; a failure is logged and tried again next time.
 */
export class RetentionLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly parts: RetentionParts,
    private readonly logger: Pick<Console, 'error'> = console,
  ) {}

  start(): void {
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), RETENTION_INTERVAL_MS).unref();
  }

  /** One pass over every store, after any pass in progress. */
  runOnce(): Promise<void> {
    this.running = this.running.then(() => this.pass());
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async pass(): Promise<void> {
    const { lake, warehouse, hotTable, hotCache, limits } = this.parts;
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['lake', () => lake.purge()],
      [
        'warehouse',
        () =>
          warehouse.purge({ eventsDays: limits.warehouseDays, failedEventsDays: limits.failedEventsDays }),
      ],
      [
        'hot tier',
        async () => {
          const report = await hotTable.sweep();
          hotCache.forgetErased(report.ids);
        },
      ],
    ];
    for (const [store, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.logger.error(`retention of the ${store} failed; it is tried again within the hour`, error);
      }
    }
  }
}

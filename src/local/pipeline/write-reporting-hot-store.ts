import type { NeighbourEntry } from '../../realtime/items';
import type { TrendState, TrendWindow } from '../../realtime/trending';
import type {
  FailureReporter,
  HotActivity,
  HotStore,
  IdRecord,
  ItemRecord,
  UserProfileRecord,
} from '../../sinks/hot-tier/port';
import { PipelineThreadError } from './errors';

/**
 * The stream processor's hot store on the pipeline thread. After each batch it applies (finished
 * or failed, which may have written some keys), it waits for `written`, which has the API thread's
 * read cache forget what the batch may have changed: the processor answers, and the poller
 * checkpoints, only after that, so a batch that counts as processed is never hidden behind a
 * cached read. Reads pass through.
 */
export class WriteReportingHotStore implements HotStore {
  constructor(
    private readonly store: HotStore,
    private readonly written: (activity: HotActivity[]) => Promise<void>,
  ) {}

  async applyActivity(activity: HotActivity[], report?: FailureReporter): Promise<void> {
    try {
      await this.store.applyActivity(activity, report);
    } finally {
      await this.written(activity);
    }
  }

  /** Not the stream's to do: an unlink goes through the API's hot store, which forgets what it changed. */
  unlink(): Promise<boolean> {
    return Promise.reject(
      new PipelineThreadError('unlink is not made on the pipeline thread', 'PIPELINE_REQUEST_FAILED'),
    );
  }

  getUser(id: string): Promise<UserProfileRecord | null> {
    return this.store.getUser(id);
  }

  readIds(ids: readonly string[]): Promise<Map<string, IdRecord>> {
    return this.store.readIds(ids);
  }

  getItem(id: string): Promise<ItemRecord | null> {
    return this.store.getItem(id);
  }

  getNeighbours(itemIds: string[]): Promise<Map<string, NeighbourEntry[]>> {
    return this.store.getNeighbours(itemIds);
  }

  getTrend(event: string | null, window: TrendWindow): Promise<TrendState | null> {
    return this.store.getTrend(event, window);
  }
}

import type { NeighbourEntry } from '../../src/realtime/items';
import type { TrendState } from '../../src/realtime/trending';
import type { Delivery, DeliveryResult } from '../../src/sinks/lake/port';
import type {
  HotActivity,
  HotStore,
  IdRecord,
  ItemRecord,
  UserProfileRecord,
} from '../../src/sinks/hot-tier/port';

/** A delivery that keeps records in memory; `failWhen` makes chosen records fail. */
export class MemoryDelivery<T> implements Delivery<T> {
  readonly records: T[] = [];
  failWhen: (record: T) => boolean = () => false;
  throwOnDeliver: Error | undefined;

  async deliver(records: T[]): Promise<DeliveryResult> {
    if (this.throwOnDeliver) throw this.throwOnDeliver;
    const failed: DeliveryResult['failed'] = [];
    records.forEach((record, index) => {
      if (this.failWhen(record)) failed.push({ index, error: new Error('injected failure') });
      else this.records.push(record);
    });
    return { failed };
  }

  async close(): Promise<void> {}
}

/** Records every activity batch it is given; no idempotency of its own (the DynamoDB adapter has that). */
export class RecordingHotStore implements HotStore {
  readonly batches: HotActivity[][] = [];
  throwOnApply: Error | undefined;

  async applyActivity(activity: HotActivity[]): Promise<void> {
    if (this.throwOnApply) throw this.throwOnApply;
    this.batches.push(activity);
  }

  async getUser(_id: string): Promise<UserProfileRecord | null> {
    return null;
  }

  async getItem(_id: string): Promise<ItemRecord | null> {
    return null;
  }

  async getNeighbours(_itemIds: string[]): Promise<Map<string, NeighbourEntry[]>> {
    return new Map();
  }

  async getTrend(): Promise<TrendState | null> {
    return null;
  }

  async readIds(): Promise<Map<string, IdRecord>> {
    return new Map();
  }

  async unlink(): Promise<boolean> {
    return false;
  }
}

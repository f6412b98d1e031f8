import type {
  Delivery,
  DeliveryResult,
  HotStore,
  ProfileActivity,
  UserProfileRecord,
} from '../../src/sinks/ports';

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
  readonly batches: ProfileActivity[][] = [];
  throwOnApply: Error | undefined;

  async applyProfileActivity(activity: ProfileActivity[]): Promise<void> {
    if (this.throwOnApply) throw this.throwOnApply;
    this.batches.push(activity);
  }

  async getUser(_id: string): Promise<UserProfileRecord | null> {
    return null;
  }
}

import type { FailedEvent, StoredEvent } from '../../events/types';

/** Per-record outcome of a delivery: indices into the input that were not delivered. */
export interface DeliveryResult {
  failed: Array<{ index: number; error: Error }>;
}

/** A delivery stream (Firehose in AWS, a lake folder locally). Resolves once records are durable. */
export interface Delivery<T> {
  /** Delivers records; the result lists the ones that could not be delivered after retries. */
  deliver(records: T[]): Promise<DeliveryResult>;
  /** Writes out anything buffered and stops timers. */
  close(): Promise<void>;
}

export type EventsDelivery = Delivery<StoredEvent>;
export type FailedDelivery = Delivery<FailedEvent>;

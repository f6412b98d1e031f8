import type { FailedEvent, FailureType, StoredEvent } from '../events/types';

/** One record to put on the event stream. */
export interface StreamPutRecord {
  partitionKey: string;
  data: Uint8Array;
}

export type StreamPutOutcome =
  | { ok: true; shardId: string; sequenceNumber: string }
  | { ok: false; errorCode: string; errorMessage: string };

/** The producer side of the event stream (Kinesis PutRecords). */
export interface EventStreamProducer {
  /** Puts records, retrying only the failed entries; outcomes are in input order and never throw per record. */
  putRecords(records: StreamPutRecord[]): Promise<StreamPutOutcome[]>;
}

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

/** One stream record's contribution to a user profile. */
export interface ProfileActivity {
  profileId: string;
  event: string;
  /** Event time, ISO 8601. */
  timestamp: string;
  shardId: string;
  sequenceNumber: string;
}

export interface UserProfileRecord {
  id: string;
  eventCount: number;
  firstSeen: string;
  lastSeen: string;
  lastEvent: string;
}

/** The hot tier (DynamoDB). */
export interface HotStore {
  /**
   * Applies a batch of activity. Idempotent: activity at or below a profile's per-shard
   * sequence watermark is ignored, so a redelivered batch changes nothing.
   */
  applyProfileActivity(activity: ProfileActivity[]): Promise<void>;
  /** Reads one profile, or null when the id has never been seen. */
  getUser(id: string): Promise<UserProfileRecord | null>;
}

export type Granularity = 'HOUR' | 'DAY';

export interface EventCountsQuery {
  from: Date;
  to: Date;
  granularity: Granularity;
  events?: string[];
}

export interface EventCountRow {
  bucket: Date;
  event: string;
  count: number;
  users: number;
}

export interface FailedEventsQuery {
  from: Date;
  to: Date;
  failureType?: FailureType;
  event?: string;
  limit: number;
}

/** The warehouse (Redshift in AWS, DuckDB locally): read side. */
export interface Warehouse {
  /** Counts events and distinct users per time bucket and event name, in [from, to). */
  eventCounts(query: EventCountsQuery): Promise<EventCountRow[]>;
  /** Failed events received in [from, to), newest first. */
  failedEvents(query: FailedEventsQuery): Promise<FailedEvent[]>;
  close(): Promise<void>;
}

export interface LoadReport {
  files: number;
  rows: number;
}

/** Loads new lake files into the warehouse, each file once, rows unique by messageId. */
export interface WarehouseLoader {
  /** Loads every lake file not loaded before. */
  loadNew(): Promise<LoadReport>;
}

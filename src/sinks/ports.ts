import type { FailedEvent, FailureType, StoredEvent } from '../events/types';
import type { ItemStatsState, NeighbourEntry } from '../realtime/items';
import type { ProfileState } from '../realtime/profile';
import type { TrendState, TrendWindow } from '../realtime/trending';

/** Edge deduplication: messageIds remembered for a window (DynamoDB items with a TTL). */
export interface DedupeStore {
  /** Claims each messageId; true where the id was not claimed within the window (the event is new). */
  claim(messageIds: string[]): Promise<boolean[]>;
  /** Gives claims back (events the stream did not take), so their resend is not answered DUPLICATE. */
  release(messageIds: string[]): Promise<void>;
}

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

/** Where to start reading a shard. */
export type ShardPosition =
  { type: 'TRIM_HORIZON' } | { type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string };

export interface ShardDescription {
  shardId: string;
  /** The shards this one was split or merged from; they are read to their end first. */
  parentShardIds: string[];
}

export interface ShardRecord {
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  approximateArrivalTimestamp: Date;
}

export interface ShardRead {
  records: ShardRecord[];
  /** Undefined once a closed shard has been read to its end. */
  nextIterator: string | undefined;
  millisBehindLatest: number | undefined;
}

/** The consumer side of the event stream (Kinesis GetRecords), for the local poller. */
export interface StreamReader {
  /** The stream's ARN and region, as Lambda puts them on every record. */
  describe(): Promise<{ streamArn: string; region: string }>;
  /** Every shard of the stream, open and closed. */
  listShards(): Promise<ShardDescription[]>;
  /** An iterator for reading a shard from a position. */
  shardIterator(shardId: string, position: ShardPosition): Promise<string>;
  /** Reads up to `limit` records; throws ExpiredIteratorError when the iterator is too old. */
  getRecords(iterator: string, limit: number): Promise<ShardRead>;
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

/** One delivered event as the hot tier sees it, with its place in the stream. */
export interface HotActivity {
  profileId: string;
  messageId: string;
  event: string;
  /** Event time, ISO 8601. */
  timestamp: string;
  /** Edge time, ISO 8601. */
  receivedAt: string;
  shardId: string;
  sequenceNumber: string;
  /**
   * Every item the event is about, each once, from its schema's item keywords: one for a product
   * view, each product of an order; empty when none. Each gets the event's interaction.
   */
  itemIds: string[];
  /** The traits an `identify` event sets; null for other events. */
  traits: Record<string, unknown> | null;
}

export interface UserProfileRecord extends ProfileState {
  id: string;
}

export interface ItemRecord {
  id: string;
  stats: ItemStatsState;
  /** Best first. */
  neighbours: NeighbourEntry[];
}

/** The hot tier (DynamoDB): profiles, item stats and neighbours, trending. */
export interface HotStore {
  /**
   * Applies a batch of activity, one write per key. Idempotent: a record at or below a key's
   * per-shard sequence watermark, or whose messageId another record already carried, changes nothing.
   */
  applyActivity(activity: HotActivity[]): Promise<void>;
  /** Reads one profile, or null when the id has never been seen. */
  getUser(id: string): Promise<UserProfileRecord | null>;
  /** Reads one item's stats and neighbours, or null when the item has never been seen. */
  getItem(id: string): Promise<ItemRecord | null>;
  /** Reads the neighbour lists of several items at once; items without neighbours are absent. */
  getNeighbours(itemIds: string[]): Promise<Map<string, NeighbourEntry[]>>;
  /** Reads the trend of one event (null: every item event) in one window, or null when empty. */
  getTrend(event: string | null, window: TrendWindow): Promise<TrendState | null>;
}

export type Granularity = 'HOUR' | 'DAY' | 'WEEK';

/** The only columns a client may group by; each maps to one fixed warehouse column. */
export type Dimension =
  | 'EVENT'
  | 'UTM_SOURCE'
  | 'UTM_MEDIUM'
  | 'UTM_CAMPAIGN'
  | 'BROWSER'
  | 'OS'
  | 'DEVICE_TYPE'
  | 'REFERRER_CLASS';

export interface EventCountsQuery {
  from: Date;
  to: Date;
  granularity: Granularity;
  events?: string[];
  /** Rows are grouped by bucket and exactly these dimensions; undefined means `['EVENT']`. */
  groupBy?: Dimension[];
  /**
   * Whether to count distinct users (default true). Counting them is most of the query's cost, as
   * it deduplicates every (bucket, group, user); false leaves `users` null.
   */
  users?: boolean;
}

export interface DimensionValue {
  dimension: Dimension;
  value: string | null;
}

export interface EventCountRow {
  bucket: Date;
  /** The event name when the rows are grouped by EVENT, else null. */
  event: string | null;
  count: number;
  /** Distinct users; null when the query asked not to count them. */
  users: number | null;
  /** One entry per grouped dimension, in the order asked for. */
  dimensions: DimensionValue[];
}

export interface UniqueUsersQuery {
  from: Date;
  to: Date;
  event?: string;
}

export interface FunnelQuery {
  steps: string[];
  from: Date;
  to: Date;
  windowHours: number;
}

export interface FunnelStepRow {
  event: string;
  users: number;
}

export interface RetentionQuery {
  startEvent: string;
  returnEvent: string;
  from: Date;
  to: Date;
  period: Granularity;
}

export interface CohortRow {
  start: Date;
  users: number;
  /** `returned[k]`: cohort users who did the return event k periods after `start`. */
  returned: number[];
}

export interface TopItemsQuery {
  event: string;
  from: Date;
  to: Date;
  limit: number;
}

export interface ItemCountRow {
  itemId: string;
  count: number;
  users: number;
}

export interface WarehouseStatusRow {
  rows: number;
  /** Everything delivered before this time is queryable; null before the first load. */
  dataAsOf: Date | null;
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
  /** Distinct users (userId, else anonymousId) with events in [from, to), optionally of one event. */
  uniqueUsers(query: UniqueUsersQuery): Promise<number>;
  /** Users reaching each step in order, every step within windowHours of step 1, all in [from, to). */
  funnel(query: FunnelQuery): Promise<FunnelStepRow[]>;
  /** Cohorts by period of each user's first startEvent in [from, to), with returnEvent activity per period. */
  retention(query: RetentionQuery): Promise<CohortRow[]>;
  /** The items with the most events of one name in [from, to), most first. */
  topItems(query: TopItemsQuery): Promise<ItemCountRow[]>;
  /** Row count and freshness. */
  status(): Promise<WarehouseStatusRow>;
  /**
   * A token that changes whenever this process sees the data change (a load inserted rows), so
   * cached results can be dropped at once; undefined when loads happen elsewhere.
   */
  dataVersion(): number | undefined;
  close(): Promise<void>;
}

export interface LoadReport {
  /** Lake files read (DuckDB) or COPYed into staging (Redshift). */
  files: number;
  /** Rows inserted into `events` and `failed_events` (duplicates are not counted). */
  rows: number;
}

/**
 * Loads what was delivered into the warehouse, rows unique by messageId: lake files, each once,
 * locally; in Redshift, new lake files COPYed into staging tables, then merged.
 */
export interface WarehouseLoader {
  /** Loads everything delivered and not loaded before. */
  loadNew(): Promise<LoadReport>;
}

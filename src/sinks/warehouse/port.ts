import type { FailedEvent, FailureType } from '../../events/types';

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

/**
 * Whom distinct counts count. PERSON: an event counts for the person its user key (userId, else
 * anonymousId) is linked to in `identities`, else for the key itself. RAW_ID: for the key itself.
 */
export type IdentityMode = 'PERSON' | 'RAW_ID';

/** What counts distinct users: undefined means PERSON. */
export interface CountsPeople {
  identity?: IdentityMode;
}

export interface EventCountsQuery extends CountsPeople {
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

export interface UniqueUsersQuery extends CountsPeople {
  from: Date;
  to: Date;
  event?: string;
}

export interface FunnelQuery extends CountsPeople {
  steps: string[];
  from: Date;
  to: Date;
  windowHours: number;
}

export interface FunnelStepRow {
  event: string;
  users: number;
}

export interface RetentionQuery extends CountsPeople {
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
  /** Counts events and distinct users (persons, or user keys with RAW_ID) per time bucket and event name, in [from, to). */
  eventCounts(query: EventCountsQuery): Promise<EventCountRow[]>;
  /** Failed events received in [from, to), newest first. */
  failedEvents(query: FailedEventsQuery): Promise<FailedEvent[]>;
  /** Distinct users (persons, or user keys with RAW_ID) with events in [from, to), optionally of one event. */
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

/** What erasing a person removed, per table: the rows that named one of the person's ids. */
export interface ErasureCounts {
  events: number;
  failedEvents: number;
  identityClaims: number;
  userIds: number;
  identities: number;
  /** The user numbers DuckDB counts people by; always 0 in Redshift, which has none. */
  userNumbers: number;
}

/**
 * Erases people (docs/privacy.md#deletion); WarehousePersonEraser makes it a deletion step. Runs
 * where the loads run, so that no load puts back what it deleted (each engine says how).
 */
export interface WarehousePersonRows {
  /** Deletes every row naming one of the ids, in one transaction; idempotent. */
  erasePerson(ids: readonly string[]): Promise<ErasureCounts>;
}

/** How long the warehouse keeps rows, in days (docs/privacy.md#retention). */
export interface WarehouseRetention {
  /** Events, by event time, counted back from the start of the UTC day. */
  eventsDays: number;
  /** Failed events, by the time they were received. */
  failedEventsDays: number;
}

/** What a retention purge removed. */
export interface PurgeCounts {
  events: number;
  failedEvents: number;
}

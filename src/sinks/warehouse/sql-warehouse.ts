import type { FailedEvent } from '../../events/types';
import type {
  CohortRow,
  EventCountRow,
  EventCountsQuery,
  FailedEventsQuery,
  FunnelQuery,
  FunnelStepRow,
  ItemCountRow,
  RetentionQuery,
  TopItemsQuery,
  UniqueUsersQuery,
} from './port';
import type { WarehouseQueries } from './queries';

/**
 * The questions every SQL warehouse answers the same way: one query builder, given the engine's
 * dialect and a way to run a statement, so DuckDB and Redshift give the same numbers.
 */
export abstract class SqlWarehouse {
  protected abstract readonly queries: WarehouseQueries;

  /** Counts events and distinct users (userId, else anonymousId) per UTC bucket and dimensions, in [from, to). */
  eventCounts(query: EventCountsQuery): Promise<EventCountRow[]> {
    return this.queries.eventCounts(query);
  }

  /** Failed events received in [from, to), newest first, optionally of one type or event. */
  failedEvents(query: FailedEventsQuery): Promise<FailedEvent[]> {
    return this.queries.failedEvents(query);
  }

  /** Distinct users with events in [from, to), optionally of one event. */
  uniqueUsers(query: UniqueUsersQuery): Promise<number> {
    return this.queries.uniqueUsers(query);
  }

  /** Users reaching each funnel step, in order and within the window. */
  funnel(query: FunnelQuery): Promise<FunnelStepRow[]> {
    return this.queries.funnel(query);
  }

  /** Retention cohorts by period. */
  retention(query: RetentionQuery): Promise<CohortRow[]> {
    return this.queries.retention(query);
  }

  /** The items with the most events of one name. */
  topItems(query: TopItemsQuery): Promise<ItemCountRow[]> {
    return this.queries.topItems(query);
  }
}

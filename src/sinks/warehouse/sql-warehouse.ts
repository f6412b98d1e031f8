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
  WarehouseStatusRow,
} from './port';
import type { SqlDialect } from './dialect';
import { WarehouseQueries } from './queries';
import type { SqlParams, SqlRow } from './queries';

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

/** Runs one statement in a warehouse service and returns its rows. */
export interface StatementRunner {
  query(sql: string, params?: SqlParams): Promise<SqlRow[]>;
}

/**
 * A SQL warehouse whose statements run in a service (Redshift's Data API, Athena) and whose loads
 * run in another function: the analytics queries go through the service in the engine's dialect,
 * and status is one row read back (`row_count`, and `as_of_ms`, the start of the last load that
 * merged). This process never sees data change, so it has no data version to offer caches.
 */
export abstract class RemoteSqlWarehouse<Api extends StatementRunner> extends SqlWarehouse {
  protected override readonly queries: WarehouseQueries;

  constructor(
    protected readonly api: Api,
    dialect: SqlDialect,
    private readonly statusSql: string,
  ) {
    super();
    this.queries = new WarehouseQueries(dialect, (query) => this.api.query(query.sql, query.params));
  }

  /** Row count, and the start of the last load that merged as freshness. */
  async status(): Promise<WarehouseStatusRow> {
    const [row] = await this.api.query(this.statusSql);
    const asOf = row?.as_of_ms;
    return {
      rows: Number(row?.row_count ?? 0),
      dataAsOf: asOf === null || asOf === undefined ? null : new Date(Number(asOf)),
    };
  }

  /** Loads run in another function, so this process cannot tell when data changes. */
  dataVersion(): undefined {
    return undefined;
  }

  /** The service's client belongs to whoever built it; nothing to release here. */
  async close(): Promise<void> {
    return Promise.resolve();
  }
}

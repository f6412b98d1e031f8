import type { EventCountRow, EventCountsQuery, Warehouse } from '../sinks/ports';
import { badUserInput, warehouseUnavailable } from './errors';

/** At most this many buckets per query, so one request cannot ask the warehouse for years of hours. */
export const MAX_BUCKETS = 24 * 400;
const BUCKET_MS = { HOUR: 3_600_000, DAY: 86_400_000 } as const;

/** Aggregates for analysts; every argument is checked here and bound as a parameter by the adapter. */
export class AnalyticsService {
  constructor(private readonly warehouse: Warehouse | undefined) {}

  /** Events and distinct users per bucket in [from, to). */
  async eventCounts(query: EventCountsQuery): Promise<EventCountRow[]> {
    if (!(query.from.getTime() < query.to.getTime())) throw badUserInput('from must be before to');
    const buckets = (query.to.getTime() - query.from.getTime()) / BUCKET_MS[query.granularity];
    if (buckets > MAX_BUCKETS) {
      throw badUserInput(`the range holds ${Math.ceil(buckets)} buckets; at most ${MAX_BUCKETS} are allowed`);
    }
    if (!this.warehouse) throw warehouseUnavailable();
    return this.warehouse.eventCounts(query);
  }
}

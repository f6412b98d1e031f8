import type {
  CohortRow,
  CountsPeople,
  EventCountRow,
  EventCountsQuery,
  FunnelQuery,
  Granularity,
  ItemCountRow,
  RetentionQuery,
  TopItemsQuery,
  UniqueUsersQuery,
  Warehouse,
  WarehouseStatusRow,
} from '../sinks/warehouse/port';
import { WarehouseError } from '../sinks/warehouse/errors';
import { MAX_FUNNEL_STEPS, MAX_TOP_ITEMS, PERIODS } from '../sinks/warehouse/queries';
import { badUserInput, warehouseUnavailable } from './errors';

/** At most this many buckets per query, so one request cannot ask the warehouse for years of hours. */
export const MAX_BUCKETS = 24 * 400;
/** How long a result may be served from memory; the schema descriptions quote it. */
export const CACHE_TTL_SECONDS = 30;
const CACHE_MAX_ENTRIES = 500;
const MAX_NAME_LENGTH = 200;
const MAX_EVENT_FILTER = 100;
const MAX_WINDOW_HOURS = 24 * 366;

export interface Fresh {
  dataAsOf: Date | null;
}
export interface FunnelStepResult {
  event: string;
  users: number;
  /** Share of step-1 users who reached this step, 0..1 (0 when nobody did step 1). */
  conversion: number;
}

interface CacheEntry {
  expiresAt: number;
  version: number | undefined;
  value: unknown;
}

export const DEFAULT_MAX_RANGE_DAYS = 400;
const DAY_MS = 86_400_000;

/**
 * Aggregates for analysts. Every argument is checked here and bound as a parameter by the adapter.
 * Results are cached for CACHE_TTL_SECONDS, and dropped earlier when the warehouse reports that a
 * load in this process changed the data.
 */
export class AnalyticsService {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly warehouse: Warehouse | undefined,
    private readonly now: () => number = Date.now,
    /** The longest range a query may span: a bound on what one request makes the warehouse scan. */
    private readonly maxRangeDays = DEFAULT_MAX_RANGE_DAYS,
  ) {}

  /** Events and distinct users (persons by default) per bucket (and dimensions) in [from, to). */
  async eventCounts(asked: EventCountsQuery): Promise<EventCountRow[]> {
    const query = countingPersons(asked);
    checkRange(query.from, query.to, this.maxRangeDays);
    const buckets = (query.to.getTime() - query.from.getTime()) / PERIODS[query.granularity].sizeMs;
    if (buckets > MAX_BUCKETS) {
      throw badUserInput(`the range holds ${Math.ceil(buckets)} buckets; at most ${MAX_BUCKETS} are allowed`);
    }
    if (query.events !== undefined) {
      if (query.events.length > MAX_EVENT_FILTER) {
        throw badUserInput(`at most ${MAX_EVENT_FILTER} event names may be given`);
      }
      query.events.forEach((name) => checkName('events', name));
    }
    const groupBy = query.groupBy === undefined ? undefined : [...new Set(query.groupBy)];
    return this.cached('eventCounts', { ...query, groupBy }, (wh) => wh.eventCounts({ ...query, groupBy }));
  }

  /** Distinct users (persons by default) in [from, to), optionally of one event. */
  async uniqueUsers(asked: UniqueUsersQuery): Promise<{ count: number } & Fresh> {
    const query = countingPersons(asked);
    checkRange(query.from, query.to, this.maxRangeDays);
    if (query.event !== undefined) checkName('event', query.event);
    return this.withFreshness('uniqueUsers', query, async (wh) => ({ count: await wh.uniqueUsers(query) }));
  }

  /** Users (persons by default) reaching each step in order within the window, and their conversion from step 1. */
  async funnel(asked: FunnelQuery): Promise<{ steps: FunnelStepResult[] } & Fresh> {
    const query = countingPersons(asked);
    checkRange(query.from, query.to, this.maxRangeDays);
    if (query.steps.length < 1 || query.steps.length > MAX_FUNNEL_STEPS) {
      throw badUserInput(`a funnel has 1 to ${MAX_FUNNEL_STEPS} steps`);
    }
    query.steps.forEach((name) => checkName('steps', name));
    checkInteger('windowHours', query.windowHours, 1, MAX_WINDOW_HOURS);
    return this.withFreshness('funnel', query, async (wh) => {
      const rows = await wh.funnel(query);
      const first = rows[0]?.users ?? 0;
      return { steps: rows.map((row) => ({ ...row, conversion: first === 0 ? 0 : row.users / first })) };
    });
  }

  /** Retention cohorts (of persons by default) by period. */
  async retention(asked: RetentionQuery): Promise<{ cohorts: CohortRow[] } & Fresh> {
    const query = countingPersons(asked);
    checkRange(query.from, query.to, this.maxRangeDays);
    checkName('startEvent', query.startEvent);
    checkName('returnEvent', query.returnEvent);
    checkBuckets(query.from, query.to, query.period, 1000);
    return this.withFreshness('retention', query, async (wh) => ({ cohorts: await wh.retention(query) }));
  }

  /** The items with the most events of one name. */
  async topItems(query: TopItemsQuery): Promise<{ items: ItemCountRow[] } & Fresh> {
    checkRange(query.from, query.to, this.maxRangeDays);
    checkName('event', query.event);
    checkInteger('limit', query.limit, 1, MAX_TOP_ITEMS);
    return this.withFreshness('topItems', query, async (wh) => ({ items: await wh.topItems(query) }));
  }

  /** Row count and freshness, never cached. */
  async status(): Promise<WarehouseStatusRow> {
    return this.call((wh) => wh.status());
  }

  private withFreshness<T extends object>(
    name: string,
    query: object,
    compute: (warehouse: Warehouse) => Promise<T>,
  ): Promise<T & Fresh> {
    return this.cached(name, query, async (wh) => {
      const [value, status] = await Promise.all([compute(wh), wh.status()]);
      return { ...value, dataAsOf: status.dataAsOf };
    });
  }

  private async cached<T>(
    name: string,
    query: object,
    compute: (warehouse: Warehouse) => Promise<T>,
  ): Promise<T> {
    const warehouse = this.requireWarehouse();
    const key = `${name}:${JSON.stringify(query)}`;
    const version = warehouse.dataVersion();
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.expiresAt > this.now() && hit.version === version) return hit.value as T;
    const value = await this.call(compute);
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.evictExpiredOrOldest();
    this.cache.set(key, { expiresAt: this.now() + CACHE_TTL_SECONDS * 1000, version, value });
    return value;
  }

  private async call<T>(compute: (warehouse: Warehouse) => Promise<T>): Promise<T> {
    const warehouse = this.requireWarehouse();
    try {
      return await compute(warehouse);
    } catch (error) {
      // The service checks first, so this is a bug or a limit it does not know; still the client's input.
      if (error instanceof WarehouseError && error.code === 'WAREHOUSE_INVALID_QUERY') {
        throw badUserInput(error.message);
      }
      throw error;
    }
  }

  private requireWarehouse(): Warehouse {
    if (!this.warehouse) throw warehouseUnavailable();
    return this.warehouse;
  }

  private evictExpiredOrOldest(): void {
    const now = this.now();
    for (const [key, entry] of this.cache) if (entry.expiresAt <= now) this.cache.delete(key);
    // Map iteration is insertion order, so the first key is the oldest entry.
    const oldest = this.cache.keys().next();
    if (this.cache.size >= CACHE_MAX_ENTRIES && oldest.done !== true) this.cache.delete(oldest.value);
  }
}

/** The query with its identity mode spelled out, so both spellings of the default share a cache entry. */
function countingPersons<T extends CountsPeople>(query: T): T {
  return { ...query, identity: query.identity ?? 'PERSON' };
}

function checkRange(from: Date, to: Date, maxDays: number): void {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()))
    throw badUserInput('from and to must be dates');
  if (!(from.getTime() < to.getTime())) throw badUserInput('from must be before to');
  if (to.getTime() - from.getTime() > maxDays * DAY_MS)
    throw badUserInput(`the range spans more than ${maxDays} days, the most a query may span`);
}

function checkBuckets(from: Date, to: Date, granularity: Granularity, max: number): void {
  const buckets = (to.getTime() - from.getTime()) / PERIODS[granularity].sizeMs;
  if (buckets > max)
    throw badUserInput(`the range holds ${Math.ceil(buckets)} periods; at most ${max} are allowed`);
}

function checkName(argument: string, value: string): void {
  if (value.length === 0 || value.length > MAX_NAME_LENGTH) {
    throw badUserInput(`${argument}: names are 1 to ${MAX_NAME_LENGTH} characters long`);
  }
}

function checkInteger(argument: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw badUserInput(`${argument} must be an integer from ${min} to ${max}`);
  }
}

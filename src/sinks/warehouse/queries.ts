import type { FailedEvent, FailureType } from '../../events/types';
import type {
  CohortRow,
  Dimension,
  EventCountRow,
  EventCountsQuery,
  FailedEventsQuery,
  FunnelQuery,
  FunnelStepRow,
  Granularity,
  IdentityMode,
  ItemCountRow,
  RetentionQuery,
  TopItemsQuery,
  UniqueUsersQuery,
} from './port';
import { WarehouseError } from './errors';
import type { SqlDialect } from './dialect';

/**
 * The analytics queries, written once for both engines. Client values only ever travel as named
 * parameters (all text, as the Redshift Data API requires); the SQL text is assembled solely from
 * the allow-lists below and from integers this module has checked.
 */

export type SqlParams = Record<string, string>;
export interface SqlQuery {
  sql: string;
  params: SqlParams;
}
export type SqlRow = Record<string, unknown>;
/** Runs one statement with named parameters and returns its rows as plain objects. */
export type SqlRunner = (query: SqlQuery) => Promise<SqlRow[]>;

/** Allow-list: the one column each dimension may read. */
export const DIMENSION_COLUMNS: Readonly<Record<Dimension, string>> = {
  EVENT: 'event',
  UTM_SOURCE: 'utm_source',
  UTM_MEDIUM: 'utm_medium',
  UTM_CAMPAIGN: 'utm_campaign',
  BROWSER: 'browser',
  OS: 'os',
  DEVICE_TYPE: 'device_type',
  REFERRER_CLASS: 'referrer_class',
};

/**
 * Allow-list: bucket sizes in milliseconds. Buckets are computed on epoch milliseconds rather than
 * with date_trunc so both engines cut them identically; weeks start on Monday 00:00 UTC (ISO),
 * and 1970-01-05 was the first Monday after the epoch.
 */
export const PERIODS: Readonly<Record<Granularity, { sizeMs: number; offsetMs: number }>> = {
  HOUR: { sizeMs: 3_600_000, offsetMs: 0 },
  DAY: { sizeMs: 86_400_000, offsetMs: 0 },
  WEEK: { sizeMs: 604_800_000, offsetMs: 4 * 86_400_000 },
};

/** Funnels longer than this are refused: each step is one more self-join. */
export const MAX_FUNNEL_STEPS = 10;
export const MAX_TOP_ITEMS = 1000;

function period(granularity: Granularity): { sizeMs: number; offsetMs: number } {
  const found = PERIODS[granularity];
  if (found === undefined) {
    throw new WarehouseError(`unknown granularity "${String(granularity)}"`, 'WAREHOUSE_INVALID_QUERY');
  }
  return found;
}

/** The start of the bucket holding `ms`, computed exactly as the SQL does. */
export function bucketStartMs(ms: number, granularity: Granularity): number {
  const { sizeMs, offsetMs } = period(granularity);
  return ms - ((((ms - offsetMs) % sizeMs) + sizeMs) % sizeMs);
}

/** The start of the bucket holding the epoch milliseconds `msExpr`, in SQL: bucketStartMs's twin. */
export function bucketSql(msExpr: string, granularity: Granularity): string {
  const { sizeMs, offsetMs } = period(granularity);
  return `(${msExpr} - (((${msExpr} - ${offsetMs}) % ${sizeMs}) + ${sizeMs}) % ${sizeMs})`;
}

function checkRange(from: Date, to: Date): void {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
    throw new WarehouseError('from and to must be valid dates', 'WAREHOUSE_INVALID_QUERY');
  }
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new WarehouseError(`${name} must be an integer in [${min}, ${max}]`, 'WAREHOUSE_INVALID_QUERY');
  }
  return value;
}

function dimensionColumn(dimension: Dimension): string {
  const column = DIMENSION_COLUMNS[dimension];
  if (column === undefined) {
    throw new WarehouseError(`unknown dimension "${String(dimension)}"`, 'WAREHOUSE_INVALID_QUERY');
  }
  return column;
}

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));
const strOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : String(value);

/** Builds parameters and the placeholders naming them, so only referenced parameters are bound. */
class Params {
  readonly values: SqlParams = {};
  constructor(private readonly dialect: SqlDialect) {}

  text(name: string, value: string): string {
    this.values[name] = value;
    return this.dialect.param(name);
  }

  timestamp(name: string, value: Date): string {
    this.values[name] = value.toISOString();
    return this.dialect.timestampParam(name);
  }

  bigint(name: string, value: number): string {
    this.values[name] = String(value);
    return this.dialect.bigintParam(name);
  }

  /** `col IN (:prefix0, :prefix1, …)`: one placeholder per value. */
  inList(column: string, prefix: string, values: readonly string[]): string {
    return `${column} IN (${values.map((v, i) => this.text(`${prefix}${i}`, v)).join(', ')})`;
  }

  range(from: Date, to: Date, column = 'event_time'): string {
    return `${column} >= ${this.timestamp('from', from)} AND ${column} < ${this.timestamp('to', to)}`;
  }
}

/** A table of events (or of per-person rows), and the expression naming each row's person there. */
interface People {
  from: string;
  person: string;
}

/** The analytics side of a warehouse, for any engine given its dialect and a statement runner. */
export class WarehouseQueries {
  constructor(
    private readonly dialect: SqlDialect,
    private readonly run: SqlRunner,
  ) {}

  /**
   * Where to read `table`'s rows, whose `userColumn` holds each row's user key in the engine's form,
   * and whom each counts for: with PERSON (the default), the person `identities` links the key to,
   * else the key itself; with RAW_ID, the key. Joined when read, never stored with the rows, so a
   * link the loader adds later applies to every event already loaded.
   */
  private people(
    identity: IdentityMode | undefined,
    table = 'events',
    userColumn = this.dialect.userColumn,
  ): People {
    if (identity === 'RAW_ID') return { from: table, person: userColumn };
    return {
      from: `${table} LEFT JOIN identities p ON p.${this.dialect.identityKey} = ${table}.${userColumn}`,
      person: `coalesce(p.${this.dialect.identityPerson}, ${table}.${userColumn})`,
    };
  }

  /**
   * Events and distinct users per bucket and per combination of the grouped dimensions. By day and
   * event, on an engine whose loader keeps `eventUserDays`, the whole days of the range are read
   * from that table and only the partial days at its ends from `events`.
   */
  async eventCounts(query: EventCountsQuery): Promise<EventCountRow[]> {
    checkRange(query.from, query.to);
    const groupBy = query.groupBy ?? ['EVENT'];
    const columns = groupBy.map(dimensionColumn);
    if (query.events !== undefined && query.events.length === 0) return [];
    const p = new Params(this.dialect);
    // Bound first, so the parameters come in the order of the other queries: range, then events.
    // With whole days read elsewhere, `events` answers for the range minus those days.
    const range = p.range(query.from, query.to);
    const eventFilter = query.events === undefined ? [] : [p.inList('event', 'e', query.events)];
    const countUsers = query.users ?? true;
    const bucket = bucketSql(this.dialect.epochMs('event_time'), query.granularity);
    const keys = ['bucket_ms', ...columns.map((_, i) => `d${i}`)];
    // Without users, nobody is counted: no join for persons.
    const events = this.people(countUsers ? query.identity : 'RAW_ID');
    const fromEvents = (times: string) => `
      SELECT ${bucket} AS bucket_ms${columns.map((c, i) => `, ${c} AS d${i}`).join('')},
             count(*) AS n${countUsers ? `, count(DISTINCT ${events.person}) AS users` : ''}
      FROM ${events.from}
      WHERE (${times})${eventFilter.map((f) => ` AND ${f}`).join('')}
      GROUP BY ${keys.map((_, i) => i + 1).join(', ')}`;
    const order = `ORDER BY ${keys.map((k) => `${k} NULLS LAST`).join(', ')}`;

    const days = this.wholeDays(query, groupBy);
    const dayRows = days && this.wholeDayRows(days.table, countUsers, query.identity);
    const sql =
      days === undefined || dayRows === undefined
        ? `${fromEvents(range)} ${order}`
        : `SELECT * FROM (
             SELECT day_ms AS bucket_ms, event AS d0, sum(events) AS n${dayRows.users}
             FROM ${dayRows.from}
             WHERE day_ms >= ${p.bigint('fromDayMs', days.from)} AND day_ms < ${p.bigint('toDayMs', days.to)}${eventFilter.map((f) => ` AND ${f}`).join('')}
             GROUP BY 1, 2
             UNION ALL
             ${fromEvents(
               `${range} AND NOT (event_time >= ${p.timestamp('fromDay', new Date(days.from))}` +
                 ` AND event_time < ${p.timestamp('toDay', new Date(days.to))})`,
             )}
           ) ${order}`;
    const rows = await this.run({ sql, params: p.values });
    const eventIndex = groupBy.indexOf('EVENT');
    return rows.map((row) => ({
      bucket: new Date(num(row.bucket_ms)),
      event: eventIndex < 0 ? null : strOrNull(row[`d${eventIndex}`]),
      count: num(row.n),
      users: countUsers ? num(row.users) : null,
      dimensions: groupBy.map((dimension, i) => ({ dimension, value: strOrNull(row[`d${i}`]) })),
    }));
  }

  /**
   * Where eventCounts reads whole days from the `eventUserDays` table, and how it counts their
   * users. The table's rows are one per day, event and user key, so RAW_ID counts rows. PERSON maps
   * the keys through identities when read rather than folding persons into the table: a link the
   * loader adds later would otherwise mean rewriting every past day of the ids it joins. Distinct
   * persons over distinct keys is exact, and right however late the link arrives.
   */
  private wholeDayRows(
    table: string,
    countUsers: boolean,
    identity: IdentityMode | undefined,
  ): { from: string; users: string } {
    if (!countUsers) return { from: table, users: '' };
    if (identity === 'RAW_ID') return { from: table, users: ', count(user_num) AS users' };
    const rows = this.people(identity, table, 'user_num');
    return { from: rows.from, users: `, count(DISTINCT ${rows.person}) AS users` };
  }

  /**
   * The whole UTC days of [from, to) that an eventCounts by day and event can read from the
   * engine's `eventUserDays` table, as [from, to) in epoch milliseconds; undefined when the engine
   * keeps no such table, the query asks for something else, or the range holds no whole day.
   */
  private wholeDays(
    query: EventCountsQuery,
    groupBy: readonly Dimension[],
  ): { table: string; from: number; to: number } | undefined {
    const table = this.dialect.eventUserDays;
    if (
      table === undefined ||
      query.granularity !== 'DAY' ||
      groupBy.length !== 1 ||
      groupBy[0] !== 'EVENT'
    ) {
      return undefined;
    }
    const fromMs = query.from.getTime();
    const firstDay = bucketStartMs(fromMs, 'DAY');
    const from = firstDay === fromMs ? firstDay : firstDay + PERIODS.DAY.sizeMs;
    const to = bucketStartMs(query.to.getTime(), 'DAY');
    return from < to ? { table, from, to } : undefined;
  }

  /** Distinct users with events in [from, to), optionally of one event name. */
  async uniqueUsers(query: UniqueUsersQuery): Promise<number> {
    checkRange(query.from, query.to);
    const p = new Params(this.dialect);
    const where = [p.range(query.from, query.to)];
    if (query.event !== undefined) where.push(`event = ${p.text('event', query.event)}`);
    const events = this.people(query.identity);
    const [row] = await this.run({
      sql: `SELECT count(DISTINCT ${events.person}) AS users FROM ${events.from} WHERE ${where.join(' AND ')}`,
      params: p.values,
    });
    return num(row?.users);
  }

  /**
   * For each occurrence of step 1, the earliest next step at or after the previous one and within
   * the window is taken (greedy, which is optimal for a fixed start), and a user counts for step k
   * when any start reaches it. A step that repeats an earlier step's event must be strictly later,
   * so one event never fills two steps.
   */
  async funnel(query: FunnelQuery): Promise<FunnelStepRow[]> {
    checkRange(query.from, query.to);
    checkInteger('number of steps', query.steps.length, 1, MAX_FUNNEL_STEPS);
    const windowMs = checkInteger('windowHours', query.windowHours, 1, 24 * 366) * 3_600_000;
    const p = new Params(this.dialect);
    // `person` is in the engine's form of the user column (see SqlDialect.userColumn).
    const events = this.people(query.identity);
    const names = [...new Set(query.steps)];
    const stepParam = (i: number) =>
      p.text(`s${names.indexOf(query.steps[i] as string)}`, query.steps[i] as string);
    const ctes = [
      `steps AS (
        SELECT ${events.person} AS person, event, ${this.dialect.epochMs('event_time')} AS t
        FROM ${events.from}
        WHERE ${p.range(query.from, query.to)} AND ${p.inList('event', 's', names)} AND ${events.person} IS NOT NULL)`,
      `f0 AS (SELECT person, t AS t0, t AS tk FROM steps WHERE event = ${stepParam(0)})`,
    ];
    // Bound only when a step joins on it: DuckDB rejects a bound parameter the SQL never uses.
    const window = query.steps.length > 1 ? p.bigint('window_ms', windowMs) : '';
    for (let k = 1; k < query.steps.length; k += 1) {
      const after = query.steps.slice(0, k).includes(query.steps[k] as string) ? '>' : '>=';
      ctes.push(`f${k} AS (
        SELECT f.person, f.t0, min(s.t) AS tk
        FROM f${k - 1} f JOIN steps s
          ON s.person = f.person AND s.event = ${stepParam(k)}
         AND s.t ${after} f.tk AND s.t <= f.t0 + ${window}
        GROUP BY f.person, f.t0)`);
    }
    const counts = query.steps.map((_, k) => `(SELECT count(DISTINCT person) FROM f${k}) AS u${k}`);
    const [row] = await this.run({
      sql: `WITH ${ctes.join(',\n')}\nSELECT ${counts.join(', ')}`,
      params: p.values,
    });
    return query.steps.map((event, k) => ({ event, users: num(row?.[`u${k}`]) }));
  }

  /** Cohorts by the period of each user's first startEvent in range; activity is returnEvent in range. */
  async retention(query: RetentionQuery): Promise<CohortRow[]> {
    checkRange(query.from, query.to);
    const { sizeMs } = period(query.period);
    const p = new Params(this.dialect);
    const start = p.text('start_event', query.startEvent);
    const ret = p.text('return_event', query.returnEvent);
    const inRange = p.range(query.from, query.to);
    const ms = this.dialect.epochMs;
    const events = this.people(query.identity);
    const sql = `
      WITH starts AS (
        SELECT ${events.person} AS person, min(event_time) AS first_time FROM ${events.from}
        WHERE ${inRange} AND event = ${start} AND ${events.person} IS NOT NULL
        GROUP BY 1),
      cohorts AS (SELECT person, ${bucketSql(ms('first_time'), query.period)} AS cohort_ms FROM starts),
      activity AS (
        SELECT DISTINCT ${events.person} AS person, ${bucketSql(ms('event_time'), query.period)} AS period_ms
        FROM ${events.from}
        WHERE ${inRange} AND event = ${ret} AND ${events.person} IS NOT NULL)
      SELECT cohort_ms, CAST(NULL AS BIGINT) AS period_ms, count(*) AS users FROM cohorts GROUP BY cohort_ms
      UNION ALL
      SELECT c.cohort_ms, a.period_ms, count(*) AS users
      FROM cohorts c JOIN activity a ON a.person = c.person AND a.period_ms >= c.cohort_ms
      GROUP BY c.cohort_ms, a.period_ms`;
    const rows = await this.run({ sql, params: p.values });
    const lastPeriod = bucketStartMs(query.to.getTime() - 1, query.period);
    const cohorts = new Map<number, CohortRow>();
    for (const row of rows.filter((r) => r.period_ms === null || r.period_ms === undefined)) {
      const startMs = num(row.cohort_ms);
      const length = Math.max(1, Math.round((lastPeriod - startMs) / sizeMs) + 1);
      cohorts.set(startMs, {
        start: new Date(startMs),
        users: num(row.users),
        returned: new Array<number>(length).fill(0),
      });
    }
    for (const row of rows.filter((r) => r.period_ms !== null && r.period_ms !== undefined)) {
      const cohort = cohorts.get(num(row.cohort_ms));
      const k = Math.round((num(row.period_ms) - num(row.cohort_ms)) / sizeMs);
      if (cohort !== undefined && k < cohort.returned.length) cohort.returned[k] = num(row.users);
    }
    return [...cohorts.values()].sort((a, b) => a.start.getTime() - b.start.getTime());
  }

  /** Items with the most events of one name in [from, to); ties go to the smaller itemId. */
  async topItems(query: TopItemsQuery): Promise<ItemCountRow[]> {
    checkRange(query.from, query.to);
    const limit = checkInteger('limit', query.limit, 1, MAX_TOP_ITEMS);
    const p = new Params(this.dialect);
    const rows = await this.run({
      sql: `
        SELECT item_id, count(*) AS n, count(DISTINCT ${this.dialect.userColumn}) AS users
        FROM events
        WHERE ${p.range(query.from, query.to)} AND event = ${p.text('event', query.event)} AND item_id IS NOT NULL
        GROUP BY item_id
        ORDER BY n DESC, item_id
        LIMIT ${limit}`,
      params: p.values,
    });
    return rows.map((row) => ({ itemId: String(row.item_id), count: num(row.n), users: num(row.users) }));
  }

  /** Failed events received in [from, to), newest first. */
  async failedEvents(query: FailedEventsQuery): Promise<FailedEvent[]> {
    checkRange(query.from, query.to);
    const limit = checkInteger('limit', query.limit, 1, 10_000);
    const p = new Params(this.dialect);
    const where = [p.range(query.from, query.to, 'received_at')];
    if (query.failureType !== undefined)
      where.push(`failure_type = ${p.text('failure_type', query.failureType)}`);
    if (query.event !== undefined) where.push(`event = ${p.text('event', query.event)}`);
    const rows = await this.run({
      sql: `
        SELECT message_id, failure_type, event, ${this.dialect.jsonText('errors')} AS errors, payload,
               payload_encoding, schema, ${this.dialect.epochMs('received_at')} AS received_ms, processor_version
        FROM failed_events
        WHERE ${where.join(' AND ')}
        ORDER BY received_at DESC, record_key
        LIMIT ${limit}`,
      params: p.values,
    });
    return rows.map((row) => ({
      messageId: strOrNull(row.message_id),
      failureType: String(row.failure_type) as FailureType,
      event: strOrNull(row.event),
      errors: JSON.parse(String(row.errors ?? '[]')) as FailedEvent['errors'],
      payload: String(row.payload ?? ''),
      payloadEncoding: row.payload_encoding === 'base64' ? 'base64' : 'utf8',
      schema: strOrNull(row.schema),
      receivedAt: new Date(num(row.received_ms)).toISOString(),
      processorVersion: String(row.processor_version ?? ''),
    }));
  }
}

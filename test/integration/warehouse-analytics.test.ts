import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { graphql } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import type { Principal } from '../../src/access/principal';
import { authChecker } from '../../src/api/auth-checker';
import type { StoredEvent } from '../../src/events/types';
import { AnalyticsResolver } from '../../src/resolvers/analytics.resolver';
import { AnalyticsService } from '../../src/services/analytics-service';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb/duckdb-warehouse';
import { seededRandom } from '../../scripts/simulation/random';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const FROM = new Date('2024-05-01T00:00:00.000Z');
const TO = new Date('2024-05-22T00:00:00.000Z');
const EVENTS = ['page_viewed', 'product_viewed', 'product_added_to_cart', 'order_completed'] as const;
const SOURCES = [null, 'newsletter', 'google'] as const;
const BROWSERS = ['Chrome', 'Firefox', 'Safari'] as const;

/** The simulator's seeded generator: the same data on every run. */
const random = (seed: number): (() => number) => seededRandom(seed).next;

function pick<T>(rand: () => number, values: readonly T[]): T {
  return values[Math.floor(rand() * values.length)] as T;
}

/**
 * Sessions of 80 people (a fifth anonymous) over 25 days around a three-week range: a few events
 * each, minutes to hours apart, so funnels and retention have something to find at every window.
 */
function dataset(): StoredEvent[] {
  const rand = random(42);
  const events: StoredEvent[] = [];
  for (let session = 0; session < 400; session += 1) {
    const who = Math.floor(rand() * 80);
    const anonymous = who % 5 === 0;
    let time = FROM.getTime() - 2 * DAY + Math.floor(rand() * 25 * 86_400) * 1000;
    const length = 2 + Math.floor(rand() * 6);
    for (let n = 0; n < length; n += 1) {
      // Distinct milliseconds, so "in order" never depends on how ties are broken.
      time += Math.floor(rand() * 3 * HOUR) + events.length;
      const event = n === 0 && rand() < 0.6 ? 'page_viewed' : pick(rand, EVENTS);
      events.push({
        messageId: `m-${events.length}`,
        event,
        userId: anonymous ? null : `user-${who}`,
        anonymousId: `anon-${who}`,
        sessionId: `s-${session}`,
        timestamp: new Date(time).toISOString(),
        sentAt: null,
        receivedAt: new Date(time + 1000).toISOString(),
        source: 'graphql',
        properties: {},
        context: {},
        processorVersion: 'test',
        itemId: event === 'page_viewed' ? null : `sku-${Math.floor(rand() * 12)}`,
        enrichment: {
          browser: pick(rand, BROWSERS),
          browserVersion: null,
          os: null,
          osVersion: null,
          deviceType: null,
          isBot: false,
          utmSource: pick(rand, SOURCES),
          utmMedium: null,
          utmCampaign: null,
          utmTerm: null,
          utmContent: null,
          referrerClass: null,
          referrerHost: null,
          clockSkewMs: null,
          timeFlag: null,
        },
      });
    }
  }
  return events;
}

// --- The answers, computed directly from the events, independently of the SQL -----------------

/** Code-unit order, as the engines sort text (no locale rules). */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const person = (e: StoredEvent): string => e.userId ?? (e.anonymousId as string);
const ms = (e: StoredEvent): number => Date.parse(e.timestamp);
const dayStart = (t: number): number =>
  Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth(), new Date(t).getUTCDate());
const weekStart = (t: number): number => dayStart(t) - ((new Date(t).getUTCDay() + 6) % 7) * DAY;

function inRange(events: StoredEvent[], from = FROM, to = TO): StoredEvent[] {
  return events.filter((e) => ms(e) >= from.getTime() && ms(e) < to.getTime());
}

function expectedCounts(
  events: StoredEvent[],
  bucketOf: (t: number) => number,
  keyOf: (e: StoredEvent) => string[],
  from = FROM,
  to = TO,
) {
  const groups = new Map<string, { bucket: number; key: string[]; count: number; users: Set<string> }>();
  for (const e of inRange(events, from, to)) {
    const key = keyOf(e);
    const id = JSON.stringify([bucketOf(ms(e)), key]);
    const group = groups.get(id) ?? { bucket: bucketOf(ms(e)), key, count: 0, users: new Set<string>() };
    group.count += 1;
    group.users.add(person(e));
    groups.set(id, group);
  }
  return [...groups.values()]
    .map((g) => ({
      bucket: new Date(g.bucket).toISOString(),
      key: g.key,
      count: g.count,
      users: g.users.size,
    }))
    .sort((a, b) => compare(a.bucket, b.bucket) || compare(JSON.stringify(a.key), JSON.stringify(b.key)));
}

function expectedFunnel(events: StoredEvent[], steps: string[], windowHours: number): number[] {
  const reached = steps.map(() => new Set<string>());
  const byPerson = new Map<string, StoredEvent[]>();
  for (const e of inRange(events)) byPerson.set(person(e), [...(byPerson.get(person(e)) ?? []), e]);
  for (const [who, own] of byPerson) {
    const sorted = own.sort((a, b) => ms(a) - ms(b));
    sorted.forEach((start, i) => {
      if (start.event !== steps[0]) return;
      reached[0]?.add(who);
      let at = i;
      for (let k = 1; k < steps.length; k += 1) {
        const next = sorted.findIndex(
          (e, j) => j > at && e.event === steps[k] && ms(e) <= ms(start) + windowHours * HOUR,
        );
        if (next < 0) return;
        reached[k]?.add(who);
        at = next;
      }
    });
  }
  return reached.map((s) => s.size);
}

function expectedRetention(events: StoredEvent[], startEvent: string, returnEvent: string) {
  const ranged = inRange(events);
  const first = new Map<string, number>();
  for (const e of ranged.filter((x) => x.event === startEvent)) {
    first.set(person(e), Math.min(first.get(person(e)) ?? Infinity, ms(e)));
  }
  const lastDay = dayStart(TO.getTime() - 1);
  const cohorts = new Map<number, { users: number; returned: Array<Set<string>> }>();
  for (const [who, t] of first) {
    const start = dayStart(t);
    const cohort = cohorts.get(start) ?? {
      users: 0,
      returned: Array.from({ length: (lastDay - start) / DAY + 1 }, () => new Set<string>()),
    };
    cohort.users += 1;
    cohorts.set(start, cohort);
    for (const e of ranged.filter((x) => x.event === returnEvent && person(x) === who)) {
      const k = (dayStart(ms(e)) - start) / DAY;
      if (k >= 0) cohort.returned[k]?.add(who);
    }
  }
  return [...cohorts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, c]) => ({
      start: new Date(start).toISOString(),
      users: c.users,
      returned: c.returned.map((s) => s.size),
    }));
}

function expectedTopItems(events: StoredEvent[], event: string, limit: number) {
  const items = new Map<string, { count: number; users: Set<string> }>();
  for (const e of inRange(events).filter((x) => x.event === event && x.itemId)) {
    const item = items.get(e.itemId as string) ?? { count: 0, users: new Set<string>() };
    item.count += 1;
    item.users.add(person(e));
    items.set(e.itemId as string, item);
  }
  return [...items.entries()]
    .map(([itemId, v]) => ({ itemId, count: v.count, users: v.users.size }))
    .sort((a, b) => b.count - a.count || (a.itemId < b.itemId ? -1 : 1))
    .slice(0, limit);
}

// --- The warehouse under test, queried through the GraphQL schema --------------------------------

const QUERIES = {
  counts: `query($from: DateTimeISO!, $to: DateTimeISO!, $g: Granularity, $by: [Dimension!], $events: [String!]) {
    eventCounts(from: $from, to: $to, granularity: $g, groupBy: $by, events: $events) {
      bucket event count users dimensions { dimension value }
    }
  }`,
  users: `query($from: DateTimeISO!, $to: DateTimeISO!, $event: String) {
    uniqueUsers(from: $from, to: $to, event: $event) { count dataAsOf }
  }`,
  funnel: `query($steps: [String!]!, $from: DateTimeISO!, $to: DateTimeISO!, $w: Int) {
    funnel(steps: $steps, from: $from, to: $to, windowHours: $w) { steps { event users conversion } dataAsOf }
  }`,
  retention: `query($s: String!, $r: String!, $from: DateTimeISO!, $to: DateTimeISO!) {
    retention(startEvent: $s, returnEvent: $r, from: $from, to: $to, period: DAY) {
      cohorts { start users returned } dataAsOf
    }
  }`,
  top: `query($event: String!, $from: DateTimeISO!, $to: DateTimeISO!, $limit: Int) {
    topItems(event: $event, from: $from, to: $to, limit: $limit) { items { itemId count users } dataAsOf }
  }`,
  status: `{ warehouse { rows dataAsOf } }`,
};

/** The schema's field rules run as in production, for a key that may read analytics. */
const ANALYST: Principal = { keyId: 'analyst', kind: 'SECRET', scopes: new Set(['ANALYTICS_READ']) };

describe('analytics on DuckDB, against answers computed in the test', () => {
  const events = dataset();
  let dir: string;
  let lakeDir: string;
  let warehouse: DuckDbWarehouse;
  let schema: GraphQLSchema;
  let fileNo = 0;

  async function lakeFile(records: StoredEvent[]): Promise<void> {
    const partition = path.join(lakeDir, 'events', 'year=2024', 'month=05', 'day=01', 'hour=00');
    await mkdir(partition, { recursive: true });
    fileNo += 1;
    const body = records.map((r) => JSON.stringify(r) + '\n').join('');
    await writeFile(
      path.join(partition, `events-${String(fileNo).padStart(4, '0')}.json.gz`),
      gzipSync(body),
    );
  }

  async function run<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    // A fresh service per call: these tests check the warehouse's numbers, not the cache.
    const services = { analytics: new AnalyticsService(warehouse) };
    const result = await graphql({
      schema,
      source: query,
      variableValues: variables,
      contextValue: { services, principal: ANALYST },
    });
    if (result.errors) throw new Error(result.errors.map((e) => e.message).join('; '));
    return JSON.parse(JSON.stringify(result.data)) as T;
  }

  const range = { from: FROM.toISOString(), to: TO.toISOString() };

  /** Every answer the API gives, so one comparison covers them all. */
  async function allAnswers() {
    return {
      byDay: await run(QUERIES.counts, { ...range, g: 'DAY' }),
      byWeek: await run(QUERIES.counts, { ...range, g: 'WEEK', by: ['UTM_SOURCE', 'BROWSER'] }),
      users: await run(QUERIES.users, range),
      usersOfEvent: await run(QUERIES.users, { ...range, event: 'order_completed' }),
      funnel: await run(QUERIES.funnel, {
        ...range,
        steps: ['product_viewed', 'product_added_to_cart', 'order_completed'],
        w: 48,
      }),
      retention: await run(QUERIES.retention, { ...range, s: 'page_viewed', r: 'order_completed' }),
      top: await run(QUERIES.top, { ...range, event: 'product_viewed', limit: 5 }),
    };
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tributary-analytics-'));
    lakeDir = path.join(dir, 'lake');
    schema = buildSchemaSync({
      resolvers: [AnalyticsResolver],
      validate: false,
      authChecker,
      authMode: 'error',
    });
    await lakeFile(events.slice(0, 1000));
    await lakeFile(events.slice(1000));
    warehouse = await DuckDbWarehouse.open({ databasePath: path.join(dir, 'warehouse.duckdb'), lakeDir });
    await warehouse.loadNew();
  });

  afterAll(async () => {
    await warehouse.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts events and users per day and event', async () => {
    const { eventCounts } = await run<{ eventCounts: Array<Record<string, unknown>> }>(QUERIES.counts, {
      ...range,
      g: 'DAY',
    });
    const expected = expectedCounts(events, dayStart, (e) => [e.event]);
    expect(eventCounts).toEqual(
      expected.map((g) => ({
        bucket: g.bucket,
        event: g.key[0],
        count: g.count,
        users: g.users,
        dimensions: [{ dimension: 'EVENT', value: g.key[0] }],
      })),
    );
    expect(eventCounts.length).toBeGreaterThan(50);
  });

  it('counts by day over ranges that start and end anywhere, for some or all events', async () => {
    const rand = random(11);
    const at = (day: number, ms: number) => new Date(FROM.getTime() + day * DAY + ms);
    const ranges: Array<[Date, Date]> = [
      [at(0, 0), at(21, 0)],
      [at(2, 5 * HOUR + 7), at(9, 20 * HOUR)],
      [at(3, 1), at(4, 0)],
      [at(3, 0), at(4, 1)],
      [at(5, HOUR), at(5, 9 * HOUR)],
      [at(6, 12 * HOUR), at(7, 12 * HOUR)],
      ...Array.from({ length: 6 }, (): [Date, Date] => {
        const start = Math.floor(rand() * 20 * DAY);
        return [at(0, start), at(0, start + Math.floor(rand() * 8 * DAY))];
      }),
    ];
    for (const [from, to] of ranges) {
      for (const only of [undefined, ['order_completed', 'page_viewed']]) {
        const { eventCounts } = await run<{ eventCounts: Array<Record<string, unknown>> }>(QUERIES.counts, {
          from: from.toISOString(),
          to: to.toISOString(),
          g: 'DAY',
          events: only,
        });
        const expected = expectedCounts(
          only === undefined ? events : events.filter((e) => only.includes(e.event)),
          dayStart,
          (e) => [e.event],
          from,
          to,
        );
        expect({
          from,
          to,
          only,
          rows: eventCounts.map((r) => [r.bucket, r.event, r.count, r.users]),
        }).toEqual({
          from,
          to,
          only,
          rows: expected.map((g) => [g.bucket, g.key[0], g.count, g.users]),
        });
      }
    }
  });

  it('counts distinct users only when the operation reads them, however it asks', async () => {
    const asked = jest.spyOn(warehouse, 'eventCounts');
    const expected = expectedCounts(events, dayStart, (e) => [e.event]);
    const withoutUsers = await run<{ eventCounts: Array<Record<string, unknown>> }>(
      `query($from: DateTimeISO!, $to: DateTimeISO!) { eventCounts(from: $from, to: $to) { bucket event count } }`,
      range,
    );
    expect(withoutUsers.eventCounts).toEqual(
      expected.map((g) => ({ bucket: g.bucket, event: g.key[0], count: g.count })),
    );
    // Under an alias, in a fragment, and kept by @include: still counted, and right.
    const spelled = await run<{ eventCounts: Array<Record<string, unknown>> }>(
      `query($from: DateTimeISO!, $to: DateTimeISO!, $yes: Boolean!) {
        eventCounts(from: $from, to: $to) { count ...People }
      }
      fragment People on EventCount { people: users @include(if: $yes) }`,
      { ...range, yes: true },
    );
    expect(spelled.eventCounts).toEqual(expected.map((g) => ({ count: g.count, people: g.users })));
    const skipped = await run<{ eventCounts: Array<Record<string, unknown>> }>(
      `query($from: DateTimeISO!, $to: DateTimeISO!) { eventCounts(from: $from, to: $to) { count users @skip(if: true) } }`,
      range,
    );
    expect(skipped.eventCounts).toEqual(expected.map((g) => ({ count: g.count })));
    expect(asked.mock.calls.map(([query]) => query.users)).toEqual([false, true, false]);
    asked.mockRestore();
  });

  it('counts per ISO week grouped by utm source and browser, with null as a value', async () => {
    const { eventCounts } = await run<{ eventCounts: Array<Record<string, unknown>> }>(QUERIES.counts, {
      ...range,
      g: 'WEEK',
      by: ['UTM_SOURCE', 'BROWSER'],
    });
    const expected = expectedCounts(events, weekStart, (e) => [
      e.enrichment?.utmSource ?? '\uffff',
      e.enrichment?.browser ?? '\uffff',
    ]);
    expect(eventCounts).toEqual(
      expected.map((g) => ({
        bucket: g.bucket,
        event: null,
        count: g.count,
        users: g.users,
        dimensions: [
          { dimension: 'UTM_SOURCE', value: g.key[0] === '\uffff' ? null : g.key[0] },
          { dimension: 'BROWSER', value: g.key[1] },
        ],
      })),
    );
    expect(new Set(eventCounts.map((r) => r.bucket))).toEqual(
      new Set([
        '2024-04-29T00:00:00.000Z',
        '2024-05-06T00:00:00.000Z',
        '2024-05-13T00:00:00.000Z',
        '2024-05-20T00:00:00.000Z',
      ]),
    );
  });

  it('counts unique users, overall and for one event', async () => {
    const all = await run<{ uniqueUsers: { count: number; dataAsOf: string } }>(QUERIES.users, range);
    expect(all.uniqueUsers.count).toBe(new Set(inRange(events).map(person)).size);
    expect(Date.parse(all.uniqueUsers.dataAsOf)).toBeGreaterThan(Date.now() - 60_000);
    const orders = await run<{ uniqueUsers: { count: number } }>(QUERIES.users, {
      ...range,
      event: 'order_completed',
    });
    expect(orders.uniqueUsers.count).toBe(
      new Set(
        inRange(events)
          .filter((e) => e.event === 'order_completed')
          .map(person),
      ).size,
    );
  });

  it.each([3, 12, 48])('computes a 3-step funnel within %i hours', async (w) => {
    const steps = ['product_viewed', 'product_added_to_cart', 'order_completed'];
    const { funnel } = await run<{
      funnel: { steps: Array<{ event: string; users: number; conversion: number }> };
    }>(QUERIES.funnel, { ...range, steps, w });
    const expected = expectedFunnel(events, steps, w);
    expect(funnel.steps.map((s) => s.users)).toEqual(expected);
    expect(funnel.steps.map((s) => s.event)).toEqual(steps);
    expect(funnel.steps.map((s) => s.conversion)).toEqual(expected.map((n) => n / (expected[0] as number)));
    expect(expected[2]).toBeGreaterThan(0);
  });

  it('computes a one-step funnel: everyone who did the step, conversion 1', async () => {
    const { funnel } = await run<{
      funnel: { steps: Array<{ event: string; users: number; conversion: number }> };
    }>(QUERIES.funnel, { ...range, steps: ['product_added_to_cart'] });
    const [users] = expectedFunnel(events, ['product_added_to_cart'], 24);
    expect(users).toBeGreaterThan(0);
    expect(funnel.steps).toEqual([{ event: 'product_added_to_cart', users, conversion: 1 }]);
  });

  it('treats a repeated step as a later, different event', async () => {
    const steps = ['page_viewed', 'page_viewed', 'order_completed'];
    const { funnel } = await run<{ funnel: { steps: Array<{ users: number }> } }>(QUERIES.funnel, {
      ...range,
      steps,
      w: 72,
    });
    expect(funnel.steps.map((s) => s.users)).toEqual(expectedFunnel(events, steps, 72));
  });

  it('builds daily retention cohorts from the first start event in range', async () => {
    const { retention } = await run<{ retention: { cohorts: unknown[] } }>(QUERIES.retention, {
      ...range,
      s: 'page_viewed',
      r: 'order_completed',
    });
    const expected = expectedRetention(events, 'page_viewed', 'order_completed');
    expect(retention.cohorts).toEqual(expected);
    expect(expected.length).toBeGreaterThan(5);
  });

  it('counts returned[0] as the whole cohort when start and return events are the same', async () => {
    const { retention } = await run<{ retention: { cohorts: Array<{ users: number; returned: number[] }> } }>(
      QUERIES.retention,
      { ...range, s: 'product_viewed', r: 'product_viewed' },
    );
    expect(retention.cohorts).toEqual(expectedRetention(events, 'product_viewed', 'product_viewed'));
    for (const cohort of retention.cohorts) expect(cohort.returned[0]).toBe(cohort.users);
  });

  it('ranks top items by count, then itemId', async () => {
    const { topItems } = await run<{ topItems: { items: unknown[] } }>(QUERIES.top, {
      ...range,
      event: 'product_viewed',
      limit: 5,
    });
    expect(topItems.items).toEqual(expectedTopItems(events, 'product_viewed', 5));
    const { topItems: all } = await run<{ topItems: { items: unknown[] } }>(QUERIES.top, {
      ...range,
      event: 'product_added_to_cart',
      limit: 100,
    });
    expect(all.items).toEqual(expectedTopItems(events, 'product_added_to_cart', 100));
  });

  it('changes no number when duplicates arrive, even with other content and later receivedAt', async () => {
    const before = await allAnswers();
    const rows = (await run<{ warehouse: { rows: number } }>(QUERIES.status)).warehouse.rows;
    expect(rows).toBe(events.length);
    const rand = random(7);
    const duplicates = events
      .filter(() => rand() < 0.3)
      .map((e) => ({
        ...e,
        event: 'order_completed',
        userId: 'somebody-else',
        timestamp: TO.toISOString(),
        receivedAt: new Date(Date.parse(e.receivedAt) + HOUR).toISOString(),
      }));
    await lakeFile(duplicates);
    await lakeFile(events.slice(0, 100));
    expect(await warehouse.loadNew()).toEqual({ files: 2, rows: 0 });
    const withoutFreshness = (answers: object) =>
      JSON.parse(JSON.stringify(answers, (k, v: unknown) => (k === 'dataAsOf' ? undefined : v))) as unknown;
    expect(withoutFreshness(await allAnswers())).toEqual(withoutFreshness(before));
    expect((await run<{ warehouse: { rows: number } }>(QUERIES.status)).warehouse.rows).toBe(events.length);
  });

  describe('client text never reaches SQL', () => {
    const attacks = [
      "x' OR '1'='1",
      "'; DROP TABLE events; --",
      'page_viewed") OR 1=1 --',
      '$from',
      ':from',
      '\\',
      'page_viewed\u0000',
    ];

    it.each(attacks)('treats %j as a plain value in every string argument', async (attack) => {
      const counts = await run<{ eventCounts: unknown[] }>(QUERIES.counts, {
        ...range,
        events: [attack, `${attack}2`],
      });
      expect(counts.eventCounts).toEqual([]);
      expect(
        (await run<{ uniqueUsers: { count: number } }>(QUERIES.users, { ...range, event: attack }))
          .uniqueUsers.count,
      ).toBe(0);
      const funnel = await run<{ funnel: { steps: Array<{ users: number }> } }>(QUERIES.funnel, {
        ...range,
        steps: ['page_viewed', attack, 'order_completed'],
      });
      expect(funnel.funnel.steps.map((s) => s.users)).toEqual([
        expectedFunnel(events, ['page_viewed'], 24)[0],
        0,
        0,
      ]);
      const retention = await run<{ retention: { cohorts: Array<{ returned: number[] }> } }>(
        QUERIES.retention,
        {
          ...range,
          s: 'page_viewed',
          r: attack,
        },
      );
      expect(retention.retention.cohorts.flatMap((c) => c.returned).every((n) => n === 0)).toBe(true);
      expect(
        (await run<{ retention: { cohorts: unknown[] } }>(QUERIES.retention, { ...range, s: attack, r: 'x' }))
          .retention.cohorts,
      ).toEqual([]);
      expect(
        (await run<{ topItems: { items: unknown[] } }>(QUERIES.top, { ...range, event: attack })).topItems
          .items,
      ).toEqual([]);
      expect((await run<{ warehouse: { rows: number } }>(QUERIES.status)).warehouse.rows).toBe(events.length);
    });

    it('accepts only the Dimension and Granularity enums', async () => {
      for (const variables of [
        { ...range, by: ['event; DROP TABLE events'] },
        { ...range, g: 'MINUTE' },
      ]) {
        const result = await graphql({
          schema,
          source: QUERIES.counts,
          variableValues: variables,
          contextValue: { services: { analytics: new AnalyticsService(warehouse) }, principal: ANALYST },
        });
        expect(result.errors?.[0]?.message).toMatch(/Variable "\$(by|g)" got invalid value/);
      }
    });

    it('rejects out-of-range numbers and empty ranges as BAD_USER_INPUT', async () => {
      for (const [query, variables] of [
        [QUERIES.top, { ...range, event: 'x', limit: 0 }],
        [QUERIES.top, { ...range, event: 'x', limit: 1_000_000 }],
        [QUERIES.funnel, { ...range, steps: [], w: 1 }],
        [QUERIES.funnel, { ...range, steps: ['a'], w: -1 }],
        [QUERIES.users, { from: TO.toISOString(), to: FROM.toISOString() }],
      ] as const) {
        const result = await graphql({
          schema,
          source: query,
          variableValues: variables,
          contextValue: { services: { analytics: new AnalyticsService(warehouse) }, principal: ANALYST },
        });
        expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
    });
  });
});

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { graphql } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import type { Principal } from '../../src/access/principal';
import { authChecker } from '../../src/api/auth-checker';
import { identityRules, type IdentityRules } from '../../src/events/identity';
import type { StoredEvent } from '../../src/events/types';
import { AnalyticsResolver } from '../../src/resolvers/analytics.resolver';
import { AnalyticsService } from '../../src/services/analytics-service';
import { EventsParquetFormat } from '../../src/sinks/lake/file-format';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb/duckdb-warehouse';
import { IDENTITIES_MIGRATION, MIGRATIONS } from '../../src/sinks/warehouse/duckdb/duckdb-sql';
import type { IdentityMode } from '../../src/sinks/warehouse/port';

// Each test loads and reopens a database file several times; a shared machine can be slow.
jest.setTimeout(30_000);

const FROM = new Date('2024-05-01T00:00:00.000Z');
const TO = new Date('2024-05-08T00:00:00.000Z');

/** An event at `at` (ISO time), received a second later unless said otherwise. */
function ev(messageId: string, at: string, over: Partial<StoredEvent> = {}): StoredEvent {
  return {
    messageId,
    event: 'page_viewed',
    userId: null,
    anonymousId: null,
    sessionId: null,
    timestamp: at,
    sentAt: null,
    receivedAt: new Date(Date.parse(at) + 1000).toISOString(),
    source: 'graphql',
    properties: {},
    context: {},
    processorVersion: 'test',
    mergesUsers: false,
    ...over,
  };
}

/** An alias claiming `previousId` for `userId`; `mergesUsers` as the stream sets it for ADMIN keys. */
const alias = (messageId: string, at: string, userId: string, previousId: string, mergesUsers: boolean) =>
  ev(messageId, at, { event: 'alias', userId, properties: { previous_id: previousId }, mergesUsers });

const ANALYST: Principal = { keyId: 'analyst', kind: 'SECRET', scopes: new Set(['ANALYTICS_READ']) };

describe('identities in the DuckDB warehouse', () => {
  let dir: string;
  let lakeDir: string;
  let dbPath: string;
  let warehouse: DuckDbWarehouse | undefined;
  let rules: IdentityRules | undefined;
  let fileNo = 0;

  beforeEach(async () => {
    fileNo = 0;
    rules = undefined;
    dir = await mkdtemp(path.join(tmpdir(), 'tributary-identities-'));
    lakeDir = path.join(dir, 'lake');
    dbPath = path.join(dir, 'warehouse.duckdb');
  });

  afterEach(async () => {
    await warehouse?.close();
    warehouse = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function partition(): Promise<string> {
    const folder = path.join(lakeDir, 'events', 'year=2024', 'month=05', 'day=01', 'hour=00');
    await mkdir(folder, { recursive: true });
    fileNo += 1;
    return path.join(folder, `events-${String(fileNo).padStart(4, '0')}`);
  }

  /** A Parquet lake file, as the lake holds events now. */
  async function parquetFile(records: StoredEvent[]): Promise<void> {
    const file = `${await partition()}.parquet`;
    const format = new EventsParquetFormat();
    try {
      await format.write(
        file,
        records.map((r) => JSON.stringify(r)),
        `${file}.scratch`,
      );
    } finally {
      await format.close();
    }
  }

  /** A gzip NDJSON lake file, as the lake held events before Parquet. */
  async function ndjsonFile(records: StoredEvent[]): Promise<void> {
    await writeFile(
      `${await partition()}.json.gz`,
      gzipSync(records.map((r) => JSON.stringify(r) + '\n').join('')),
    );
  }

  /** (Re)opens the warehouse; the rules are kept for later reopens. */
  async function open(identity?: IdentityRules): Promise<DuckDbWarehouse> {
    await warehouse?.close();
    rules = identity;
    warehouse = await DuckDbWarehouse.open({ databasePath: dbPath, lakeDir, identity });
    return warehouse;
  }

  /** Loads the records as one more lake file. */
  async function load(records: StoredEvent[], format: 'parquet' | 'ndjson' = 'parquet'): Promise<void> {
    if (format === 'parquet') await parquetFile(records);
    else await ndjsonFile(records);
    await (warehouse ?? (await open())).loadNew();
  }

  const wh = (): DuckDbWarehouse => warehouse as DuckDbWarehouse;
  const range = { from: FROM, to: TO };
  const uniqueUsers = (identity?: IdentityMode, event?: string) =>
    wh().uniqueUsers({ ...range, event, identity });
  /** Users per day and event, as [day, event, users], from the rollup (whole days) and from events. */
  async function dailyUsers(identity?: IdentityMode, from = FROM, to = TO) {
    const rows = await wh().eventCounts({ from, to, granularity: 'DAY', identity });
    return rows.map((r) => [r.bucket.toISOString().slice(0, 10), r.event, r.users]);
  }

  /**
   * The identities table. DuckDB lets one instance hold the file, so the warehouse is closed to read
   * it and reopened, which recomputes identities: assertions on what a load did come before this.
   */
  async function identities(): Promise<Array<{ id: string; person_id: string; kind: string }>> {
    await warehouse?.close();
    warehouse = undefined;
    const instance = await DuckDBInstance.create(dbPath);
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll('SELECT id, person_id, kind FROM identities ORDER BY id');
      return reader.getRowObjectsJS() as Array<{ id: string; person_id: string; kind: string }>;
    } finally {
      connection.closeSync();
      instance.closeSync();
      await open(rules);
    }
  }

  it('counts anonymous events with the person once a later load links their id, and RAW_ID as before', async () => {
    await load([
      ev('a1', '2024-05-01T10:00:00.000Z', { anonymousId: 'device-1' }),
      ev('a2', '2024-05-02T10:00:00.000Z', { anonymousId: 'device-1' }),
      ev('a3', '2024-05-02T10:30:00.000Z', { anonymousId: 'device-1', event: 'product_viewed' }),
      ev('u0', '2024-05-01T12:00:00.000Z', { userId: 'alice' }),
      ev('u1', '2024-05-02T11:00:00.000Z', { userId: 'alice' }),
    ]);
    expect(await uniqueUsers()).toBe(2);

    // Alice signs in on the device: the sign-in claims it, and her anonymous past is hers.
    await load([ev('s1', '2024-05-03T09:00:00.000Z', { userId: 'alice', anonymousId: 'device-1' })]);
    expect(await uniqueUsers()).toBe(1);
    expect(await uniqueUsers('RAW_ID')).toBe(2);
    expect(await uniqueUsers('PERSON', 'product_viewed')).toBe(1);
    // From 06:00: the whole days come from the rollup, the first, partial one from events.
    const partial = new Date(FROM.getTime() + 6 * 3_600_000);
    expect(await dailyUsers('PERSON', partial)).toEqual([
      ['2024-05-01', 'page_viewed', 1],
      ['2024-05-02', 'page_viewed', 1],
      ['2024-05-02', 'product_viewed', 1],
      ['2024-05-03', 'page_viewed', 1],
    ]);
    expect(await dailyUsers('RAW_ID', partial)).toEqual([
      ['2024-05-01', 'page_viewed', 2],
      ['2024-05-02', 'page_viewed', 2],
      ['2024-05-02', 'product_viewed', 1],
      ['2024-05-03', 'page_viewed', 1],
    ]);
    const weekly = await wh().eventCounts({ ...range, granularity: 'WEEK', groupBy: [] });
    expect(weekly.map((r) => [r.count, r.users])).toEqual([[6, 1]]);
    const weeklyRaw = await wh().eventCounts({
      ...range,
      granularity: 'WEEK',
      groupBy: [],
      identity: 'RAW_ID',
    });
    expect(weeklyRaw.map((r) => [r.count, r.users])).toEqual([[6, 2]]);
    const cohorts = async (identity?: IdentityMode) =>
      (
        await wh().retention({
          ...range,
          startEvent: 'page_viewed',
          returnEvent: 'page_viewed',
          period: 'DAY',
          identity,
        })
      ).map((c) => [c.start.toISOString().slice(0, 10), c.users, c.returned.slice(0, 3)]);
    expect(await cohorts()).toEqual([['2024-05-01', 1, [1, 1, 1]]]);
    expect(await cohorts('RAW_ID')).toEqual([['2024-05-01', 2, [2, 2, 1]]]);
    expect(await identities()).toEqual([{ id: 'device-1', person_id: 'alice', kind: 'ANONYMOUS' }]);
  });

  it('counts an anonymous product_viewed and a signed-in order_completed as one person in a funnel', async () => {
    await load([ev('v', '2024-05-01T10:00:00.000Z', { anonymousId: 'd1', event: 'product_viewed' })]);
    await load([
      ev('o', '2024-05-01T10:30:00.000Z', { userId: 'bob', anonymousId: 'd1', event: 'order_completed' }),
    ]);
    const steps = ['product_viewed', 'order_completed'];
    const funnel = await wh().funnel({ ...range, steps, windowHours: 24 });
    expect(funnel).toEqual([
      { event: 'product_viewed', users: 1 },
      { event: 'order_completed', users: 1 },
    ]);
    const raw = await wh().funnel({ ...range, steps, windowHours: 24, identity: 'RAW_ID' });
    expect(raw).toEqual([
      { event: 'product_viewed', users: 1 },
      { event: 'order_completed', users: 0 },
    ]);
  });

  it('never links junk ids, trimmed and in any case, nor the ids a configured blocklist adds', async () => {
    const rules = identityRules({ extraJunkIds: [' Shared-Kiosk '] });
    await open(rules);
    await load([
      ev('j1', '2024-05-01T10:00:00.000Z', { userId: 'carol', anonymousId: ' NULL\t' }),
      ev('j2', '2024-05-01T11:00:00.000Z', { userId: 'carol', anonymousId: 'undefined' }),
      ev('j3', '2024-05-01T12:00:00.000Z', { userId: 'carol', anonymousId: 'shared-kiosk' }),
      ev('j4', '2024-05-01T13:00:00.000Z', { userId: 'guest', anonymousId: 'device-9' }),
      ev('j5', '2024-05-01T14:00:00.000Z', { userId: 'carol', anonymousId: 'device-2' }),
      ev('x1', '2024-05-01T15:00:00.000Z', { anonymousId: ' NULL\t' }),
      ev('x2', '2024-05-01T16:00:00.000Z', { anonymousId: 'device-9' }),
    ]);
    // Junk ids still count under themselves: carol, guest, ' NULL\t' and device-9.
    expect(await uniqueUsers()).toBe(4);
    expect(await identities()).toEqual([{ id: 'device-2', person_id: 'carol', kind: 'ANONYMOUS' }]);
    // The same events with the default rules: the kiosk id is an ordinary anonymous id again.
    await open();
    expect((await identities()).map((i) => i.id)).toEqual(['device-2', 'shared-kiosk']);
  });

  it('gives a shared device to the earliest claim by edge time, whichever load brings it first', async () => {
    const later = ev('late', '2024-05-02T10:00:00.000Z', { userId: 'dave', anonymousId: 'tablet' });
    const earlier = ev('early', '2024-05-03T10:00:00.000Z', {
      userId: 'erin',
      anonymousId: 'tablet',
      // Event time says later, the edge says earlier: the edge decides.
      receivedAt: '2024-05-01T09:00:00.000Z',
    });
    await load([later, ev('t', '2024-05-01T08:00:00.000Z', { anonymousId: 'tablet' })]);
    expect(await uniqueUsers()).toBe(1);
    expect(await identities()).toEqual([{ id: 'tablet', person_id: 'dave', kind: 'ANONYMOUS' }]);
    await load([earlier], 'ndjson');
    // dave's own event stays his; the tablet's anonymous event is erin's.
    expect(await uniqueUsers()).toBe(2);
    expect(await uniqueUsers('RAW_ID')).toBe(3);
    expect(await identities()).toEqual([{ id: 'tablet', person_id: 'erin', kind: 'ANONYMOUS' }]);
  });

  it('keeps the earliest anonymous ids of a person up to the configured cap, in edge-time order', async () => {
    await open(identityRules({ maxAnonymousIds: 2 }));
    const signIn = (n: number, hour: number) =>
      ev(`s${n}`, `2024-05-01T${String(hour).padStart(2, '0')}:00:00.000Z`, {
        userId: 'frank',
        anonymousId: `phone-${n}`,
      });
    // Loaded newest first: the cap still keeps the two earliest.
    const phone3 = ev('p3', '2024-05-02T10:00:00.000Z', { anonymousId: 'phone-3' });
    await load([signIn(3, 12), phone3]);
    await load([signIn(2, 11)]);
    expect(await uniqueUsers()).toBe(1);
    expect((await identities()).map((i) => i.id)).toEqual(['phone-2', 'phone-3']);
    await load([signIn(1, 10)]);
    // phone-3 was linked third: its anonymous event is a person of its own again.
    expect(await uniqueUsers()).toBe(2);
    expect(await identities()).toEqual([
      { id: 'phone-1', person_id: 'frank', kind: 'ANONYMOUS' },
      { id: 'phone-2', person_id: 'frank', kind: 'ANONYMOUS' },
    ]);
  });

  it('merges a userId into another only by a privileged alias, and follows anonymous → user → user', async () => {
    await load([
      ev('g', '2024-05-01T10:00:00.000Z', { userId: 'grace' }),
      ev('h', '2024-05-01T11:00:00.000Z', { userId: 'grace-old', anonymousId: 'laptop' }),
      ev('l', '2024-05-01T09:00:00.000Z', { anonymousId: 'laptop' }),
      ev('k', '2024-05-01T09:30:00.000Z', { userId: 'hank' }),
      // An ordinary alias, and an ordinary event, claiming a userId do nothing.
      alias('a0', '2024-05-01T12:00:00.000Z', 'grace', 'hank', false),
      ev('c', '2024-05-01T12:30:00.000Z', { userId: 'grace', anonymousId: 'hank' }),
    ]);
    expect(await uniqueUsers()).toBe(3);

    await load([alias('a1', '2024-05-01T13:00:00.000Z', 'grace', 'grace-old', true)]);
    expect(await uniqueUsers()).toBe(2);
    expect(await uniqueUsers('RAW_ID')).toBe(4);
    expect(await identities()).toEqual([
      { id: 'grace-old', person_id: 'grace', kind: 'USER' },
      { id: 'laptop', person_id: 'grace', kind: 'ANONYMOUS' },
    ]);

    // The earlier ordinary alias of hank owns nothing, so a later privileged one merges him.
    await load([alias('a2', '2024-05-01T14:00:00.000Z', 'grace', 'hank', true)]);
    expect(await uniqueUsers()).toBe(1);
  });

  it('stops counting an id with the person once a later load shows it is a userId of its own', async () => {
    await load([
      ev('s', '2024-05-01T10:00:00.000Z', { userId: 'nina', anonymousId: 'omar' }),
      ev('o1', '2024-05-01T11:00:00.000Z', { anonymousId: 'omar' }),
    ]);
    expect(await uniqueUsers()).toBe(1);
    // Only an anonymous id may be claimed by an ordinary event: omar turns out to be a user.
    await load([ev('o2', '2024-05-02T11:00:00.000Z', { userId: 'omar' })]);
    expect(await uniqueUsers()).toBe(2);
    expect(await identities()).toEqual([]);
  });

  it('resolves two privileged aliases in opposite directions to one person: the id of the later link', async () => {
    await load([
      ev('i', '2024-05-01T10:00:00.000Z', { userId: 'ivan' }),
      ev('j', '2024-05-01T10:00:00.000Z', { userId: 'judy', anonymousId: 'watch' }),
      alias('m1', '2024-05-01T11:00:00.000Z', 'ivan', 'judy', true),
      alias('m2', '2024-05-01T12:00:00.000Z', 'judy', 'ivan', true),
    ]);
    expect(await uniqueUsers()).toBe(1);
    // judy → ivan (11:00) and ivan → judy (12:00): the cycle breaks at the later link, ivan's.
    expect(await identities()).toEqual([
      { id: 'ivan', person_id: 'ivan', kind: 'USER' },
      { id: 'judy', person_id: 'ivan', kind: 'USER' },
      { id: 'watch', person_id: 'ivan', kind: 'ANONYMOUS' },
    ]);
  });

  it('takes the identity argument through GraphQL to the warehouse, PERSON when it is left out', async () => {
    await load([
      ev('a', '2024-05-01T10:00:00.000Z', { anonymousId: 'd', event: 'product_viewed' }),
      ev('b', '2024-05-01T11:00:00.000Z', { userId: 'kim', anonymousId: 'd', event: 'order_completed' }),
    ]);
    const schema = buildSchemaSync({
      resolvers: [AnalyticsResolver],
      validate: false,
      authChecker,
      authMode: 'error',
    });
    const names = ['uniqueUsers', 'funnel', 'retention', 'eventCounts'] as const;
    const spies = names.map((name) => jest.spyOn(wh(), name));
    const asked = () => spies.map((spy) => spy.mock.calls.map(([query]) => query.identity));
    const run = async (identity: string) => {
      const arg = identity === '' ? '' : `, identity: ${identity}`;
      const result = await graphql({
        schema,
        source: `query($from: DateTimeISO!, $to: DateTimeISO!) {
          uniqueUsers(from: $from, to: $to${arg}) { count }
          funnel(steps: ["product_viewed", "order_completed"], from: $from, to: $to${arg}) { steps { users } }
          retention(startEvent: "product_viewed", returnEvent: "order_completed", from: $from, to: $to${arg}) { cohorts { users returned } }
          eventCounts(from: $from, to: $to, groupBy: []${arg}) { users }
        }`,
        variableValues: { from: FROM.toISOString(), to: TO.toISOString() },
        contextValue: { services: { analytics: new AnalyticsService(wh()) }, principal: ANALYST },
      });
      if (result.errors) throw new Error(result.errors.map((e) => e.message).join('; '));
      return JSON.parse(JSON.stringify(result.data)) as unknown;
    };
    const person = {
      uniqueUsers: { count: 1 },
      funnel: { steps: [{ users: 1 }, { users: 1 }] },
      retention: { cohorts: [{ users: 1, returned: [1, 0, 0, 0, 0, 0, 0] }] },
      eventCounts: [{ users: 1 }],
    };
    expect(await run('')).toEqual(person);
    expect(await run('PERSON')).toEqual(person);
    expect(await run('RAW_ID')).toEqual({
      uniqueUsers: { count: 2 },
      funnel: { steps: [{ users: 1 }, { users: 0 }] },
      retention: { cohorts: [{ users: 1, returned: [0, 0, 0, 0, 0, 0, 0] }] },
      eventCounts: [{ users: 2 }],
    });
    // Each query was asked three times: left out, PERSON, RAW_ID.
    expect(asked()).toEqual(names.map(() => ['PERSON', 'PERSON', 'RAW_ID']));
    jest.restoreAllMocks();
    const invalid = await graphql({
      schema,
      source: `{ uniqueUsers(from: "${FROM.toISOString()}", to: "${TO.toISOString()}", identity: EVERYONE) { count } }`,
      contextValue: { services: { analytics: new AnalyticsService(wh()) }, principal: ANALYST },
    });
    expect(invalid.errors?.[0]?.message).toMatch(/IdentityMode/);
  });

  it('starts numbering an id that was linked before any event of its own was loaded', async () => {
    await load([ev('s', '2024-05-01T10:00:00.000Z', { userId: 'lena', anonymousId: 'pad' })]);
    expect(await uniqueUsers()).toBe(1);
    // The pad's first event under its own id comes after the link: it counts with lena.
    await load([ev('p', '2024-05-02T10:00:00.000Z', { anonymousId: 'pad' })]);
    expect(await uniqueUsers()).toBe(1);
    expect(await uniqueUsers('RAW_ID')).toBe(2);
    expect(await dailyUsers()).toEqual([
      ['2024-05-01', 'page_viewed', 1],
      ['2024-05-02', 'page_viewed', 1],
    ]);
  });

  it('links the events a database held before the identity tables existed', async () => {
    // A database as a release before migration 10 left it, its rows written by hand.
    const migrations = MIGRATIONS.filter((m) => m.version < IDENTITIES_MIGRATION);
    await (await DuckDbWarehouse.open({ databasePath: dbPath, lakeDir, migrations })).close();
    const instance = await DuckDBInstance.create(dbPath);
    const connection = await instance.connect();
    try {
      await connection.run(
        `INSERT INTO events (message_id, event, user_id, anonymous_id, user_key, event_time, received_at, loaded_at)
         VALUES ('old-1', 'page_viewed', NULL, 'den', 'den', '2024-05-01T10:00:00Z', '2024-05-01T10:00:01Z', now()),
                ('old-2', 'page_viewed', 'pat', 'den', 'pat', '2024-05-01T11:00:00Z', '2024-05-01T11:00:01Z', now())`,
      );
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    await open();
    expect(await identities()).toEqual([{ id: 'den', person_id: 'pat', kind: 'ANONYMOUS' }]);
  });

  it('keeps identities across a restart, and recomputes them from the claims with the rules it opens with', async () => {
    await load([ev('s', '2024-05-01T10:00:00.000Z', { userId: 'mia', anonymousId: 'tv' })]);
    await open();
    expect(await identities()).toEqual([{ id: 'tv', person_id: 'mia', kind: 'ANONYMOUS' }]);
    await open(identityRules({ extraJunkIds: ['TV'] }));
    expect(await identities()).toEqual([]);
  });
});

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBListValue } from '@duckdb/node-api';
import type { FailedEvent, StoredEvent } from '../../src/events/types';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb/duckdb-warehouse';
import { EventsParquetFormat } from '../../src/sinks/lake/file-format';
import { LocalLakeDelivery } from '../../src/sinks/lake/local/local-lake-delivery';
import type { EventCountsQuery, Granularity } from '../../src/sinks/warehouse/port';
import { MIGRATIONS } from '../../src/sinks/warehouse/duckdb/duckdb-sql';
import { EVENT_COLUMNS, FAILED_EVENT_COLUMNS } from '../../src/sinks/lake/columns';

function stored(messageId: string, over: Partial<StoredEvent> = {}): StoredEvent {
  return {
    messageId,
    event: 'page_viewed',
    userId: null,
    anonymousId: 'anon-1',
    sessionId: 's-1',
    timestamp: '2024-05-01T10:15:00.000Z',
    sentAt: '2024-05-01T10:15:01.000Z',
    receivedAt: '2024-05-01T10:15:02.000Z',
    source: 'graphql',
    properties: { path: '/home' },
    context: { locale: 'en-GB' },
    processorVersion: '1.0.0',
    ...over,
  };
}

function failed(messageId: string | null, payload: string): FailedEvent {
  return {
    messageId,
    failureType: 'schema_violation',
    event: 'page_viewed',
    errors: [{ code: 'required', path: '/properties/path', message: 'must have path' }],
    payload,
    payloadEncoding: 'utf8',
    schema: 'page_viewed/1',
    receivedAt: '2024-05-01T10:00:00.000Z',
    processorVersion: '1.0.0',
  };
}

/** An eventCounts row grouped by EVENT, the default. */
function row(bucket: string, event: string, count: number, users: number) {
  return {
    bucket: new Date(bucket),
    event,
    count,
    users,
    dimensions: [{ dimension: 'EVENT', value: event }],
  };
}

/** An event with every optional field and every enrichment field set. */
const rich = (messageId: string, over: Partial<StoredEvent> = {}): StoredEvent =>
  stored(messageId, {
    userId: 'u1',
    schemaVersion: '1-0-2',
    itemId: 'sku-9',
    originalTimestamp: '2024-05-01T10:14:58.000Z',
    properties: { path: '/home', nested: { n: 1, list: [1, 'two', null] } },
    enrichment: {
      browser: 'Firefox',
      browserVersion: '126.0',
      os: 'Linux',
      osVersion: null,
      deviceType: 'desktop',
      isBot: true,
      utmSource: 'newsletter',
      utmMedium: 'email',
      utmCampaign: 'may',
      utmTerm: null,
      utmContent: "o'hero",
      referrerClass: 'email',
      referrerHost: 'mail.example',
      clockSkewMs: -2000,
      timeFlag: 'future',
    },
    ...over,
  });

describe('DuckDbWarehouse', () => {
  let dir: string;
  let lakeDir: string;
  let dbPath: string;
  let warehouse: DuckDbWarehouse | undefined;
  let fileNo = 0;

  async function lakeFile(prefix: 'events' | 'failed', records: object[], name?: string): Promise<string> {
    const partition = path.join(lakeDir, prefix, 'year=2024', 'month=05', 'day=01', 'hour=10');
    await mkdir(partition, { recursive: true });
    fileNo += 1;
    const file = path.join(partition, name ?? `${prefix}-${String(fileNo).padStart(4, '0')}.json.gz`);
    await writeFile(file, gzipSync(records.map((r) => JSON.stringify(r) + '\n').join('')));
    return file;
  }

  /** A Parquet events file, written by the format the local lake delivery uses. */
  async function parquetFile(records: StoredEvent[], name?: string): Promise<string> {
    const partition = path.join(lakeDir, 'events', 'year=2024', 'month=05', 'day=01', 'hour=10');
    await mkdir(partition, { recursive: true });
    fileNo += 1;
    const file = path.join(partition, name ?? `events-${String(fileNo).padStart(4, '0')}.parquet`);
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
    return file;
  }

  /** eventCounts on the open warehouse over [from, to), both given as ISO text. */
  function counts(from: string, to: string, granularity: Granularity, more: Partial<EventCountsQuery> = {}) {
    return (warehouse as DuckDbWarehouse).eventCounts({
      from: new Date(from),
      to: new Date(to),
      granularity,
      ...more,
    });
  }

  /** Opens the database file, closing the instance opened before: one writer of a file at a time. */
  async function openWarehouse(): Promise<DuckDbWarehouse> {
    await warehouse?.close();
    warehouse = await DuckDbWarehouse.open({ databasePath: dbPath, lakeDir });
    return warehouse;
  }

  /** A database file whose schema stops at migration `version`, as an older release left it. */
  async function databaseAtMigration(version: number): Promise<void> {
    const migrations = MIGRATIONS.filter((m) => m.version <= version);
    await (await DuckDbWarehouse.open({ databasePath: dbPath, lakeDir, migrations })).close();
  }

  async function query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    // A second instance on the same file is not allowed while the warehouse holds it.
    await warehouse?.close();
    warehouse = undefined;
    const instance = await DuckDBInstance.create(dbPath);
    const connection = await instance.connect();
    try {
      return (await connection.runAndReadAll(sql)).getRowObjectsJS() as T[];
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  beforeEach(async () => {
    fileNo = 0;
    dir = await mkdtemp(path.join(tmpdir(), 'tributary-wh-'));
    lakeDir = path.join(dir, 'lake');
    dbPath = path.join(dir, 'db', 'warehouse.duckdb');
  });

  afterEach(async () => {
    await warehouse?.close();
    warehouse = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('applies each migration once, across reopen', async () => {
    await (await openWarehouse()).close();
    await openWarehouse();
    const rows = await query<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    const tables = await query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name",
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      'event_user_days',
      'events',
      'failed_events',
      'identities',
      'identity_claims',
      'loaded_files',
      'schema_migrations',
      'user_ids',
      'user_numbers',
    ]);
  });

  it('creates events and failed_events with the columns and types of the column catalogue', async () => {
    await (await openWarehouse()).close();
    const described = async (table: string) =>
      (await query<{ column_name: string; column_type: string }>(`DESCRIBE ${table}`))
        .map((c) => [c.column_name, c.column_type])
        .sort();
    // DuckDB spells types its own way (TIMESTAMPTZ is TIMESTAMP WITH TIME ZONE), so the catalogue's
    // columns are declared in a table of their own and the two descriptions compared.
    const declare = async (table: string, columns: string[]) =>
      query(`CREATE TABLE ${table} (${columns.join(', ')})`);
    await declare('catalogue_events', [
      ...EVENT_COLUMNS.map((c) => `${c.column} ${c.duckdb}`),
      // Set by each load, not read from the lake.
      'loaded_at TIMESTAMPTZ',
      'user_num INTEGER',
    ]);
    await declare('catalogue_failed', [
      ...FAILED_EVENT_COLUMNS.map((c) => `${c.column} ${c.duckdb}`),
      'record_key VARCHAR',
      'loaded_at TIMESTAMPTZ',
    ]);
    expect(await described('events')).toEqual(await described('catalogue_events'));
    expect(await described('failed_events')).toEqual(await described('catalogue_failed'));
  });

  it('numbers each person once, across loads and file formats', async () => {
    await lakeFile('events', [
      stored('n1', { userId: 'u1', anonymousId: 'a1' }),
      stored('n2', { userId: null, anonymousId: 'a2' }),
      stored('n3', { userId: 'u1', anonymousId: 'a9' }),
    ]);
    const wh = await openWarehouse();
    await wh.loadNew();
    await parquetFile([
      rich('n4', { userId: 'u1' }),
      rich('n5', { userId: null, anonymousId: 'a2' }),
      rich('n6', { userId: 'u3' }),
    ]);
    expect(await wh.loadNew()).toEqual({ files: 1, rows: 3 });
    const numbers = await query<{ user_key: string; user_num: number }>(
      'SELECT user_key, user_num FROM user_numbers ORDER BY user_key',
    );
    expect(numbers.map((n) => n.user_key)).toEqual(['a2', 'u1', 'u3']);
    expect(new Set(numbers.map((n) => n.user_num)).size).toBe(3);
    const numberOf = new Map(numbers.map((n) => [n.user_key, n.user_num]));
    const rows = await query<{ message_id: string; user_key: string; user_num: number }>(
      'SELECT message_id, user_key, user_num FROM events ORDER BY message_id',
    );
    expect(rows).toHaveLength(6);
    for (const r of rows) expect(r.user_num).toBe(numberOf.get(r.user_key));
  });

  it('loads each file once, with typed columns', async () => {
    await lakeFile('events', [stored('m1', { userId: 'u1' }), stored('m2')]);
    const wh = await openWarehouse();
    expect(await wh.dataAsOf()).toBeNull();
    expect(await wh.loadNew()).toEqual({ files: 1, rows: 2 });
    expect(await wh.loadNew()).toEqual({ files: 0, rows: 0 });
    expect(await wh.rowCount()).toBe(2);
    const asOf = await wh.dataAsOf();
    expect(asOf).toBeInstanceOf(Date);
    expect(Math.abs((asOf as Date).getTime() - Date.now())).toBeLessThan(60_000);

    const rows = await query<Record<string, unknown>>(
      "SELECT message_id, user_id, anonymous_id, event_time, received_at, properties->>'path' AS path, " +
        "context->>'locale' AS locale, source, processor_version, typeof(event_time) AS t FROM events ORDER BY message_id",
    );
    expect(rows[0]).toEqual({
      message_id: 'm1',
      user_id: 'u1',
      anonymous_id: 'anon-1',
      event_time: new Date('2024-05-01T10:15:00.000Z'),
      received_at: new Date('2024-05-01T10:15:02.000Z'),
      path: '/home',
      locale: 'en-GB',
      source: 'graphql',
      processor_version: '1.0.0',
      t: 'TIMESTAMP WITH TIME ZONE',
    });
    const files = await query<{ path: string; rows: bigint }>('SELECT path, rows FROM loaded_files');
    expect(files).toEqual([
      { path: 'events/year=2024/month=05/day=01/hour=10/events-0001.json.gz', rows: 2n },
    ]);
  });

  it('asks the database only about lake files it has not seen, and after a restart about each once', async () => {
    const asked: string[][] = [];
    const original = DuckDBConnection.prototype.runAndReadAll;
    const spy = jest.spyOn(DuckDBConnection.prototype, 'runAndReadAll').mockImplementation(function (
      this: DuckDBConnection,
      ...args
    ) {
      const [sql, values] = args;
      if (sql.includes('FROM loaded_files WHERE path IN')) {
        const [paths] = values as DuckDBListValue[];
        asked.push((paths?.items ?? []).map((p) => path.basename(String(p))).sort());
      }
      return original.apply(this, args);
    });
    try {
      await lakeFile('events', [stored('m1')]);
      await lakeFile('events', [stored('m2')]);
      const wh = await openWarehouse();
      expect(await wh.loadNew()).toEqual({ files: 2, rows: 2 });
      expect(asked).toEqual([['events-0001.json.gz', 'events-0002.json.gz']]);
      expect(await wh.loadNew()).toEqual({ files: 0, rows: 0 });
      expect(asked).toHaveLength(1);
      await lakeFile('events', [stored('m3')]);
      expect(await wh.loadNew()).toEqual({ files: 1, rows: 1 });
      expect(asked[1]).toEqual(['events-0003.json.gz']);

      await wh.close();
      const reopened = await openWarehouse();
      expect(await reopened.loadNew()).toEqual({ files: 0, rows: 0 });
      expect(asked[2]).toEqual(['events-0001.json.gz', 'events-0002.json.gz', 'events-0003.json.gz']);
      expect(await reopened.loadNew()).toEqual({ files: 0, rows: 0 });
      expect(asked).toHaveLength(3);
      expect(await reopened.rowCount()).toBe(3);
    } finally {
      spy.mockRestore();
    }
  });

  it('loads enrichment, item and schema version into typed columns, missing fields as NULL', async () => {
    await lakeFile('events', [
      stored('rich', {
        userId: 'u1',
        schemaVersion: '1-0-2',
        itemId: 'sku-9',
        originalTimestamp: '2024-05-01T10:14:58.000Z',
        enrichment: {
          browser: 'Firefox',
          browserVersion: '126.0',
          os: 'Linux',
          osVersion: null,
          deviceType: 'desktop',
          isBot: false,
          utmSource: 'newsletter',
          utmMedium: 'email',
          utmCampaign: 'may',
          utmTerm: null,
          utmContent: 'hero',
          referrerClass: 'email',
          referrerHost: 'mail.example',
          clockSkewMs: -2000,
          timeFlag: null,
        },
      }),
      stored('plain'),
    ]);
    await (await openWarehouse()).loadNew();
    const rows = await query<Record<string, unknown>>(
      `SELECT message_id, user_key, schema_version, item_id, original_timestamp, browser, browser_version, os,
              os_version, device_type, is_bot, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
              referrer_class, referrer_host, clock_skew_ms, time_flag
         FROM events ORDER BY message_id`,
    );
    expect(rows).toEqual([
      {
        message_id: 'plain',
        user_key: 'anon-1',
        schema_version: null,
        item_id: null,
        original_timestamp: null,
        browser: null,
        browser_version: null,
        os: null,
        os_version: null,
        device_type: null,
        is_bot: null,
        utm_source: null,
        utm_medium: null,
        utm_campaign: null,
        utm_term: null,
        utm_content: null,
        referrer_class: null,
        referrer_host: null,
        clock_skew_ms: null,
        time_flag: null,
      },
      {
        message_id: 'rich',
        user_key: 'u1',
        schema_version: '1-0-2',
        item_id: 'sku-9',
        original_timestamp: new Date('2024-05-01T10:14:58.000Z'),
        browser: 'Firefox',
        browser_version: '126.0',
        os: 'Linux',
        os_version: null,
        device_type: 'desktop',
        is_bot: false,
        utm_source: 'newsletter',
        utm_medium: 'email',
        utm_campaign: 'may',
        utm_term: null,
        utm_content: 'hero',
        referrer_class: 'email',
        referrer_host: 'mail.example',
        clock_skew_ms: -2000n,
        time_flag: null,
      },
    ]);
  });

  it('upgrades a database created by migrations 1-3, keeping its rows and filling user_key', async () => {
    await lakeFile('events', [stored('old1', { userId: 'u1' }), stored('old2')]);
    await databaseAtMigration(3);
    // Loading with the old schema is not possible (the loader writes new columns), so seed rows by hand.
    await query(
      "INSERT INTO events (message_id, event, user_id, anonymous_id, loaded_at) VALUES ('old1', 'e', 'u1', 'a1', now()), ('old2', 'e', NULL, 'a2', now())",
    );
    await openWarehouse();
    const rows = await query<{ message_id: string; user_key: string }>(
      'SELECT message_id, user_key FROM events ORDER BY message_id',
    );
    expect(rows).toEqual([
      { message_id: 'old1', user_key: 'u1' },
      { message_id: 'old2', user_key: 'a2' },
    ]);
  });

  describe('original_event', () => {
    /** A Segment call as the Segment API stores it: the call's type and name in context.segment. */
    const segmentCall = (messageId: string, segment: Record<string, unknown>, event = 'order_completed') =>
      stored(messageId, { event, source: 'segment', context: { locale: 'en-GB', segment } });
    const records = [
      segmentCall('s-track', { type: 'track', event: 'Order Completed' }),
      segmentCall('s-page', { type: 'page' }, 'page_viewed'),
      stored('graphql'),
    ];
    const originalEvents = () =>
      query<{ message_id: string; event: string; original_event: string | null }>(
        'SELECT message_id, event, original_event FROM events ORDER BY message_id',
      );
    const expected = [
      { message_id: 'graphql', event: 'page_viewed', original_event: null },
      { message_id: 's-page', event: 'page_viewed', original_event: null },
      { message_id: 's-track', event: 'order_completed', original_event: 'Order Completed' },
    ];

    it('holds the name a Segment track call was sent with, from a Parquet file', async () => {
      await parquetFile(records);
      expect(await (await openWarehouse()).loadNew()).toEqual({ files: 1, rows: 3 });
      expect(await originalEvents()).toEqual(expected);
    });

    it('holds the same from a gzip NDJSON file', async () => {
      await lakeFile('events', records);
      expect(await (await openWarehouse()).loadNew()).toEqual({ files: 1, rows: 3 });
      expect(await originalEvents()).toEqual(expected);
    });

    it('is filled for the rows of a database created before migration 8', async () => {
      await databaseAtMigration(7);
      await query(
        `INSERT INTO events (message_id, event, context, loaded_at) VALUES
         ('s-track', 'order_completed', '{"segment":{"type":"track","event":"Order Completed"}}', now()),
         ('s-page', 'page_viewed', '{"segment":{"type":"page"}}', now()),
         ('graphql', 'page_viewed', '{"locale":"en-GB"}', now())`,
      );
      await openWarehouse();
      expect(await originalEvents()).toEqual(expected);
    });
  });

  it('stores duplicate messageIds once: within a file, across files of one load, and across loads', async () => {
    await lakeFile('events', [
      stored('dup', { receivedAt: '2024-05-01T10:20:00.000Z', event: 'later' }),
      stored('dup', { receivedAt: '2024-05-01T10:16:00.000Z', event: 'earliest' }),
      stored('solo'),
    ]);
    await lakeFile('events', [stored('dup', { receivedAt: '2024-05-01T10:18:00.000Z', event: 'middle' })]);
    const wh = await openWarehouse();
    expect(await wh.loadNew()).toEqual({ files: 2, rows: 2 });
    await lakeFile('events', [stored('dup', { event: 'redelivered' }), stored('new')]);
    expect(await wh.loadNew()).toEqual({ files: 1, rows: 1 });
    const rows = await query<{ message_id: string; event: string }>(
      'SELECT message_id, event FROM events ORDER BY message_id',
    );
    expect(rows).toEqual([
      { message_id: 'dup', event: 'earliest' },
      { message_id: 'new', event: 'page_viewed' },
      { message_id: 'solo', event: 'page_viewed' },
    ]);
  });

  it('loads failed events, deduped by (messageId, failureType, payload)', async () => {
    await lakeFile('failed', [failed('f1', '{"a":1}'), failed('f1', '{"a":1}'), failed(null, 'not json')]);
    await lakeFile('failed', [failed(null, 'not json'), failed(null, 'other')]);
    const wh = await openWarehouse();
    expect(await wh.loadNew()).toEqual({ files: 2, rows: 3 });
    const rows = await query<Record<string, unknown>>(
      "SELECT message_id, failure_type, payload, errors->>'$[0].code' AS code, schema FROM failed_events ORDER BY payload",
    );
    expect(rows).toEqual([
      {
        message_id: null,
        failure_type: 'schema_violation',
        payload: 'not json',
        code: 'required',
        schema: 'page_viewed/1',
      },
      {
        message_id: null,
        failure_type: 'schema_violation',
        payload: 'other',
        code: 'required',
        schema: 'page_viewed/1',
      },
      {
        message_id: 'f1',
        failure_type: 'schema_violation',
        payload: '{"a":1}',
        code: 'required',
        schema: 'page_viewed/1',
      },
    ]);
  });

  it('ignores temp files and loads a file whose name holds a single quote', async () => {
    await lakeFile('events', [stored('q1')], "events-o'brien.json.gz");
    await lakeFile('events', [stored('tmp')], '.events-half-written.json.gz.tmp');
    const wh = await openWarehouse();
    expect(await wh.loadNew()).toEqual({ files: 1, rows: 1 });
    expect(await wh.rowCount()).toBe(1);
  });

  it('keeps loading good files when one is corrupt, and reports the bad one', async () => {
    await lakeFile('events', [stored('good1')]);
    const bad = path.join(
      lakeDir,
      'events',
      'year=2024',
      'month=05',
      'day=01',
      'hour=10',
      'events-bad.json.gz',
    );
    await writeFile(bad, 'definitely not gzip');
    await lakeFile('events', [stored('good2')]);
    const wh = await openWarehouse();
    await expect(wh.loadNew()).rejects.toMatchObject({
      name: 'WarehouseError',
      code: 'WAREHOUSE_LOAD_FAILED',
    });
    expect(await wh.rowCount()).toBe(2);
  });

  it('serialises concurrent loads so each row is inserted once', async () => {
    for (let i = 0; i < 5; i += 1) await lakeFile('events', [stored(`c${i}`), stored('shared')]);
    const wh = await openWarehouse();
    const reports = await Promise.all([wh.loadNew(), wh.loadNew(), wh.loadNew()]);
    expect(reports.reduce((sum, r) => sum + r.rows, 0)).toBe(6);
    expect(reports.reduce((sum, r) => sum + r.files, 0)).toBe(5);
    expect(await wh.rowCount()).toBe(6);
  });

  describe('eventCounts', () => {
    beforeEach(async () => {
      await lakeFile('events', [
        stored('e1', { event: 'page_viewed', userId: 'u1', timestamp: '2024-05-01T10:00:00.000Z' }),
        stored('e2', { event: 'page_viewed', userId: 'u1', timestamp: '2024-05-01T10:59:59.999Z' }),
        stored('e3', {
          event: 'page_viewed',
          userId: null,
          anonymousId: 'a9',
          timestamp: '2024-05-01T10:30:00.000Z',
        }),
        stored('e4', { event: 'page_viewed', userId: 'u2', timestamp: '2024-05-01T11:00:00.000Z' }),
        stored('e5', { event: 'added_to_cart', userId: 'u1', timestamp: '2024-05-01T11:05:00.000Z' }),
        stored('e6', { event: 'page_viewed', userId: 'u3', timestamp: '2024-05-02T00:00:00.000Z' }),
        // anonymousId a9 and userId a9 are the same person key, by design of coalesce(user, anon).
        stored('e7', { event: 'page_viewed', userId: 'a9', timestamp: '2024-05-01T10:45:00.000Z' }),
      ]);
      await (await openWarehouse()).loadNew();
    });

    it('buckets by UTC hour with distinct users', async () => {
      const rows = await counts('2024-05-01T00:00:00.000Z', '2024-05-03T00:00:00.000Z', 'HOUR');
      expect(rows).toEqual([
        row('2024-05-01T10:00:00.000Z', 'page_viewed', 4, 2),
        row('2024-05-01T11:00:00.000Z', 'added_to_cart', 1, 1),
        row('2024-05-01T11:00:00.000Z', 'page_viewed', 1, 1),
        row('2024-05-02T00:00:00.000Z', 'page_viewed', 1, 1),
      ]);
    });

    it('buckets by UTC day', async () => {
      const rows = await counts('2024-05-01T00:00:00.000Z', '2024-05-03T00:00:00.000Z', 'DAY');
      expect(rows).toEqual([
        row('2024-05-01T00:00:00.000Z', 'added_to_cart', 1, 1),
        row('2024-05-01T00:00:00.000Z', 'page_viewed', 5, 3),
        row('2024-05-02T00:00:00.000Z', 'page_viewed', 1, 1),
      ]);
    });

    it('includes from and excludes to', async () => {
      const rows = await counts('2024-05-01T10:00:00.000Z', '2024-05-01T11:00:00.000Z', 'HOUR');
      expect(rows).toEqual([row('2024-05-01T10:00:00.000Z', 'page_viewed', 4, 2)]);
      const edge = await counts('2024-05-01T10:59:59.999Z', '2024-05-01T11:00:00.001Z', 'HOUR');
      expect(edge.map((r) => r.count)).toEqual([1, 1]);
    });

    it('filters by event names, treating them as values not SQL', async () => {
      const byDay = (events: string[]) =>
        counts('2024-05-01T00:00:00.000Z', '2024-05-03T00:00:00.000Z', 'DAY', { events });
      expect(await byDay(['added_to_cart'])).toEqual([
        row('2024-05-01T00:00:00.000Z', 'added_to_cart', 1, 1),
      ]);
      expect(await byDay(["x' OR '1'='1"])).toEqual([]);
      expect(await byDay([])).toEqual([]);
    });

    it('rejects a granularity outside the allow-list', async () => {
      await expect(
        (warehouse as DuckDbWarehouse).eventCounts({
          from: new Date(0),
          to: new Date(),
          granularity: 'MINUTE' as 'HOUR',
        }),
      ).rejects.toMatchObject({ code: 'WAREHOUSE_INVALID_QUERY' });
    });

    it('keeps the data across reopen', async () => {
      await (warehouse as DuckDbWarehouse).close();
      const wh = await openWarehouse();
      expect(await wh.rowCount()).toBe(7);
      expect(await wh.loadNew()).toEqual({ files: 0, rows: 0 });
      const rows = await counts('2024-05-02T00:00:00.000Z', '2024-05-03T00:00:00.000Z', 'DAY');
      expect(rows).toEqual([row('2024-05-02T00:00:00.000Z', 'page_viewed', 1, 1)]);
    });
  });

  describe('event_user_days', () => {
    /** event_user_days as it should be: events grouped by UTC day, event and person, computed from events. */
    const fromEvents = `
      SELECT epoch_ms(date_trunc('day', event_time AT TIME ZONE 'UTC')) AS day_ms, event, user_num, count(*) AS events
      FROM events WHERE event_time IS NOT NULL GROUP BY ALL ORDER BY ALL`;
    const kept = 'SELECT day_ms, event, user_num, events FROM event_user_days ORDER BY ALL';

    it('holds events per UTC day, event and person across loads, formats, duplicates and late events', async () => {
      await lakeFile('events', [
        stored('d1', { userId: 'u1', timestamp: '2024-05-01T00:00:00.000Z' }),
        stored('d2', { userId: 'u1', timestamp: '2024-05-01T23:59:59.999Z' }),
        stored('d3', { userId: 'u2', timestamp: '2024-05-02T08:00:00.000Z' }),
        stored('d3', { userId: 'u9', timestamp: '2024-05-03T08:00:00.000Z' }),
        stored('d4', { userId: 'u1', event: 'added_to_cart', timestamp: '2024-05-01T12:00:00.000Z' }),
        stored('d5', { userId: null, anonymousId: 'a7', timestamp: 'not a time' }),
      ]);
      const wh = await openWarehouse();
      expect(await wh.loadNew()).toEqual({ files: 1, rows: 5 });
      const afterFirst = await query(kept);
      expect(afterFirst).toEqual(await query(fromEvents));
      expect(afterFirst).toHaveLength(3);

      // Parquet: new people, more events for a (day, event, person) already kept, a late event for
      // an older day, and copies of loaded and of new messageIds.
      await parquetFile([
        rich('d1', { userId: 'u5', timestamp: '2024-05-09T00:00:00.000Z' }),
        rich('p1', { userId: 'u1', timestamp: '2024-05-01T06:00:00.000Z' }),
        rich('p2', { userId: 'u3', timestamp: '2024-05-02T06:00:00.000Z' }),
        rich('p2', { userId: 'u3', timestamp: '2024-05-02T06:00:00.000Z' }),
        rich('p3', { userId: 'u2', timestamp: '2024-04-20T06:00:00.000Z' }),
      ]);
      await parquetFile([rich('p1', { userId: 'u1', timestamp: '2024-05-01T06:00:00.000Z' })]);
      expect(await (await openWarehouse()).loadNew()).toEqual({ files: 2, rows: 3 });
      await lakeFile('events', [stored('g1', { userId: 'u3', timestamp: '2024-05-02T07:00:00.000Z' })]);
      expect(await (await openWarehouse()).loadNew()).toEqual({ files: 1, rows: 1 });

      const final = await query<{ events: bigint }>(kept);
      expect(final).toEqual(await query(fromEvents));
      expect(final.reduce((sum, r) => sum + Number(r.events), 0)).toBe(8);
    });

    it('fills itself from the events of a database created before migration 7', async () => {
      await databaseAtMigration(6);
      await query(
        `INSERT INTO events (message_id, event, user_num, event_time, loaded_at) VALUES
         ('o1', 'e', 1, '2024-05-01T01:00:00Z', now()), ('o2', 'e', 1, '2024-05-01T23:00:00Z', now()),
         ('o3', 'e', 2, '2024-05-01T05:00:00Z', now()), ('o4', 'f', NULL, '2024-05-02T05:00:00Z', now()),
         ('o5', 'e', 1, NULL, now())`,
      );
      await openWarehouse();
      expect(await query(kept)).toEqual([
        { day_ms: 1714521600000n, event: 'e', user_num: 1, events: 2n },
        { day_ms: 1714521600000n, event: 'e', user_num: 2, events: 1n },
        { day_ms: 1714608000000n, event: 'f', user_num: null, events: 1n },
      ]);
    });

    it('answers whole days by day and event from it, and the partial days at the ends from events', async () => {
      await lakeFile('events', [
        stored('w1', { userId: 'u1', timestamp: '2024-05-01T10:00:00.000Z' }),
        stored('w2', { userId: 'u1', timestamp: '2024-05-02T10:00:00.000Z' }),
        stored('w3', { userId: 'u2', timestamp: '2024-05-02T11:00:00.000Z' }),
        stored('w4', { userId: 'u1', timestamp: '2024-05-03T10:00:00.000Z' }),
        stored('w5', { userId: 'u2', timestamp: '2024-05-03T20:00:00.000Z' }),
      ]);
      await (await openWarehouse()).loadNew();
      // Every kept count made wrong on purpose: only what is read from the table changes.
      await query('UPDATE event_user_days SET events = events + 100');
      await openWarehouse();
      const rows = await counts('2024-05-01T09:00:00.000Z', '2024-05-03T12:00:00.000Z', 'DAY');
      expect(rows).toEqual([
        row('2024-05-01T00:00:00.000Z', 'page_viewed', 1, 1),
        row('2024-05-02T00:00:00.000Z', 'page_viewed', 202, 2),
        row('2024-05-03T00:00:00.000Z', 'page_viewed', 1, 1),
      ]);
      // Hours, and days grouped by something else, never read it.
      const byHour = await counts('2024-05-02T00:00:00.000Z', '2024-05-03T00:00:00.000Z', 'HOUR');
      expect(byHour.map((r) => r.count)).toEqual([1, 1]);
      const bySource = await counts('2024-05-02T00:00:00.000Z', '2024-05-03T00:00:00.000Z', 'DAY', {
        groupBy: ['UTM_SOURCE'],
      });
      expect(bySource.map((r) => [r.count, r.users])).toEqual([[2, 2]]);
    });
  });

  it.each([
    ['gzip NDJSON', () => undefined, stored],
    ['Parquet', () => new EventsParquetFormat(), rich],
  ])('loads what LocalLakeDelivery writes as %s, end to end', async (_name, format, event) => {
    const delivery = new LocalLakeDelivery<StoredEvent>({
      rootDir: lakeDir,
      prefix: 'events',
      format: format(),
      flushBytes: 1024 * 1024,
      flushIntervalMs: 10,
      timeOf: (record) => new Date(record.receivedAt),
    });
    const records = Array.from({ length: 2000 }, (_, i) =>
      event(`bulk-${i}`, { receivedAt: `2024-05-01T${String(10 + (i % 3)).padStart(2, '0')}:00:00.000Z` }),
    );
    expect((await delivery.deliver(records)).failed).toEqual([]);
    expect((await delivery.deliver(records.slice(0, 100))).failed).toEqual([]);
    await delivery.close();
    const wh = await openWarehouse();
    expect(await wh.loadNew()).toEqual({ files: 6, rows: 2000 });
    expect(await wh.rowCount()).toBe(2000);
  });

  describe('Parquet lake files', () => {
    // user_num is a surrogate numbered in load order, so it is compared through user_key.
    const everyColumn = (table = 'events') =>
      `SELECT * EXCLUDE (loaded_at, user_num), properties::VARCHAR AS p, context::VARCHAR AS c FROM ${table} ORDER BY message_id`;

    it('loads the same rows as the same records in gzip NDJSON', async () => {
      const records = [rich('rich'), stored('plain'), stored('sent-null', { sentAt: null, userId: 'u2' })];
      await lakeFile('events', records);
      await (await openWarehouse()).loadNew();
      const fromNdjson = await query(everyColumn());

      await rm(lakeDir, { recursive: true, force: true });
      await rm(path.dirname(dbPath), { recursive: true, force: true });
      await parquetFile(records);
      expect(await (await openWarehouse()).loadNew()).toEqual({ files: 1, rows: 3 });
      const fromParquet = await query(everyColumn());
      expect(fromParquet).toEqual(fromNdjson);
      expect(fromParquet[0]).toMatchObject({
        message_id: 'plain',
        browser: null,
        is_bot: null,
        event_time: new Date('2024-05-01T10:15:00.000Z'),
      });
      expect(fromParquet[1]).toMatchObject({
        message_id: 'rich',
        user_key: 'u1',
        browser_version: '126.0',
        is_bot: true,
        clock_skew_ms: -2000n,
        utm_content: "o'hero",
        time_flag: 'future',
      });
      expect(JSON.parse(String(fromParquet[1]?.p))).toEqual(records[0]?.properties);
    });

    it('stores duplicate messageIds once: within a file, across files of one load, and across loads', async () => {
      await parquetFile([
        stored('dup', { receivedAt: '2024-05-01T10:20:00.000Z', event: 'later' }),
        stored('dup', { receivedAt: '2024-05-01T10:16:00.000Z', event: 'earliest' }),
        stored('solo'),
        stored('tie', { event: 'tie-a' }),
      ]);
      await parquetFile([
        stored('dup', { receivedAt: '2024-05-01T10:18:00.000Z', event: 'middle' }),
        stored('tie', { event: 'tie-b' }),
      ]);
      const wh = await openWarehouse();
      expect(await wh.loadNew()).toEqual({ files: 2, rows: 3 });
      await parquetFile([stored('dup', { event: 'redelivered' }), stored('new'), stored('new')]);
      expect(await wh.loadNew()).toEqual({ files: 1, rows: 1 });
      expect(await wh.loadNew()).toEqual({ files: 0, rows: 0 });
      const rows = await query<{ message_id: string; event: string }>(
        'SELECT message_id, event FROM events ORDER BY message_id',
      );
      expect(rows).toEqual([
        { message_id: 'dup', event: 'earliest' },
        { message_id: 'new', event: 'page_viewed' },
        // Same receivedAt: the first file by name wins.
        { message_id: 'solo', event: 'page_viewed' },
        { message_id: 'tie', event: 'tie-a' },
      ]);
      const files = await query<{ path: string; rows: bigint }>(
        'SELECT path, rows FROM loaded_files ORDER BY path',
      );
      // The files in name order: the first gave dup, solo and tie; the second only copies; the third new.
      expect(files.map((f) => f.rows)).toEqual([3n, 0n, 1n]);
    });

    it('keeps a messageId once across gzip NDJSON and Parquet files', async () => {
      await lakeFile('events', [stored('both', { event: 'from-ndjson' }), stored('json-only')]);
      await parquetFile([stored('both', { event: 'from-parquet' }), stored('parquet-only')]);
      const wh = await openWarehouse();
      expect(await wh.loadNew()).toEqual({ files: 2, rows: 3 });
      await parquetFile([stored('json-only'), stored('both')]);
      await lakeFile('events', [stored('parquet-only')]);
      expect(await wh.loadNew()).toEqual({ files: 2, rows: 0 });
      const rows = await query<{ message_id: string; n: bigint }>(
        'SELECT message_id, count(*) AS n FROM events GROUP BY message_id ORDER BY message_id',
      );
      expect(rows).toEqual([
        { message_id: 'both', n: 1n },
        { message_id: 'json-only', n: 1n },
        { message_id: 'parquet-only', n: 1n },
      ]);
    });

    it('skips records without messageId or event', async () => {
      await parquetFile([
        stored('ok'),
        { ...stored('no-event'), event: null as unknown as string },
        { ...stored('x'), messageId: null as unknown as string },
      ]);
      expect(await (await openWarehouse()).loadNew()).toEqual({ files: 1, rows: 1 });
    });

    it('keeps loading good files when one is corrupt, and loads the bad one once it is fixed', async () => {
      await parquetFile([stored('good1')]);
      const bad = await parquetFile([stored('late')], 'events-0002-bad.parquet');
      const good = await readFile(bad);
      await writeFile(bad, 'definitely not parquet');
      await parquetFile([stored('good2')]);
      const wh = await openWarehouse();
      await expect(wh.loadNew()).rejects.toMatchObject({
        name: 'WarehouseError',
        code: 'WAREHOUSE_LOAD_FAILED',
        message: expect.stringContaining('events-0002-bad.parquet'),
      });
      expect(await wh.rowCount()).toBe(2);
      await writeFile(bad, good);
      expect(await wh.loadNew()).toEqual({ files: 1, rows: 1 });
      expect(await wh.rowCount()).toBe(3);
    });
  });

  it('drops the primary key in a rebuild that keeps every row and column', async () => {
    const eventsColumns =
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position";
    await databaseAtMigration(4);
    await query(
      `INSERT INTO events (message_id, event, user_id, anonymous_id, user_key, browser, properties, loaded_at)
       VALUES ('kept', 'e', 'u1', 'a1', 'u1', 'Firefox', '{"a":1}', now())`,
    );
    const columnsBefore = await query(eventsColumns);
    await lakeFile('events', [stored('kept', { event: 'again' }), stored('new')]);
    expect(await (await openWarehouse()).loadNew()).toEqual({ files: 1, rows: 1 });
    expect(await query(eventsColumns)).toEqual([
      ...columnsBefore,
      // Added by the later migrations 6, 8 and 9.
      { column_name: 'user_num', data_type: 'INTEGER' },
      { column_name: 'original_event', data_type: 'VARCHAR' },
      { column_name: 'merges_users', data_type: 'BOOLEAN' },
    ]);
    expect(
      await query(
        "SELECT constraint_type FROM information_schema.table_constraints WHERE table_name = 'events' AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
      ),
    ).toEqual([]);
    expect(
      await query("SELECT message_id, event, browser, properties->>'a' AS a FROM events ORDER BY message_id"),
    ).toEqual([
      { message_id: 'kept', event: 'e', browser: 'Firefox', a: '1' },
      { message_id: 'new', event: 'page_viewed', browser: null, a: null },
    ]);
  });

  it('numbers the people of a database created before migration 6, and keeps their numbers', async () => {
    await databaseAtMigration(5);
    await query(
      `INSERT INTO events (message_id, event, user_key, loaded_at)
       VALUES ('o1', 'e', 'u1', now()), ('o2', 'e', 'u1', now()), ('o3', 'e', 'a2', now()), ('o4', 'e', NULL, now())`,
    );
    await lakeFile('events', [stored('new', { userId: 'u1' })]);
    expect(await (await openWarehouse()).loadNew()).toEqual({ files: 1, rows: 1 });
    expect(
      await query('SELECT user_key, count(*) AS n FROM user_numbers GROUP BY user_key ORDER BY user_key'),
    ).toEqual([
      { user_key: 'a2', n: 1n },
      { user_key: 'u1', n: 1n },
    ]);
    expect(
      await query(
        `SELECT e.message_id, e.user_num = n.user_num AS same FROM events e
         LEFT JOIN user_numbers n ON n.user_key = e.user_key ORDER BY e.message_id`,
      ),
    ).toEqual([
      { message_id: 'new', same: true },
      { message_id: 'o1', same: true },
      { message_id: 'o2', same: true },
      { message_id: 'o3', same: true },
      { message_id: 'o4', same: null },
    ]);
  });

  it('creates database files in the 1.5 storage format, and keeps an older file in its own', async () => {
    const storageVersion = async () => {
      const [row] = await query<{ tags: Array<{ key: string; value: string }> }>(
        "SELECT tags FROM duckdb_databases() WHERE database_name = 'warehouse'",
      );
      return row?.tags.find((t) => t.key === 'storage_version')?.value;
    };
    await (await openWarehouse()).close();
    expect(await storageVersion()).toBe('v1.5.0+');

    await rm(path.dirname(dbPath), { recursive: true, force: true });
    await mkdir(path.dirname(dbPath), { recursive: true });
    const older = await DuckDBInstance.create(dbPath);
    older.closeSync();
    await lakeFile('events', [stored('o1')]);
    await parquetFile([stored('o2')]);
    expect(await (await openWarehouse()).loadNew()).toEqual({ files: 2, rows: 2 });
    expect(await storageVersion()).toBe('v1.0.0+');
    expect(await (await openWarehouse()).rowCount()).toBe(2);
  });

  it('works in memory', async () => {
    await lakeFile('events', [stored('mem')]);
    const wh = await DuckDbWarehouse.open({ databasePath: ':memory:', lakeDir });
    try {
      expect(await wh.loadNew()).toEqual({ files: 1, rows: 1 });
      expect(await wh.rowCount()).toBe(1);
    } finally {
      await wh.close();
    }
  });
});

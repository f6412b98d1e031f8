import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { createKinesisClient } from '../../src/aws/clients';
import { gql } from '../helpers/graphql-client';
import { readLakeEvents } from '../helpers/lake-events';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(60_000);

const API_KEY = 'collector-e2e-key-0123';
const TRACK = `mutation($events: [TrackEventInput!]!) {
  trackEvents(events: $events) { results { messageId status errors { code path message } } }
}`;
const FAILED = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  failedEvents(from: $from, to: $to, limit: 1000) {
    messageId failureType event errors { code path message } payload schema receivedAt processorVersion
  }
}`;
const COUNTS = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  eventCounts(from: $from, to: $to, granularity: DAY) { event count }
}`;

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const now = Date.now();
const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
const range = {
  from: new Date(now - 86_400_000).toISOString(),
  to: new Date(now + 86_400_000).toISOString(),
};

/** Valid events of several schemas (and one without a schema, accepted by the default policy). */
function validCorpus(prefix: string) {
  const context = {
    userAgent: CHROME,
    ip: '198.51.100.23',
    page: {
      url: 'https://shop.example/p/9?utm_source=newsletter&utm_medium=email&utm_campaign=june',
      referrer: 'https://www.bing.com/search?q=shoes',
    },
  };
  return [
    { event: 'product_viewed', properties: { product_id: 'sku-9', price: 20, currency: 'EUR' } },
    { event: 'product_added_to_cart', properties: { product_id: 'sku-9', quantity: 2 } },
    { event: 'order_completed', properties: { order_id: 'o-1', total: 40, currency: 'EUR' } },
    { event: 'identify', properties: { email: 'ada@example.com', plan: 'pro' } },
    { event: 'wishlist_shared', properties: { list: 'birthday' } },
  ].map((e, i) => ({
    ...e,
    messageId: `${prefix}-valid-${i}`,
    userId: `${prefix}-user`,
    timestamp: at(30),
    sentAt: at(29),
    context,
  }));
}

/** Invalid events, each with the failure type and the error path the stream must report. */
function invalidCorpus(prefix: string) {
  const base = { userId: `${prefix}-user`, timestamp: at(20) };
  return [
    {
      body: {
        ...base,
        messageId: `${prefix}-bad-price`,
        event: 'product_viewed',
        properties: { product_id: 'x', price: -1 },
      },
      type: 'SCHEMA_VIOLATION',
      path: '/properties/price',
    },
    {
      body: { ...base, messageId: `${prefix}-no-order`, event: 'order_completed', properties: { total: 3 } },
      type: 'SCHEMA_VIOLATION',
      path: '/properties/order_id',
    },
    {
      body: {
        ...base,
        messageId: `${prefix}-pinned`,
        event: 'product_viewed',
        schemaVersion: '9-0-0',
        properties: { product_id: 'x' },
      },
      type: 'SCHEMA_UNKNOWN',
      path: '/schemaVersion',
    },
    {
      body: { ...base, messageId: `${prefix}-name`, event: 'Bad Name' },
      type: 'ENVELOPE_INVALID',
      path: '/event',
    },
    {
      body: { ...base, messageId: `${prefix}-ip`, event: 'page_viewed', context: { ip: 'not-an-ip' } },
      type: 'ENRICHMENT_FAILED',
      path: '/context/ip',
    },
  ];
}

const lakeEvents = readLakeEvents;

describe('the collector, end to end: schema policing, enrichment, dedupe, failed events', () => {
  let dataDir: string;
  let stack: LocalStack;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-collector-'));
    stack = await startLocalStack(
      testConfig(dataDir, API_KEY, {
        TRIBUTARY_PII_SECRET: 'collector-e2e-pii-secret',
        TRIBUTARY_EDGE_DEDUPE: 'on',
      }),
    );
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores each valid event once, records each invalid one with its reason, and enriches', async () => {
    const viaApi = validCorpus('api');
    const viaStream = validCorpus('direct');
    const badApi = invalidCorpus('api');
    const badStream = invalidCorpus('direct');
    const kinesis = createKinesisClient({
      aws: { region: 'us-east-1', kinesisEndpoint: stack.kinesisEndpoint },
    });
    for (let round = 0; round < 3; round++) {
      const response = await gql<{
        trackEvents: { results: Array<{ status: string; errors: Array<{ code: string; path: string }> }> };
      }>(stack.graphqlUrl, TRACK, { events: [...viaApi, ...badApi.map((b) => b.body)] }, API_KEY);
      const results = response.data?.trackEvents.results ?? [];
      // Edge dedupe is on: a resend answers DUPLICATE (direct producers are deduplicated in the warehouse).
      const fresh = round === 0 ? 'ACCEPTED' : 'DUPLICATE';
      expect(results.slice(0, viaApi.length).every((r) => r.status === fresh)).toBe(true);
      // The edge polices known schemas at once; the bad IP is only found by enrichment in the stream.
      expect(results.slice(viaApi.length).map((r) => [r.status, r.errors[0]?.code ?? null])).toEqual([
        ['REJECTED', 'SCHEMA_VIOLATION'],
        ['REJECTED', 'SCHEMA_VIOLATION'],
        ['REJECTED', 'SCHEMA_UNKNOWN'],
        ['REJECTED', 'ENVELOPE_INVALID'],
        [fresh, null],
      ]);
      const records = [...viaStream, ...badStream.map((b) => b.body)].map((body) => ({
        PartitionKey: body.userId,
        Data: Buffer.from(JSON.stringify(body)),
      }));
      records.push({ PartitionKey: 'junk', Data: Buffer.from('{"event": "page_viewed", "userId": ') });
      const put = await kinesis.send(
        new PutRecordsCommand({ StreamName: 'tributary-events', Records: records }),
      );
      expect(put.FailedRecordCount ?? 0).toBe(0);
    }
    kinesis.destroy();
    await stack.settle();

    const failed = await gql<{
      failedEvents: Array<{
        messageId: string | null;
        failureType: string;
        errors: Array<{ path: string | null; message: string }>;
        payload: string;
        schema: string | null;
        processorVersion: string;
      }>;
    }>(stack.graphqlUrl, FAILED, range, API_KEY);
    expect(failed.errors).toBeUndefined();
    const rows = failed.data?.failedEvents ?? [];
    for (const { body, type, path: pointer } of [...badApi, ...badStream]) {
      const mine = rows.filter((r) => r.messageId === body.messageId);
      expect(mine.length).toBeGreaterThan(0);
      for (const row of mine) {
        expect(row.failureType).toBe(type);
        expect(row.errors.map((e) => e.path)).toContain(pointer);
        expect(row.errors.every((e) => e.message.length > 5)).toBe(true);
        expect(row.processorVersion).toMatch(/^tributary@/);
      }
    }
    expect(rows.filter((r) => r.messageId === 'api-bad-price')[0]?.schema).toBe('product_viewed/1-1-0');
    expect(rows.some((r) => r.failureType === 'MALFORMED' && r.payload.startsWith('{"event"'))).toBe(true);
    // Failed payloads keep IPs only anonymised.
    expect(rows.every((r) => !r.payload.includes('198.51.100.23'))).toBe(true);

    const counts = await gql<{ eventCounts: Array<{ event: string; count: number }> }>(
      stack.graphqlUrl,
      COUNTS,
      range,
      API_KEY,
    );
    const byEvent = Object.fromEntries((counts.data?.eventCounts ?? []).map((c) => [c.event, c.count]));
    // Five valid events through each door, each sent three times: two of each name, once each.
    expect(byEvent).toEqual({
      product_viewed: 2,
      product_added_to_cart: 2,
      order_completed: 2,
      identify: 2,
      wishlist_shared: 2,
    });

    const stored = (await lakeEvents(dataDir)).filter(
      (e) => e.messageId === 'api-valid-0' || e.messageId === 'direct-valid-3',
    );
    const viewed = stored.find((e) => e.messageId === 'api-valid-0');
    expect(viewed).toMatchObject({
      itemId: 'sku-9',
      schemaVersion: '1-1-0',
      context: expect.objectContaining({ ip: '198.51.100.0' }),
      enrichment: expect.objectContaining({
        browser: 'Chrome',
        os: 'Windows',
        deviceType: 'desktop',
        utmSource: 'newsletter',
        utmCampaign: 'june',
        referrerClass: 'search',
        referrerHost: 'www.bing.com',
        timeFlag: null,
      }),
    });
    expect(typeof viewed?.enrichment?.clockSkewMs).toBe('number');
    const identified = stored.find((e) => e.messageId === 'direct-valid-3');
    expect(identified?.properties.email).toMatch(/^[0-9a-f]{64}$/);
    expect(identified?.properties.plan).toBe('pro');
  });
});

describe('replaying failed events after a schema fix', () => {
  let dataDir: string;
  let stack: LocalStack;
  const start = (unknownEvents: 'accept' | 'reject') =>
    startLocalStack(testConfig(dataDir, API_KEY, { TRIBUTARY_UNKNOWN_EVENTS: unknownEvents }));
  const REPLAY = `mutation($from: DateTimeISO!, $to: DateTimeISO!) {
    replayFailedEvents(from: $from, to: $to, type: SCHEMA_UNKNOWN) { replayed skipped notWritten truncated }
  }`;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-replay-'));
    stack = await start('reject');
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores each replayed event once, however often the range is replayed', async () => {
    const kinesis = createKinesisClient({
      aws: { region: 'us-east-1', kinesisEndpoint: stack.kinesisEndpoint },
    });
    const bodies = [
      { messageId: 'r-1', event: 'gift_card_bought', userId: 'r-user', timestamp: at(10) },
      { messageId: 'r-2', event: 'gift_card_bought', userId: 'r-user', timestamp: at(9) },
      // No messageId: the replay must keep the id derived from the record's first place in the stream.
      { event: 'gift_card_bought', userId: 'r-user', timestamp: at(8) },
    ];
    await kinesis.send(
      new PutRecordsCommand({
        StreamName: 'tributary-events',
        Records: bodies.map((b) => ({ PartitionKey: 'r-user', Data: Buffer.from(JSON.stringify(b)) })),
      }),
    );
    kinesis.destroy();
    await stack.settle();
    const failed = await gql<{ failedEvents: Array<{ failureType: string }> }>(
      stack.graphqlUrl,
      FAILED,
      range,
      API_KEY,
    );
    expect(failed.data?.failedEvents.map((f) => f.failureType)).toEqual([
      'SCHEMA_UNKNOWN',
      'SCHEMA_UNKNOWN',
      'SCHEMA_UNKNOWN',
    ]);

    // The "fix": the event becomes acceptable. Replay twice; the warehouse must count each event once.
    await stack.close();
    stack = await start('accept');
    for (let run = 0; run < 2; run++) {
      const replay = await gql<{ replayFailedEvents: Record<string, unknown> }>(
        stack.graphqlUrl,
        REPLAY,
        range,
        API_KEY,
      );
      expect(replay.errors).toBeUndefined();
      expect(replay.data?.replayFailedEvents).toEqual({
        replayed: 3,
        skipped: 0,
        notWritten: 0,
        truncated: false,
      });
      await stack.settle();
    }
    const counts = await gql<{ eventCounts: Array<{ event: string; count: number }> }>(
      stack.graphqlUrl,
      COUNTS,
      range,
      API_KEY,
    );
    expect(counts.data?.eventCounts).toEqual([{ event: 'gift_card_bought', count: 3 }]);
  });
});

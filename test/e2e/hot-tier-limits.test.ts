import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../src/aws/clients';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { gql } from '../helpers/graphql-client';
import { readLakeEvents } from '../helpers/lake-events';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(120_000);

/** The bootstrap SECRET key: every scope, as an operator's would have. */
const API_KEY = 'hot-limits-e2e-key-0123';
const TRACK = `mutation($events: [TrackEventInput!]!) { trackEvents(events: $events) { accepted rejected } }`;
const USER = `query($id: ID!) { user(id: $id) { eventCount traits counts { event count } } }`;
const FAILED = `query($from: DateTimeISO!, $to: DateTimeISO!, $type: FailureType) {
  failedEvents(from: $from, to: $to, type: $type, limit: 1000) {
    messageId failureType event errors { code path message } payload
  }
}`;
const TRENDING = `query($window: TrendWindow) {
  trending(event: "product_viewed", window: $window, limit: 20) { itemId count }
}`;
const ITEM = `query($id: ID!) { item(id: $id) { stats { total weight } } }`;
const COUNTS = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  eventCounts(from: $from, to: $to, granularity: HOUR) { event count users }
}`;

/** A user agent isbot recognises and ua-parser-js (with its bot extensions) does not. */
const HEADLESS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Googlebot/2.1 (+http://www.google.com/bot.html)';
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

interface Failed {
  messageId: string;
  failureType: string;
  event: string;
  errors: Array<{ code: string; path: string | null; message: string }>;
  payload: string;
}

describe('hot-tier limits, end to end', () => {
  let dataDir: string;
  let stack: LocalStack;
  const now = Date.now();
  const recent = (i: number) => new Date(now - 600_000 + i).toISOString();
  const range = {
    from: new Date(now - 2 * 86_400_000).toISOString(),
    to: new Date(now + 86_400_000).toISOString(),
  };

  const send = async (events: Array<Record<string, unknown>>) => {
    const response = await gql<{ trackEvents: { accepted: number } }>(
      stack.graphqlUrl,
      TRACK,
      { events },
      API_KEY,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data?.trackEvents.accepted).toBe(events.length);
  };
  const query = async <T>(q: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const response = await gql<T>(stack.graphqlUrl, q, variables, API_KEY);
    expect(response.errors).toBeUndefined();
    return response.data as T;
  };
  const view = (userId: string, itemId: string, messageId: string, userAgent = CHROME) => ({
    event: 'product_viewed',
    userId,
    messageId,
    timestamp: recent(0),
    properties: { product_id: itemId },
    context: { userAgent },
  });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-hot-limits-e2e-'));
    stack = await startLocalStack(testConfig(dataDir, API_KEY));
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps counting a profile whose traits reach the caps, and lists what it dropped as PROFILE_LIMIT', async () => {
    // 23 identifies of 20 new traits of 900 bytes each: about 414 KB, past DynamoDB's 400 KB item.
    const identifies = Array.from({ length: 23 }, (_, round) => ({
      event: 'identify',
      userId: 'trait-hoarder',
      messageId: `hoard-${round}`,
      timestamp: recent(round),
      properties: {
        traits: Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`t${round}_${k}`, 'v'.repeat(900)])),
      },
    }));
    for (let start = 0; start < identifies.length; start += 5) await send(identifies.slice(start, start + 5));
    await send([
      { event: 'page_viewed', userId: 'trait-hoarder', messageId: 'hoard-after', timestamp: recent(30) },
    ]);
    await stack.settle();

    const { user } = await query<{ user: { eventCount: number; traits: Record<string, unknown> } }>(USER, {
      id: 'trait-hoarder',
    });
    expect(user.eventCount).toBe(24);
    expect(Buffer.byteLength(JSON.stringify(user.traits))).toBeLessThanOrEqual(16 * 1024);

    const { failedEvents } = await query<{ failedEvents: Failed[] }>(FAILED, {
      ...range,
      type: 'PROFILE_LIMIT',
    });
    const hoarded = failedEvents.filter((f) => f.messageId.startsWith('hoard-'));
    expect(hoarded.map((f) => f.messageId).sort()).toEqual(identifies.map((i) => i.messageId).sort());
    const second = hoarded.find((f) => f.messageId === 'hoard-1');
    expect(second).toMatchObject({ failureType: 'PROFILE_LIMIT', event: 'identify' });
    expect(second?.errors).toHaveLength(20);
    expect(second?.errors[0]).toEqual({
      code: 'TRAIT_DROPPED',
      path: null,
      message: 'trait "t1_0" not kept: the profile keeps 16384 bytes of traits',
    });
    // Each is also an ordinary delivered event.
    const { eventCounts } = await query<{ eventCounts: Array<{ event: string; count: number }> }>(
      COUNTS,
      range,
    );
    expect(eventCounts.filter((c) => c.event === 'identify').reduce((sum, c) => sum + c.count, 0)).toBe(23);
  });

  it("keeps one visitor's 572 views of an item below an item 7 visitors viewed once", async () => {
    const noisy = Array.from({ length: 572 }, (_, i) => view('noisy-visitor', 'item-a', `noisy-${i}`));
    const several = Array.from({ length: 7 }, (_, u) => view(`visitor-${u}`, 'item-b', `several-${u}`));
    await send(noisy.slice(0, 300));
    await send([...noisy.slice(300), ...several]);
    await stack.settle();

    for (const window of ['HOUR', 'DAY']) {
      const { trending } = await query<{ trending: Array<{ itemId: string; count: number }> }>(TRENDING, {
        window,
      });
      const rank = (id: string) => trending.findIndex((t) => t.itemId === id);
      expect(rank('item-b')).toBeGreaterThanOrEqual(0);
      expect(rank('item-b')).toBeLessThan(rank('item-a'));
      expect(trending.find((t) => t.itemId === 'item-b')?.count).toBe(7);
    }
    const a = await query<{ item: { stats: { total: number; weight: number } } }>(ITEM, { id: 'item-a' });
    const b = await query<{ item: { stats: { total: number; weight: number } } }>(ITEM, { id: 'item-b' });
    expect(a.item.stats.total).toBeLessThan(b.item.stats.total);
    expect(b.item.stats).toEqual({ total: 7, weight: 7 });
    // The visitor's own profile counts every view.
    const { user } = await query<{ user: { eventCount: number } }>(USER, { id: 'noisy-visitor' });
    expect(user.eventCount).toBe(572);
  });

  it('stores bot events in the warehouse with their flag, but never in trending or item popularity', async () => {
    // An hour of its own, so its counts are the bots' alone.
    const hour = new Date(Math.floor((now - 86_400_000) / 3_600_000) * 3_600_000);
    const at = (i: number) => new Date(hour.getTime() + 60_000 + i * 1000).toISOString();
    const googlebot = Array.from({ length: 30 }, (_, i) => ({
      ...view('crawler-google', 'bot-bait', `googlebot-${i}`, GOOGLEBOT),
      timestamp: at(i),
    }));
    await send(googlebot);
    // A headless browser writing straight to the stream, as a direct producer would.
    const kinesis = createKinesisClient({
      aws: { region: 'us-east-1', kinesisEndpoint: stack.kinesisEndpoint },
    });
    try {
      for (let i = 0; i < 30; i++) {
        const record = {
          ...view('crawler-headless', 'bot-bait', `headless-${i}`, HEADLESS),
          timestamp: at(30 + i),
        };
        await kinesis.send(
          new PutRecordCommand({
            StreamName: 'tributary-events',
            PartitionKey: 'crawler-headless',
            Data: Buffer.from(JSON.stringify(record)),
          }),
        );
      }
    } finally {
      kinesis.destroy();
    }
    await stack.settle();

    const counts = await query<{ eventCounts: Array<{ event: string; count: number; users: number }> }>(
      COUNTS,
      {
        from: hour.toISOString(),
        to: new Date(hour.getTime() + 3_600_000).toISOString(),
      },
    );
    expect(counts.eventCounts).toEqual([{ event: 'product_viewed', count: 60, users: 2 }]);
    const lake = (await readLakeEvents(dataDir)).filter((e) => e.properties.product_id === 'bot-bait');
    expect(lake).toHaveLength(60);
    expect(lake.every((e) => e.enrichment?.isBot === true)).toBe(true);

    for (const window of ['HOUR', 'DAY']) {
      const { trending } = await query<{ trending: Array<{ itemId: string }> }>(TRENDING, { window });
      expect(trending.map((t) => t.itemId)).not.toContain('bot-bait');
    }
    expect((await query<{ item: unknown }>(ITEM, { id: 'bot-bait' })).item).toBeNull();
    const { user } = await query<{ user: { eventCount: number } }>(USER, { id: 'crawler-headless' });
    expect(user.eventCount).toBe(30);
  });
});

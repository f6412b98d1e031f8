import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { gql } from '../helpers/graphql-client';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(60_000);

const API_KEY = 'hot-e2e-key-0123';
const TRACK = `mutation($events: [TrackEventInput!]!) { trackEvents(events: $events) { accepted rejected } }`;
const USER = `query($id: ID!) {
  user(id: $id) {
    id eventCount lastEvent traits sessionCount
    counts { event count }
    sessions { start end events }
    recentEvents(limit: 3) { event itemId }
    recommendations(limit: 5) { itemId score reason }
  }
}`;
const RECS = `query($userId: ID, $itemId: ID) { recommendations(userId: $userId, itemId: $itemId, limit: 5) { itemId score reason } }`;
const ITEM = `query($id: ID!) { item(id: $id) { id stats { total counts { event count } } alsoViewed(limit: 5) { itemId } } }`;
const TRENDING = `query($event: String) { trending(event: $event, window: HOUR, limit: 3) { itemId score count } }`;

interface Rec {
  itemId: string;
  score: number;
  reason: string;
}

describe('hot tier and recommendations, end to end', () => {
  let dataDir: string;
  let stack: LocalStack;
  let sequence = 0;
  const now = Date.now();

  const event = (userId: string, name: string, productId?: string, extra: Record<string, unknown> = {}) => ({
    event: name,
    userId,
    messageId: `hot-${++sequence}`,
    timestamp: new Date(now - 3_600_000 + sequence * 1000).toISOString(),
    properties: productId === undefined ? extra : { product_id: productId, ...extra },
  });
  const send = async (events: unknown[]) => {
    const response = await gql<{ trackEvents: { accepted: number } }>(
      stack.graphqlUrl,
      TRACK,
      { events },
      API_KEY,
    );
    expect(response.data?.trackEvents.accepted).toBe(events.length);
  };
  const query = async <T>(q: string, variables: Record<string, unknown>): Promise<T> => {
    const response = await gql<T>(stack.graphqlUrl, q, variables, API_KEY);
    expect(response.errors).toBeUndefined();
    return response.data as T;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-hot-e2e-'));
    stack = await startLocalStack(testConfig(dataDir, API_KEY));
    // Shoppers who view the camera mostly go on to the planted partner, the tripod; the
    // background traffic views popular items at random.
    const events = [];
    for (let u = 0; u < 12; u++) {
      const user = `shopper-${u}`;
      events.push(event(user, 'product_viewed', 'camera'));
      events.push(event(user, 'product_viewed', `filler-${u % 4}`));
      events.push(event(user, 'product_viewed', 'tripod'));
      if (u % 2 === 0) events.push(event(user, 'product_added_to_cart', 'tripod'));
      if (u % 3 === 0) events.push(event(user, 'product_purchased', 'tripod'));
    }
    for (let u = 0; u < 20; u++) {
      events.push(event(`browser-${u}`, 'product_viewed', `filler-${u % 4}`));
      events.push(event(`browser-${u}`, 'product_viewed', `filler-${(u + 1) % 4}`));
    }
    await send(events);
    await stack.settle();
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('recommends the planted partner for the item and for a new user who viewed it', async () => {
    const forItem = await query<{ recommendations: Rec[] }>(RECS, { itemId: 'camera' });
    expect(forItem.recommendations.map((r) => r.itemId)).toContain('tripod');
    expect(forItem.recommendations[0]).toMatchObject({ itemId: 'tripod', reason: 'co-occurs with camera' });

    await send([event('newcomer', 'product_viewed', 'camera')]);
    await stack.settle();
    const user = await query<{ user: { recommendations: Rec[] } }>(USER, { id: 'newcomer' });
    expect(user.user.recommendations.slice(0, 5).map((r) => r.itemId)).toContain('tripod');
    const item = await query<{ item: { alsoViewed: Array<{ itemId: string }> } }>(ITEM, { id: 'camera' });
    expect(item.item.alsoViewed[0]?.itemId).toBe('tripod');
  });

  it('never recommends what the user bought, and falls back to trending for a stranger', async () => {
    const buyer = await query<{ recommendations: Rec[] }>(RECS, { userId: 'shopper-0' });
    expect(buyer.recommendations.map((r) => r.itemId)).not.toContain('tripod');
    const stranger = await query<{ recommendations: Rec[] }>(RECS, { userId: 'nobody-yet' });
    expect(stranger.recommendations.length).toBe(5);
    expect(stranger.recommendations.every((r) => r.reason === 'trending')).toBe(true);
  });

  it('takes limit and window as optional arguments: null or absent means the default', async () => {
    const optional = `query($limit: Int, $window: TrendWindow) {
      recommendations(limit: $limit) { itemId }
      trending(window: $window, limit: $limit) { itemId }
    }`;
    const asNull = await query<{ recommendations: Rec[]; trending: Rec[] }>(optional, {
      limit: null,
      window: null,
    });
    const absent = await query<{ recommendations: Rec[]; trending: Rec[] }>(optional, {});
    const explicit = await query<{ recommendations: Rec[]; trending: Rec[] }>(
      `{ recommendations(limit: 10) { itemId } trending(window: HOUR, limit: 10) { itemId } }`,
      {},
    );
    expect(asNull).toEqual(explicit);
    expect(absent).toEqual(explicit);
    expect(explicit.trending.length).toBeGreaterThan(3);
  });

  it('counts what was sent, and a resent batch with the same messageIds changes no counter', async () => {
    const batch = [
      event('counter', 'identify', undefined, { traits: { plan: 'pro' } }),
      event('counter', 'product_viewed', 'lamp'),
      event('counter', 'product_viewed', 'lamp'),
      event('counter', 'product_added_to_cart', 'lamp'),
    ];
    await send(batch);
    await stack.settle();
    const before = await query<{ user: Record<string, unknown> }>(USER, { id: 'counter' });
    expect(before.user).toMatchObject({
      eventCount: 4,
      traits: { plan: 'pro' },
      sessionCount: 1,
      counts: [
        { event: 'product_viewed', count: 2 },
        { event: 'identify', count: 1 },
        { event: 'product_added_to_cart', count: 1 },
      ],
      recentEvents: [
        { event: 'product_added_to_cart', itemId: 'lamp' },
        { event: 'product_viewed', itemId: 'lamp' },
        { event: 'product_viewed', itemId: 'lamp' },
      ],
    });
    const itemBefore = await query(ITEM, { id: 'lamp' });
    // Scores decay with the clock; what was counted must not move.
    const counted = async () =>
      (
        await query<{ trending: Array<{ itemId: string; count: number }> }>(TRENDING, {
          event: 'product_added_to_cart',
        })
      ).trending.map(({ itemId, count }) => ({ itemId, count }));
    const trendBefore = await counted();

    await send(batch);
    await stack.settle();
    // Trending fallbacks in the recommendations decay with the clock, so their scores are left out.
    const withoutScores = (value: unknown) =>
      JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'score' ? undefined : v))) as unknown;
    expect(withoutScores(await query(USER, { id: 'counter' }))).toEqual(withoutScores(before));
    expect(await query(ITEM, { id: 'lamp' })).toEqual(itemBefore);
    expect(await counted()).toEqual(trendBefore);
  });

  it('counts every product of an order as purchased, without per-product events', async () => {
    await send([
      event('orderer', 'product_viewed', 'kettle'),
      event('orderer', 'order_completed', undefined, {
        order_id: 'order-e2e-1',
        products: [
          { product_id: 'kettle', price: 49.9, quantity: 1 },
          { product_id: 'teapot', price: 19, quantity: 2 },
        ],
      }),
    ]);
    await stack.settle();
    const orderer = await query<{ user: Record<string, unknown> & { recommendations: Rec[] } }>(USER, {
      id: 'orderer',
    });
    expect(orderer.user).toMatchObject({
      eventCount: 2,
      counts: expect.arrayContaining([{ event: 'order_completed', count: 1 }]),
      recentEvents: [
        { event: 'order_completed', itemId: null },
        { event: 'product_viewed', itemId: 'kettle' },
      ],
    });
    // Both were bought, so neither is recommended back to the buyer.
    const recommended = orderer.user.recommendations.map((r) => r.itemId);
    expect(recommended).not.toContain('kettle');
    expect(recommended).not.toContain('teapot');
    const teapot = await query<{
      item: {
        stats: { counts: Array<{ event: string; count: number }> };
        alsoViewed: Array<{ itemId: string }>;
      };
    }>(ITEM, { id: 'teapot' });
    expect(teapot.item.stats.counts).toEqual([{ event: 'order_completed', count: 1 }]);
    expect(teapot.item.alsoViewed.map((n) => n.itemId)).toEqual(['kettle']);
  });

  it('follows a burst in trending within seconds', async () => {
    const burst = Array.from({ length: 30 }, (_, i) => event(`fan-${i}`, 'product_viewed', 'viral-hat'));
    await send(burst);
    const started = Date.now();
    let top: { itemId: string; count: number } | undefined;
    // The burst spreads over shards and batches; it must have landed whole within seconds.
    while (Date.now() - started < 5_000 && top?.count !== 30) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const answer = await query<{ trending: Array<{ itemId: string; count: number; score: number }> }>(
        TRENDING,
        { event: 'product_viewed' },
      );
      top = answer.trending.map(({ itemId, count }) => ({ itemId, count }))[0];
    }
    expect(top).toEqual({ itemId: 'viral-hat', count: 30 });
  });
});

import type { Contribution } from '../../src/realtime/contribution';
import { reduceItem, similarity } from '../../src/realtime/items';
import { reduceProfile } from '../../src/realtime/profile';
import { RECENCY, userRecommendations } from '../../src/realtime/recommend';
import { addToSessions } from '../../src/realtime/sessions';
import { readTrend, reduceTrend } from '../../src/realtime/trending';
import { contribution } from '../helpers/contribution';

const T0 = Date.UTC(2026, 0, 1, 12);
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

let n = 0;
/** One contribution of u1 about the given items (none, one, or an order's products). */
function c(event: string, itemIds: string | string[] | null, minute = n): Contribution {
  n++;
  return contribution({
    messageId: `m${n}`,
    event,
    timestamp: iso(minute),
    sequence: String(n).padStart(10, '0'),
    itemIds: itemIds === null ? [] : typeof itemIds === 'string' ? [itemIds] : itemIds,
  });
}

describe('sessions', () => {
  it('opens a session after 30 minutes of inactivity and bridges two with a late event', () => {
    let s = addToSessions([], iso(0)).sessions;
    s = addToSessions(s, iso(29)).sessions;
    const split = addToSessions(s, iso(61));
    expect(split.change).toBe(1);
    const bridged = addToSessions(split.sessions, iso(45));
    expect(bridged).toEqual({ sessions: [{ start: iso(0), end: iso(61), events: 4 }], change: -1 });
  });
});

describe('reduceProfile', () => {
  it('grows co-occurrence by min(weights) once per user and pair, and remembers purchases', () => {
    const { state, pairs, touches } = reduceProfile(null, [
      c('product_viewed', 'a'),
      c('product_viewed', 'b'),
      c('product_viewed', 'b'),
      c('product_purchased', 'b'),
    ]);
    const ab = pairs.filter((p) => p.itemId === 'a' && p.otherId === 'b').reduce((sum, p) => sum + p.co, 0);
    // view a (1) with view b (1) → 1; the purchase of b lifts b to 5 but min(1, 5) stays 1.
    expect(ab).toBe(1);
    expect(touches.map((t) => t.weightDelta)).toEqual([1, 1, 0, 4]);
    expect(state.purchased).toEqual(['b']);
    expect(state.recentItems.map((i) => [i.id, i.weight])).toEqual([
      ['b', 5],
      ['a', 1],
    ]);
  });

  it('counts an order once but gives each of its products, once, a purchase', () => {
    const view = c('product_viewed', 'a');
    const order = c('order_completed', ['a', 'b', 'a']);
    const { state, touches, pairs } = reduceProfile(null, [view, order]);
    expect(state.eventCount).toBe(2);
    expect(state.counts).toEqual({ product_viewed: 1, order_completed: 1 });
    expect(state.sessions).toEqual([expect.objectContaining({ events: 2 })]);
    expect(state.recentEvents.map((e) => [e.event, e.itemId])).toEqual([
      // An order of several products names no single item.
      ['order_completed', null],
      ['product_viewed', 'a'],
    ]);
    expect(state.purchased).toEqual(['b', 'a']);
    expect(state.recentItems.map((i) => [i.id, i.weight])).toEqual([
      ['b', 5],
      ['a', 5],
    ]);
    const ofOrder = touches.filter((t) => t.sequence === order.sequence);
    expect(ofOrder.map((t) => [t.itemId, t.event, t.weightDelta])).toEqual([
      ['a', 'order_completed', 4],
      ['b', 'order_completed', 5],
    ]);
    // Bought together: b co-occurs with a as strongly as two purchases can, in both directions.
    expect(pairs.map((p) => [p.itemId, p.otherId, p.co, p.sequence])).toEqual([
      ['b', 'a', 5, order.sequence],
      ['a', 'b', 5, order.sequence],
    ]);
  });

  it('adds no weight or co-occurrence when a product_purchased repeats a purchase the order made', () => {
    const order = reduceProfile(null, [c('order_completed', ['a', 'b'])]);
    const again = reduceProfile(order.state, [c('product_purchased', 'a'), c('product_purchased', 'b')]);
    expect(again.pairs).toEqual([]);
    expect(again.touches.map((t) => t.weightDelta)).toEqual([0, 0]);
    expect(again.state.purchased).toEqual(['b', 'a']);
  });

  it('names the item of a one-product order in its recent event', () => {
    const { state } = reduceProfile(null, [c('order_completed', ['a'])]);
    expect(state.recentEvents.map((e) => e.itemId)).toEqual(['a']);
    expect(state.purchased).toEqual(['a']);
  });

  it('is deterministic whatever order the contributions arrive in', () => {
    const batch = [c('product_viewed', 'a'), c('product_added_to_cart', 'b'), c('identify', null)];
    expect(reduceProfile(null, [...batch].reverse())).toEqual(reduceProfile(null, batch));
  });
});

describe('counts keyed by event name', () => {
  it('counts an event named like an Object.prototype member from 0', () => {
    const { state } = reduceProfile(null, [
      c('constructor', 'i1'),
      c('toString', null),
      c('constructor', null),
    ]);
    expect(state.counts).toEqual({ constructor: 2, toString: 1 });
  });
});

describe('item similarity', () => {
  it('ranks a niche partner above an item everyone views', () => {
    const pairs = [
      {
        itemId: 'a',
        event: 'product_viewed',
        weightDelta: 20,
        receivedAt: iso(0),
        shardId: 's',
        sequence: '1',
      },
      { itemId: 'a', otherId: 'niche', co: 8, shardId: 's', sequence: '1' },
      { itemId: 'a', otherId: 'bestseller', co: 10, shardId: 's', sequence: '1' },
    ];
    const weights: Record<string, number> = { niche: 10, bestseller: 1000 };
    const state = reduceItem(null, pairs, (id) => weights[id]);
    expect(state.weight).toBe(20);
    expect(state.neighbours.map((x) => x.id)).toEqual(['niche', 'bestseller']);
    expect(similarity(1, 1, 1)).toBeLessThan(similarity(10, 10, 10));
  });
});

describe('trending', () => {
  const touch = (itemId: string, minute: number) => ({
    itemId,
    event: 'product_viewed',
    weightDelta: 1,
    receivedAt: iso(minute),
    shardId: 's',
    sequence: String(minute),
  });

  it('lets a recent burst overtake older, larger counts, and halves scores every window', () => {
    let state = reduceTrend(
      null,
      Array.from({ length: 10 }, () => touch('old', 0)),
      'HOUR',
    );
    state = reduceTrend(
      state,
      Array.from({ length: 6 }, () => touch('burst', 120)),
      'HOUR',
    );
    const read = readTrend(state, 'HOUR', T0 + 120 * 60_000, 2);
    expect(read.map((t) => t.itemId)).toEqual(['burst', 'old']);
    expect(read[1]?.score).toBeCloseTo(2.5);
    expect(read.map((t) => t.count)).toEqual([6, 0]);
  });

  it('drops entries decayed past noticing, before their scores fall below what DynamoDB stores', () => {
    const DAY_MINUTES = 24 * 60;
    let state = reduceTrend(null, [touch('old', 0)], 'HOUR');
    state = reduceTrend(state, [touch('day-later', DAY_MINUTES)], 'HOUR');
    // A day is 24 halvings: still kept, and tiny.
    expect(state.items.map((i) => i.id)).toEqual(['day-later', 'old']);
    state = reduceTrend(state, [touch('weeks-later', 20 * DAY_MINUTES)], 'HOUR');
    expect(state.items.map((i) => i.id)).toEqual(['weeks-later']);
    expect(Math.min(...state.items.map((i) => i.s))).toBeGreaterThan(1e-130);
  });

  it('takes a batch touching more items than a function call takes arguments', () => {
    const touches = Array.from({ length: 200_000 }, (_, i) => touch(`sku-${i % 150}`, i % 60));
    const state = reduceTrend(null, touches, 'HOUR');
    expect(state.ref).toBe(iso(59));
    expect(state.items).toHaveLength(150);
  });
});

describe('userRecommendations', () => {
  const neighbours = new Map([
    [
      'a',
      [
        { id: 'x', co: 3, nb: 3, score: 0.9 },
        { id: 'bought', co: 3, nb: 3, score: 0.9 },
      ],
    ],
    ['b', [{ id: 'y', co: 3, nb: 3, score: 0.9 }]],
  ]);

  it('blends neighbours by recency, skips purchases and fills with trending', () => {
    const recs = userRecommendations({
      recentItems: [
        { id: 'a', weight: 1, at: iso(2) },
        { id: 'b', weight: 1, at: iso(1) },
      ],
      exclude: ['bought'],
      neighbours,
      trending: [
        { itemId: 'x', score: 9, count: 9 },
        { itemId: 't', score: 5, count: 5 },
      ],
      limit: 3,
    });
    // Equally strong neighbours: the one of the newer item leads, the older one counts RECENCY times less.
    expect(recs.map((r) => [r.itemId, r.reason])).toEqual([
      ['x', 'co-occurs with a'],
      ['y', 'co-occurs with b'],
      ['t', 'trending'],
    ]);
    expect(recs[1]?.score).toBeCloseTo((recs[0]?.score ?? 0) * RECENCY);
    expect(recs[2]?.score).toBeLessThan(recs[1]?.score ?? 0);
  });
});

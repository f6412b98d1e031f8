import { MemoryHotStore } from '../../scripts/eval/memory-hot-store';
import type { HotActivity } from '../../src/realtime/activity';
import type { Contribution } from '../../src/realtime/contribution';
import type { HotTierFailure } from '../../src/realtime/failures';
import { countInteraction, type CountedItem } from '../../src/realtime/item-counts';
import { DEFAULT_PROFILE_LIMITS, reduceProfile } from '../../src/realtime/profile';
import { mergeTraits } from '../../src/realtime/traits';
import { readTrend } from '../../src/realtime/trending';
import { contribution } from '../helpers/contribution';

const T0 = Date.UTC(2026, 0, 1, 12);
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

let n = 0;
function c(event: string, options: Partial<Contribution> = {}): Contribution {
  n++;
  return contribution({
    messageId: `m${n}`,
    event,
    timestamp: iso(n),
    sequence: String(n).padStart(10, '0'),
    ...options,
  });
}

/** An identify of `keys` new traits of about 900 bytes each: 20 of them fill a 32 KiB event. */
function bigIdentify(round: number, keys = 20): Contribution {
  const traits = Object.fromEntries(
    Array.from({ length: keys }, (_, k) => [`t${round}_${k}`, 'v'.repeat(900)]),
  );
  return c('identify', { traits });
}

describe('mergeTraits', () => {
  const limits = { traitKeys: 3, traitBytes: 100 };

  it('drops new keys past the count, in the order the event lists them, and still updates kept keys', () => {
    const merged = mergeTraits({ a: 1, b: 2 }, { c: 3, d: 4, a: 10, e: 5 }, limits);
    expect(merged.traits).toEqual({ a: 10, b: 2, c: 3 });
    expect(merged.dropped).toEqual([
      { key: 'd', limit: 'traitKeys' },
      { key: 'e', limit: 'traitKeys' },
    ]);
  });

  it('drops what would put the JSON past the bytes, but takes a later key that still fits', () => {
    const merged = mergeTraits({}, { a: 'x'.repeat(40), b: 'y'.repeat(60), c: 'z' }, limits);
    expect(merged.traits).toEqual({ a: 'x'.repeat(40), c: 'z' });
    expect(merged.dropped).toEqual([{ key: 'b', limit: 'traitBytes' }]);
    expect(jsonBytes(merged.traits)).toBeLessThanOrEqual(limits.traitBytes);
  });

  it('counts bytes exactly as UTF-8 JSON, up to the limit itself', () => {
    // {"a":"…"} is 8 bytes plus the value; "é" is two bytes.
    const fits = mergeTraits({}, { a: 'é'.repeat(46) }, limits);
    expect(jsonBytes(fits.traits)).toBe(100);
    expect(fits.dropped).toEqual([]);
    expect(mergeTraits({}, { a: `${'é'.repeat(46)}x` }, limits).dropped).toHaveLength(1);
  });

  it('lets traits stored past the limits shrink but never grow', () => {
    const stored = { a: 'x'.repeat(200), b: 1, c: 2, d: 3 };
    const merged = mergeTraits(stored, { a: 'short', b: 'y'.repeat(80), e: 4 }, limits);
    expect(merged.traits).toEqual({ a: 'short', b: 1, c: 2, d: 3 });
    expect(merged.dropped.map((d) => d.key)).toEqual(['b', 'e']);
  });

  it('keeps a key named __proto__ as an ordinary key', () => {
    const incoming = JSON.parse('{"__proto__": {"polluted": true}, "plan": "pro"}') as Record<
      string,
      unknown
    >;
    const merged = mergeTraits({}, incoming, { traitKeys: 10, traitBytes: 1000 });
    expect(Object.keys(merged.traits)).toEqual(['__proto__', 'plan']);
    expect(Object.getPrototypeOf(merged.traits)).toBe(Object.prototype);
  });
});

describe('profile limits', () => {
  it('keeps 23 large identifies within the caps, counts each, and reports the dropped trait keys', () => {
    const identifies = Array.from({ length: 23 }, (_, round) => bigIdentify(round));
    // Together the traits would be about 414 KB: past DynamoDB's 400 KB item before the caps.
    expect(identifies.reduce((sum, i) => sum + jsonBytes(i.traits), 0)).toBeGreaterThan(400_000);

    const { state, failures } = reduceProfile(null, identifies);
    expect(state.eventCount).toBe(23);
    expect(state.counts).toEqual({ identify: 23 });
    expect(Object.keys(state.traits).length).toBeLessThanOrEqual(DEFAULT_PROFILE_LIMITS.traitKeys);
    expect(jsonBytes(state.traits)).toBeLessThanOrEqual(DEFAULT_PROFILE_LIMITS.traitBytes);
    expect(jsonBytes(state)).toBeLessThan(64 * 1024);
    // The first identify fits 17 of its 20 traits; every later one fits none.
    expect(failures.map((f) => f.messageId)).toEqual(identifies.map((i) => i.messageId));
    const [first, second] = failures as [HotTierFailure, HotTierFailure];
    expect(first.failureType).toBe('profile_limit');
    expect(first.errors.map((e) => e.message)).toEqual([
      'trait "t0_17" not kept: the profile keeps 16384 bytes of traits',
      'trait "t0_18" not kept: the profile keeps 16384 bytes of traits',
      'trait "t0_19" not kept: the profile keeps 16384 bytes of traits',
    ]);
    expect(second.errors).toHaveLength(20);
    expect(second.errors.every((e) => e.code === 'TRAIT_DROPPED' && e.path === null)).toBe(true);
    // Names only: no trait value reaches a failure.
    expect(JSON.stringify(failures)).not.toContain('vvv');
  });

  it('still updates a kept trait once the profile is full', () => {
    const full = reduceProfile(null, [bigIdentify(0)]).state;
    const { state, failures } = reduceProfile(full, [c('identify', { traits: { t0_0: 'updated' } })]);
    expect(state.traits.t0_0).toBe('updated');
    expect(failures).toEqual([]);
  });

  it('counts 100 event names by name and further names in eventCount only, reported', () => {
    const events = Array.from({ length: 102 }, (_, i) => c(`custom_${i}`));
    const { state, failures } = reduceProfile(null, [...events, c('custom_0')]);
    expect(state.eventCount).toBe(103);
    expect(Object.keys(state.counts)).toHaveLength(100);
    expect(state.counts.custom_0).toBe(2);
    expect(failures.map((f) => [f.messageId, f.errors[0]?.code])).toEqual([
      [events[100]?.messageId, 'EVENT_NAME_NOT_COUNTED'],
      [events[101]?.messageId, 'EVENT_NAME_NOT_COUNTED'],
    ]);
  });

  it('reports nothing for a profile within its limits', () => {
    const { failures } = reduceProfile(null, [c('identify', { traits: { plan: 'pro' } }), c('page_viewed')]);
    expect(failures).toEqual([]);
  });
});

describe('countInteraction', () => {
  const limits = { countsPerItem: 3, countedItems: 2 };
  const count = (counted: CountedItem[], itemId: string, kind: 'view' | 'purchase', at: string) =>
    countInteraction(counted, itemId, kind, at, limits);

  it('counts a user at most N times per item, kind and UTC day, and again the next day', () => {
    let counted: CountedItem[] = [];
    const decisions: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const d = count(counted, 'a', 'view', '2026-01-01T10:00:00.000Z');
      decisions.push(d.counts);
      counted = d.counted;
    }
    expect(decisions).toEqual([true, true, true, false, false]);
    expect(count(counted, 'a', 'purchase', '2026-01-01T11:00:00.000Z').counts).toBe(true);
    const tomorrow = count(counted, 'a', 'view', '2026-01-02T00:00:00.000Z');
    expect(tomorrow.counts).toBe(true);
    expect(tomorrow.counted).toEqual([{ id: 'a', day: '2026-01-02', n: { view: 1 } }]);
  });

  it("counts a late record of an earlier day against the item's current day", () => {
    const today = [{ id: 'a', day: '2026-01-02', n: { view: 3 } }];
    expect(count(today, 'a', 'view', '2026-01-01T23:59:00.000Z').counts).toBe(false);
  });

  it('remembers the latest items only', () => {
    let counted: CountedItem[] = [];
    for (const id of ['a', 'b', 'c'])
      counted = count(counted, id, 'view', '2026-01-01T10:00:00.000Z').counted;
    expect(counted.map((e) => e.id)).toEqual(['c', 'b']);
  });
});

describe('a noisy client and bots', () => {
  it("gives one user's 572 views of an item at most 3 touches, and the user's own profile all of them", () => {
    const views = Array.from({ length: 572 }, () => c('product_viewed', { itemIds: ['a'] }));
    const { state, touches } = reduceProfile(null, views);
    expect(state.eventCount).toBe(572);
    expect(touches).toHaveLength(3);
    expect(state.recentItems.map((i) => i.id)).toEqual(['a']);
    expect(state.counted).toEqual([{ id: 'a', day: '2026-01-01', n: { view: 3 } }]);
  });

  it('counts a purchase after the views, and only the first 3 purchases', () => {
    const views = Array.from({ length: 5 }, () => c('product_viewed', { itemIds: ['a'] }));
    const buys = Array.from({ length: 4 }, () => c('product_purchased', { itemIds: ['a'] }));
    const { touches } = reduceProfile(null, [...views, ...buys]);
    expect(touches.map((t) => [t.event, t.weightDelta])).toEqual([
      ['product_viewed', 1],
      ['product_viewed', 0],
      ['product_viewed', 0],
      ['product_purchased', 4],
      ['product_purchased', 0],
      ['product_purchased', 0],
    ]);
  });

  it("counts a bot's events in its own profile but touches no item", () => {
    const bot = [
      c('product_viewed', { itemIds: ['a'], isBot: true }),
      c('product_viewed', { itemIds: ['b'], isBot: true }),
      c('order_completed', { itemIds: ['a', 'b'], isBot: true }),
    ];
    const { state, touches, pairs } = reduceProfile(null, bot);
    expect(state.eventCount).toBe(3);
    expect(state.recentEvents).toHaveLength(3);
    expect([touches, pairs, state.recentItems, state.purchased]).toEqual([[], [], [], []]);
  });
});

describe('applyHotBatch with limits', () => {
  const shard = 'shardId-000000000000';
  let sequence = 0;
  const activity = (profileId: string, event: string, options: Partial<HotActivity> = {}): HotActivity => {
    sequence++;
    return {
      profileId,
      messageId: `a${sequence}`,
      event,
      timestamp: iso(sequence / 100),
      receivedAt: iso(sequence / 100),
      shardId: shard,
      sequenceNumber: String(sequence),
      itemIds: [],
      traits: null,
      isBot: false,
      userId: profileId,
      anonymousId: null,
      previousId: null,
      mergesUsers: false,
      ...options,
    };
  };

  it('ranks an item 5 users viewed above one that 1 user viewed 572 times, and keeps bots out', async () => {
    const store = new MemoryHotStore();
    const batch = [
      ...Array.from({ length: 572 }, () => activity('noisy', 'product_viewed', { itemIds: ['a'] })),
      ...Array.from({ length: 5 }, (_, u) => activity(`shopper-${u}`, 'product_viewed', { itemIds: ['b'] })),
      ...Array.from({ length: 50 }, () =>
        activity('crawler', 'product_viewed', { itemIds: ['c'], isBot: true }),
      ),
    ];
    await store.applyActivity(batch);
    await store.foldPending();
    const trend = readTrend(await store.getTrend('product_viewed', 'DAY'), 'DAY', Date.parse(iso(10)), 10);
    expect(trend.map((t) => [t.itemId, t.count])).toEqual([
      ['b', 5],
      ['a', 3],
    ]);
    expect((await store.getItem('a'))?.stats).toEqual({ counts: { product_viewed: 3 }, weight: 1 });
    expect(await store.getItem('c')).toBeNull();
    expect((await store.getUser('crawler'))?.eventCount).toBe(50);
  });

  it('reports before writing profiles, so a report that fails leaves the batch to report again', async () => {
    const store = new MemoryHotStore();
    const batch = Array.from({ length: 3 }, (_, round) => {
      const big = bigIdentify(round);
      return activity('u1', 'identify', { messageId: big.messageId, traits: big.traits });
    });
    const failing = jest.fn(async () => {
      throw new Error('failed delivery down');
    });
    await expect(store.applyActivity(batch, failing)).rejects.toThrow('failed delivery down');
    expect(await store.getUser('u1')).toBeNull();

    const reported: HotTierFailure[] = [];
    const keep = async (failures: readonly HotTierFailure[]) => {
      reported.push(...failures);
    };
    await store.applyActivity(batch, keep);
    // A redelivery of the applied batch changes and reports nothing.
    await store.applyActivity(batch, keep);
    expect(failing.mock.calls).toEqual([[reported]]);
    expect(reported.map((f) => f.messageId)).toEqual(batch.map((a) => a.messageId));
    expect((await store.getUser('u1'))?.eventCount).toBe(3);
  });
});

import { MemoryHotStore } from '../../scripts/eval/memory-hot-store';
import type { HotActivity } from '../../src/realtime/activity';
import type { Contribution } from '../../src/realtime/contribution';
import { reduceProfile, type ProfileState } from '../../src/realtime/profile';
import {
  DEFAULT_SEEN_LIMITS,
  isResend,
  messageFingerprint,
  RememberedMessages,
  rememberSeen,
} from '../../src/realtime/seen-messages';
import { contribution } from '../helpers/contribution';
import { hotActivity } from '../helpers/hot-activity';

const DAY_MS = 86_400_000;
const T0 = Date.UTC(2026, 2, 2, 10);
const SHARD = 'shardId-000000000000';

let n = 0;
function c(messageId: string, at: number, options: Partial<Contribution> = {}): Contribution {
  n++;
  return contribution({
    messageId,
    event: 'product_viewed',
    timestamp: new Date(at).toISOString(),
    shardId: SHARD,
    sequence: String(n).padStart(20, '0'),
    itemIds: ['sku-1'],
    ...options,
  });
}

describe('the messageIds a profile remembers', () => {
  it('fingerprints a messageId in 10 url-safe characters, the same every time, different for another id', () => {
    const fingerprint = messageFingerprint('ajs-next-1700000000000-4f1c');
    expect(fingerprint).toMatch(/^[A-Za-z0-9_-]{10}$/);
    expect(messageFingerprint('ajs-next-1700000000000-4f1c')).toBe(fingerprint);
    const many = new Set(Array.from({ length: 10_000 }, (_, i) => messageFingerprint(`m-${i}`)));
    expect(many.size).toBe(10_000);
  });

  const left = (messageId: string, day: number) => ({
    messageId,
    at: new Date(T0 + day * DAY_MS).toISOString(),
  });
  it('keeps the newest first, and forgets what is a week older than the newest', () => {
    const seen = rememberSeen(
      undefined,
      [left('m3', 6), left('m2', 5), left('m1', 2), left('m0', 0)],
      DEFAULT_SEEN_LIMITS,
    );
    expect(fingerprintsOf(seen)).toEqual(['m3', 'm2', 'm1', 'm0'].map(messageFingerprint));
    // Eight days on, only what came within the last seven days is kept.
    const later = rememberSeen(seen, [left('m4', 8)], DEFAULT_SEEN_LIMITS);
    expect(fingerprintsOf(later)).toEqual(['m4', 'm3', 'm2', 'm1'].map(messageFingerprint));
  });

  it('keeps at most seenIds, the newest', () => {
    const seen = rememberSeen(
      undefined,
      ['m4', 'm3', 'm2', 'm1', 'm0'].map((id) => left(id, 0)),
      {
        seenDays: 7,
        seenIds: 3,
      },
    );
    expect(fingerprintsOf(seen)).toEqual(['m4', 'm3', 'm2'].map(messageFingerprint));
  });

  it("remembers the latest events' messageIds, and in `seen` those of the events that left them", () => {
    const events = Array.from({ length: 60 }, (_, i) => c(`m-${i}`, T0 + i * 60_000));
    const { state } = reduceProfile(null, events);
    expect(state.recentEvents).toHaveLength(50);
    expect(fingerprintsOf(state.seen ?? [])).toEqual(
      Array.from({ length: 10 }, (_, i) => messageFingerprint(`m-${9 - i}`)),
    );
    const remembered = new RememberedMessages(state);
    expect(events.every((e) => remembered.has(e.messageId))).toBe(true);
    expect(remembered.has('m-60')).toBe(false);
  });

  it('tells a resend (a later record) from a redelivery of the record that applied it', () => {
    const original = c('m-1', T0);
    const { state } = reduceProfile(null, [original]);
    const stored = { state, watermarks: { [SHARD]: original.sequence } };
    const remembered = new RememberedMessages(state);
    expect(isResend(stored, c('m-1', T0 + 60_000), remembered)).toBe(true);
    expect(isResend(stored, original, remembered)).toBe(false);
    expect(isResend(stored, c('m-2', T0 + 60_000), remembered)).toBe(false);
    expect(isResend(null, c('m-1', T0 + 60_000), remembered)).toBe(false);
  });
});

describe('a profile given a resend', () => {
  const views = (from: number, count: number, at: number) =>
    Array.from({ length: count }, (_, i) => c(`m-${from + i}`, at + i * 1000));

  it('counts it once, and touches no item again, among its latest events or past them', () => {
    const first = reduceProfile(null, views(0, 80, T0));
    const again = reduceProfile(first.state, [
      c('m-79', T0 + 3_600_000),
      c('m-2', T0 + 3_601_000),
      c('m-80', T0 + 3_602_000, { itemIds: ['sku-2'] }),
    ]);
    expect(again.state.eventCount).toBe(81);
    expect(again.state.recentEvents[0]?.messageId).toBe('m-80');
    expect(again.touches).toHaveLength(1);
  });

  it('counts one that left its latest events again once the week has passed (the window, documented)', () => {
    const first = reduceProfile(null, views(0, 60, T0)).state;
    // A week on, 50 new events push the rest out: the first ten left a week before.
    const weekLater = reduceProfile(first, views(60, 50, T0 + 7 * DAY_MS)).state;
    const resent = reduceProfile(weekLater, [
      c('m-0', T0 + 7 * DAY_MS + 60_000),
      c('m-10', T0 + 7 * DAY_MS + 61_000),
    ]);
    expect(resent.state.eventCount - weekLater.eventCount).toBe(1);
    expect(resent.state.recentEvents.map((e) => e.messageId)).not.toContain('m-10');
  });

  it('dedupes by its latest events alone when it keeps no `seen` (written before it did)', () => {
    const { seen: _none, ...old } = reduceProfile(null, views(0, 60, T0)).state;
    const next = reduceProfile(old as ProfileState, [
      c('m-59', T0 + 3_600_000),
      c('m-60', T0 + 3_601_000),
    ]).state;
    expect(next.eventCount).toBe(61);
    expect(fingerprintsOf(next.seen ?? [])).toEqual([messageFingerprint('m-10')]);
  });
});

/** The fingerprints in `seen`, in its order. */
const fingerprintsOf = (seen: string[]) => seen.map((entry) => entry.slice(entry.indexOf(':') + 1));

describe('a batch with resends (applyHotBatch)', () => {
  let sequence = 0;
  const activity = (messageId: string): HotActivity => {
    sequence++;
    return hotActivity({
      profileId: 'u1',
      messageId,
      event: 'product_viewed',
      timestamp: new Date(T0 + sequence * 1000).toISOString(),
      shardId: SHARD,
      sequenceNumber: String(sequence),
      itemIds: [`sku-${messageId}`],
      anonymousId: 'device-1',
    });
  };

  const identities = async (store: MemoryHotStore) =>
    [...(await store.readIds(['u1', 'device-1']))].map(([id, record]) => [id, record.identity]);

  it('changes no profile, item, trend or identity for a resend in a later batch', async () => {
    const store = new MemoryHotStore();
    const original = [activity('m-1'), activity('m-2')];
    await store.applyActivity(original);
    await store.foldPending();
    const before = {
      user: await store.getUser('u1'),
      item: await store.getItem('sku-m-1'),
      trend: await store.getTrend('product_viewed', 'DAY'),
      identities: await identities(store),
    };
    // The same events in new records (a client that never heard the answer), beside a new one.
    await store.applyActivity([activity('m-1'), activity('m-2'), activity('m-3')]);
    await store.foldPending();
    const user = await store.getUser('u1');
    expect(user?.eventCount).toBe(3);
    expect(user?.recentEvents.map((e) => e.messageId)).toEqual(['m-3', 'm-2', 'm-1']);
    // Its stats as before (m-3's view makes it a neighbour of sku-m-3, which is new).
    expect((await store.getItem('sku-m-1'))?.stats).toEqual(before.item?.stats);
    expect((await store.getItem('sku-m-3'))?.stats.counts).toEqual({ product_viewed: 1 });
    const trend = await store.getTrend('product_viewed', 'DAY');
    expect(JSON.stringify(trend)).not.toEqual(JSON.stringify(before.trend));
    // Only m-3's item moved the trend: resent without m-3, the trend is as before.
    await store.applyActivity([activity('m-1'), activity('m-2')]);
    await store.foldPending();
    expect(await store.getTrend('product_viewed', 'DAY')).toEqual(trend);
    expect(await identities(store)).toEqual(before.identities);
  });
});

import { LiveHub } from '../../src/live/live-hub';
import type { LiveEvent } from '../../src/live/live-event';
import type { LiveFeedItem, LiveSubscription } from '../../src/live/port';

const event = (messageId: string, fields: Partial<LiveEvent> = {}): LiveEvent => ({
  messageId,
  event: 'page_viewed',
  userId: 'u1',
  anonymousId: null,
  status: 'ACCEPTED',
  failureType: null,
  errors: [],
  receivedAt: '2026-01-02T03:04:05.000Z',
  properties: null,
  context: null,
  ...fields,
});

const pending = new WeakMap<LiveSubscription, Promise<IteratorResult<LiveFeedItem>>>();

/** Everything a subscription has ready now, without waiting for more (a read left waiting is kept for the next call). */
async function ready(subscription: LiveSubscription): Promise<LiveFeedItem[]> {
  const items: LiveFeedItem[] = [];
  for (;;) {
    const next = pending.get(subscription) ?? subscription.next();
    pending.set(subscription, next);
    const result = await Promise.race([next, new Promise<'none'>((r) => setImmediate(() => r('none')))]);
    if (result === 'none') return items;
    pending.delete(subscription);
    if (result.done === true) return items;
    items.push(result.value);
  }
}

const ids = (items: LiveFeedItem[]) =>
  items.flatMap((item) => (item.kind === 'event' ? [item.event.messageId] : []));

describe('LiveHub', () => {
  let clock = 0;
  const hub = (options: ConstructorParameters<typeof LiveHub>[0] = {}) =>
    new LiveHub({ now: () => clock, heartbeatMs: 60_000, ...options });

  beforeEach(() => {
    clock = 1_000_000;
  });

  it('says whether anyone subscribes, and tells when the first comes and the last goes', async () => {
    const changes: boolean[] = [];
    const live = hub();
    live.onSubscribersChange((active) => changes.push(active));
    expect(live.hasSubscribers()).toBe(false);
    const a = live.subscribe(null);
    const b = live.subscribe({ userId: 'u2' });
    expect(live.hasSubscribers()).toBe(true);
    await a.return?.();
    expect(live.hasSubscribers()).toBe(true);
    await b.return?.();
    expect(live.hasSubscribers()).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it('sends each subscription the events its filter matches, in order', async () => {
    const live = hub();
    const all = live.subscribe(null);
    const failed = live.subscribe({ statuses: ['FAILED'] });
    const user = live.subscribe({ userId: 'u2', events: ['search_performed', 'page_viewed'] });
    await live.publish([
      event('a'),
      event('b', { status: 'FAILED', failureType: 'schema_violation' }),
      event('c', { userId: 'u2' }),
      event('d', { userId: 'u2', event: 'order_completed' }),
    ]);
    expect(ids(await ready(all))).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(await ready(failed))).toEqual(['b']);
    expect(ids(await ready(user))).toEqual(['c']);
  });

  it('wakes a reader waiting for the next event', async () => {
    const live = hub();
    const subscription = live.subscribe(null);
    const next = subscription.next();
    await live.publish([event('late')]);
    await expect(next).resolves.toEqual({ done: false, value: { kind: 'event', event: event('late') } });
  });

  it('passes a burst of its rate, then one event per refilled token, and counts the rest in the heartbeat', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      const live = hub({ eventsPerSecond: 10, heartbeatMs: 1000 });
      const subscription = live.subscribe(null);
      await live.publish(Array.from({ length: 25 }, (_, i) => event(`burst-${i}`)));
      expect(ids(await ready(subscription))).toHaveLength(10);
      clock += 300; // three tokens back
      await live.publish(Array.from({ length: 5 }, (_, i) => event(`later-${i}`)));
      expect(ids(await ready(subscription))).toEqual(['later-0', 'later-1', 'later-2']);
      jest.advanceTimersByTime(1000);
      const [heartbeat] = await ready(subscription);
      expect(heartbeat).toEqual({
        kind: 'heartbeat',
        heartbeat: { dropped: 17, at: new Date(clock).toISOString() },
      });
      jest.advanceTimersByTime(1000);
      expect(await ready(subscription)).toEqual([
        { kind: 'heartbeat', heartbeat: { dropped: 0, at: new Date(clock).toISOString() } },
      ]);
      await subscription.return?.();
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps at most a second of events for a reader that does not read, and never waits for it', async () => {
    const live = hub({ eventsPerSecond: 5 });
    const slow = live.subscribe(null);
    for (let second = 0; second < 4; second++) {
      await live.publish(Array.from({ length: 5 }, (_, i) => event(`s${second}-${i}`)));
      clock += 1000;
    }
    // The first second's events are queued; the queue was full for every later one.
    expect(ids(await ready(slow))).toEqual(['s0-0', 's0-1', 's0-2', 's0-3', 's0-4']);
  });

  it('ends a subscription on return, even while its reader waits, and on close', async () => {
    const live = hub();
    const first = live.subscribe(null);
    const waiting = first.next();
    await first.return?.();
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
    await live.publish([event('after')]);
    await expect(first.next()).resolves.toEqual({ done: true, value: undefined });

    const second = live.subscribe(null);
    live.close();
    await expect(second.next()).resolves.toEqual({ done: true, value: undefined });
    expect(live.hasSubscribers()).toBe(false);
  });
});

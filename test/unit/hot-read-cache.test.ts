import type { NeighbourEntry } from '../../src/realtime/items';
import { CachedHotStore } from '../../src/sinks/hot-tier/cached-hot-store';
import { ReadCache } from '../../src/sinks/hot-tier/read-cache';
import type { HotActivity, HotStore, UserProfileRecord } from '../../src/sinks/hot-tier/port';

/** A hot store whose reads answer from mutable state and count the calls. */
function countingStore() {
  const calls = { getUser: 0, getNeighbours: [] as string[][], getTrend: 0 };
  const state = { traits: { plan: 'free' } as Record<string, unknown> };
  const store: HotStore = {
    applyActivity: async () => undefined,
    getUser: async (id) => {
      calls.getUser += 1;
      return id === 'nobody' ? null : ({ id, traits: { ...state.traits } } as unknown as UserProfileRecord);
    },
    getItem: async () => null,
    readIds: async () => new Map(),
    unlink: async () => false,
    getNeighbours: async (ids) => {
      calls.getNeighbours.push(ids);
      const n: NeighbourEntry = { id: 'n', co: 1, nb: 1, score: 0.5 };
      return new Map(ids.filter((id) => id !== 'unknown').map((id) => [id, [{ ...n, id: `${id}-n` }]]));
    },
    getTrend: async () => {
      calls.getTrend += 1;
      return null;
    },
  };
  return { store, calls, state };
}

describe('ReadCache', () => {
  it('serves a read until the TTL has passed since it started, then reads again', async () => {
    let now = 1_000;
    const cache = new ReadCache<number>(250, 10, () => now);
    let reads = 0;
    const read = async () => ++reads;
    expect(await cache.get('k', read)).toBe(1);
    now += 249;
    expect(await cache.get('k', read)).toBe(1);
    now += 1;
    expect(await cache.get('k', read)).toBe(2);
  });

  it('shares one read between concurrent callers and forgets failed reads', async () => {
    const cache = new ReadCache<string>(1_000, 10);
    let reads = 0;
    const slow = () => new Promise<string>((resolve) => setTimeout(() => resolve(`r${++reads}`), 10));
    expect(await Promise.all([cache.get('k', slow), cache.get('k', slow), cache.get('k', slow)])).toEqual([
      'r1',
      'r1',
      'r1',
    ]);
    await expect(cache.get('bad', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.get('bad', async () => 'ok')).toBe('ok');
  });

  it('is bounded, evicting the least recently used entry', async () => {
    const cache = new ReadCache<string>(1_000, 2);
    await cache.get('a', async () => 'a1');
    await cache.get('b', async () => 'b1');
    await cache.get('a', async () => 'a2'); // touches a
    await cache.get('c', async () => 'c1'); // evicts b
    expect(cache.size).toBe(2);
    expect(await cache.get('a', async () => 'a3')).toBe('a1');
    expect(await cache.get('b', async () => 'b2')).toBe('b2');
  });

  it('keeps entries without expiry when the TTL is Infinity, until deleted or cleared', async () => {
    let now = 0;
    const cache = new ReadCache<number>(Number.POSITIVE_INFINITY, 10, () => now);
    let reads = 0;
    const read = async () => ++reads;
    await cache.get('a', read);
    await cache.get('b', read);
    now = 1e12;
    expect(await cache.get('a', read)).toBe(1);
    cache.delete('a');
    expect(await cache.get('a', read)).toBe(3);
    expect(await cache.get('b', read)).toBe(2);
    cache.clear();
    expect(await cache.get('b', read)).toBe(4);
  });

  it('does not hand out a read that was in flight when its key was deleted', async () => {
    const cache = new ReadCache<string>(Number.POSITIVE_INFINITY, 10);
    let release: (value: string) => void = () => undefined;
    const inFlight = cache.get('k', () => new Promise<string>((resolve) => (release = resolve)));
    cache.delete('k');
    const after = cache.get('k', async () => 'fresh');
    release('stale');
    expect(await inFlight).toBe('stale');
    expect(await after).toBe('fresh');
    expect(await cache.get('k', async () => 'never read')).toBe('fresh');
  });

  it('reads every time when the TTL is 0', async () => {
    const cache = new ReadCache<number>(0, 10);
    let reads = 0;
    await cache.get('k', async () => ++reads);
    expect(await cache.get('k', async () => ++reads)).toBe(2);
    expect(cache.size).toBe(0);
  });
});

describe('CachedHotStore', () => {
  it('never serves a profile staler than the TTL, and caches unknown profiles too', async () => {
    let now = 0;
    const { store, calls, state } = countingStore();
    const cached = new CachedHotStore(store, { ttlMs: 250, maxEntries: 100, now: () => now });
    expect((await cached.getUser('u1'))?.traits).toEqual({ plan: 'free' });
    state.traits = { plan: 'plus' };
    now = 200;
    expect((await cached.getUser('u1'))?.traits).toEqual({ plan: 'free' });
    now = 250;
    expect((await cached.getUser('u1'))?.traits).toEqual({ plan: 'plus' });
    await cached.getUser('nobody');
    expect(await cached.getUser('nobody')).toBeNull();
    expect(calls.getUser).toBe(3);
  });

  it('reads only the neighbour lists it does not hold, in one call, and remembers absent ones', async () => {
    const { store, calls } = countingStore();
    const cached = new CachedHotStore(store, { ttlMs: 1_000, maxEntries: 100 });
    const first = await cached.getNeighbours(['a', 'b', 'unknown']);
    expect([...first.keys()]).toEqual(['a', 'b']);
    const second = await cached.getNeighbours(['b', 'c', 'unknown', 'a']);
    expect(second.get('c')?.[0]?.id).toBe('c-n');
    expect([...second.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(calls.getNeighbours).toEqual([['a', 'b', 'unknown'], ['c']]);
  });

  it('forgets what a write through it may have changed, even when the write fails', async () => {
    const { store, calls, state } = countingStore();
    let failWrite = false;
    store.applyActivity = async () => {
      state.traits = { plan: 'plus' };
      if (failWrite) throw new Error('throttled after some writes');
    };
    const cached = new CachedHotStore(store, { ttlMs: Number.POSITIVE_INFINITY, maxEntries: 100 });
    await cached.getUser('u1');
    await cached.getUser('u2');
    await cached.getNeighbours(['a']);
    await cached.getTrend(null, 'DAY');
    expect(calls).toEqual({ getUser: 2, getNeighbours: [['a']], getTrend: 1 });

    await cached.applyActivity([{ profileId: 'u1' } as HotActivity]);
    expect((await cached.getUser('u1'))?.traits).toEqual({ plan: 'plus' });
    await cached.getUser('u2'); // not named by the batch: still cached
    // A batch leaves items and trends to the fold: still cached.
    await cached.getNeighbours(['a']);
    await cached.getTrend(null, 'DAY');
    expect(calls).toEqual({ getUser: 3, getNeighbours: [['a']], getTrend: 1 });
    const before = cached.generation;
    cached.forgetFolded();
    expect(cached.generation).toBeGreaterThan(before);
    await cached.getUser('u2');
    await cached.getNeighbours(['a']);
    await cached.getTrend(null, 'DAY');
    expect(calls).toEqual({ getUser: 3, getNeighbours: [['a'], ['a']], getTrend: 2 });

    failWrite = true;
    await expect(cached.applyActivity([{ profileId: 'u2' } as HotActivity])).rejects.toThrow('throttled');
    expect((await cached.getUser('u2'))?.traits).toEqual({ plan: 'plus' });
    expect(calls.getUser).toBe(4);
  });

  it('passes every read through when disabled (TTL 0)', async () => {
    const { store, calls } = countingStore();
    const cached = new CachedHotStore(store, { ttlMs: 0, maxEntries: 100 });
    await cached.getUser('u1');
    await cached.getUser('u1');
    await cached.getTrend(null, 'DAY');
    await cached.getTrend(null, 'DAY');
    await cached.getNeighbours(['a']);
    await cached.getNeighbours(['a']);
    expect(calls).toEqual({ getUser: 2, getTrend: 2, getNeighbours: [['a'], ['a']] });
  });
});

import { CachedSuppressionList } from '../../src/services/cached-suppression-list';
import { RecordingSuppressionList } from '../helpers/recording-suppression-list';

function setup(ttlMs = 5000) {
  const list = new RecordingSuppressionList();
  let now = 1_000_000;
  const cached = new CachedSuppressionList(list, { ttlMs, now: () => now });
  return { list, cached, advance: (ms: number) => (now += ms) };
}

describe('CachedSuppressionList', () => {
  it('reads every id it has no answer for in one lookup, and serves both answers until the TTL', async () => {
    const { list, cached, advance } = setup();
    await list.suppress(['gone'], 'del_1');
    expect(await cached.suppressed(['gone', 'here', 'gone'])).toEqual(new Set(['gone']));
    expect(list.lookups).toEqual([['gone', 'here']]);

    // Changed behind the cache's back (another process): neither answer changes until the TTL.
    await list.unsuppress(['gone']);
    await list.suppress(['here'], 'del_2');
    advance(4999);
    expect(await cached.suppressed(['gone', 'here'])).toEqual(new Set(['gone']));
    expect(list.lookups).toHaveLength(1);

    advance(1);
    expect(await cached.suppressed(['gone', 'here', 'new'])).toEqual(new Set(['here']));
    expect(list.lookups).toEqual([
      ['gone', 'here'],
      ['gone', 'here', 'new'],
    ]);
  });

  it('asks only for the ids it has no answer for', async () => {
    const { list, cached } = setup();
    await cached.suppressed(['a', 'b']);
    await cached.suppressed(['b', 'c']);
    expect(list.lookups).toEqual([['a', 'b'], ['c']]);
  });

  it('answers its own writes at once, whatever it cached', async () => {
    const { list, cached } = setup();
    expect(await cached.suppressed(['u1', 'a1'])).toEqual(new Set());
    await cached.suppress(['u1', 'a1'], 'del_1');
    expect(await cached.suppressed(['u1', 'a1'])).toEqual(new Set(['u1', 'a1']));
    await cached.unsuppress(['a1']);
    expect(await cached.suppressed(['u1', 'a1'])).toEqual(new Set(['u1']));
    expect(list.lookups).toHaveLength(1);
    expect(await list.suppressedBy(['u1', 'a1'])).toEqual(new Map([['u1', 'del_1']]));
  });

  it('does not let a lookup that started before a suppression answer after it', async () => {
    const { list, cached } = setup();
    list.hold = [];
    const before = cached.suppressed(['u1']);
    await new Promise((resolve) => setImmediate(resolve));
    await cached.suppress(['u1'], 'del_1');
    for (const release of list.hold) release();
    list.hold = undefined;
    // The lookup in flight answers its own caller as the store stood when it read...
    expect(await before).toEqual(new Set());
    // ...but what this process answers from then on is the suppression.
    expect(await cached.suppressed(['u1'])).toEqual(new Set(['u1']));
  });

  it('forgets the ids of a write that failed, so the next check reads the store', async () => {
    const { list, cached } = setup();
    expect(await cached.suppressed(['u1', 'a1'])).toEqual(new Set());
    list.failWrites = new Error('throttled');
    await expect(cached.suppress(['u1', 'a1'], 'del_1')).rejects.toThrow('throttled');
    // The store took u1 before failing: the cached "not suppressed" must not hide it.
    expect(await cached.suppressed(['u1', 'a1'])).toEqual(new Set(['u1']));
    expect(list.lookups).toHaveLength(2);
  });

  it('passes a failed lookup on and caches nothing from it', async () => {
    const { list, cached } = setup();
    await list.suppress(['gone'], 'del_1');
    list.failLookups = new Error('table unavailable');
    await expect(cached.suppressed(['gone', 'here'])).rejects.toThrow('table unavailable');
    list.failLookups = undefined;
    expect(await cached.suppressed(['gone', 'here'])).toEqual(new Set(['gone']));
    expect(list.lookups).toHaveLength(2);
  });

  it('reads the store for every check when the TTL is 0', async () => {
    const { list, cached } = setup(0);
    await cached.suppressed(['a']);
    await cached.suppressed(['a']);
    expect(list.lookups).toEqual([['a'], ['a']]);
  });

  it('reads suppressedBy from the store, uncached', async () => {
    const { list, cached } = setup();
    await cached.suppressed(['u1']);
    await list.suppress(['u1'], 'del_9');
    expect(await cached.suppressedBy(['u1'])).toEqual(new Map([['u1', 'del_9']]));
  });
});

import { ByteBoundedCache } from '../../src/api/byte-bounded-cache';

/** Values weigh what they say; keys of one ASCII character weigh one byte. */
const cache = (maxBytes: number, options: { ttlMs?: number; now?: () => number } = {}) =>
  new ByteBoundedCache<string>({ maxBytes, ...options });

describe('ByteBoundedCache', () => {
  it('weighs each entry as its key plus its value, and keeps the total within the bound', () => {
    const c = cache(100);
    expect(c.set('a', 'A', 39)).toBe(true);
    expect(c.set('b', 'B', 39)).toBe(true);
    expect(c.bytes).toBe(80);
    expect(c.set('c', 'C', 39)).toBe(true);
    expect(c.bytes).toBe(80);
    expect(c.size).toBe(2);
    expect(c.get('a')).toBeUndefined();
  });

  it('evicts the least recently used entries first, reads counting as use', () => {
    const c = cache(90);
    c.set('a', 'A', 29);
    c.set('b', 'B', 29);
    c.set('c', 'C', 29);
    expect(c.get('a')).toBe('A');
    // Room for a 59-byte entry takes the two least recently used: b, then c.
    c.set('d', 'D', 59);
    expect([c.get('a'), c.get('b'), c.get('c'), c.get('d')]).toEqual(['A', undefined, undefined, 'D']);
    expect(c.bytes).toBe(90);
  });

  it('keeps no entry heavier than the whole bound, and evicts nothing for it', () => {
    const c = cache(100);
    c.set('a', 'A', 50);
    expect(c.set('big', 'B', 98)).toBe(false);
    expect(c.get('big')).toBeUndefined();
    expect(c.get('a')).toBe('A');
    expect(c.bytes).toBe(51);
  });

  it('replaces an entry under the same key, its old weight released', () => {
    const c = cache(100);
    c.set('a', 'old', 60);
    c.set('a', 'new', 10);
    expect(c.get('a')).toBe('new');
    expect(c.bytes).toBe(11);
    // A replacement too heavy to keep leaves nothing stale behind.
    expect(c.set('a', 'huge', 500)).toBe(false);
    expect(c.get('a')).toBeUndefined();
    expect(c.bytes).toBe(0);
  });

  it('counts keys in UTF-8 bytes', () => {
    const c = cache(100);
    c.set('é', 'x', 0);
    expect(c.bytes).toBe(2);
  });

  it('expires entries after the TTL and frees their bytes', () => {
    let now = 0;
    const c = cache(100, { ttlMs: 10, now: () => now });
    c.set('a', 'A', 9);
    now = 9;
    expect(c.get('a')).toBe('A');
    now = 10;
    expect(c.get('a')).toBeUndefined();
    expect(c.bytes).toBe(0);
  });

  it('keeps nothing with a bound or a TTL of 0', () => {
    for (const c of [cache(0), cache(100, { ttlMs: 0 })]) {
      expect(c.enabled).toBe(false);
      expect(c.set('a', 'A', 1)).toBe(false);
      expect(c.size).toBe(0);
    }
  });

  it('forgets keys on delete and clear', () => {
    const c = cache(100);
    c.set('a', 'A', 9);
    c.set('b', 'B', 9);
    expect(c.delete('a')).toBe(true);
    expect(c.delete('a')).toBe(false);
    expect(c.bytes).toBe(10);
    c.clear();
    expect([c.size, c.bytes]).toEqual([0, 0]);
  });

  it('refuses a bound that is not a whole number of bytes', () => {
    expect(() => cache(-1)).toThrow(RangeError);
    expect(() => cache(1.5)).toThrow(RangeError);
  });
});

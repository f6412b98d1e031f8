import { withProperty } from '../../src/events/with-property';

describe('withProperty', () => {
  it('copies like a spread: new keys last, an existing key keeps its place, the source untouched', () => {
    const source = { page: { url: 'https://shop.example/' }, locale: 'en-GB' };
    const added = withProperty(source, 'ip', '203.0.113.0');
    expect(JSON.stringify(added)).toBe(JSON.stringify({ ...source, ip: '203.0.113.0' }));
    expect(added.page).toBe(source.page);
    expect(source).toEqual({ page: { url: 'https://shop.example/' }, locale: 'en-GB' });

    const replaced = withProperty({ ip: '203.0.113.7', locale: 'en-GB' }, 'ip', '203.0.113.0');
    expect(Object.keys(replaced)).toEqual(['ip', 'locale']);
    expect(replaced.ip).toBe('203.0.113.0');
  });

  it('copies a "__proto__" field as data, never as the prototype', () => {
    const source = JSON.parse('{"__proto__":{"polluted":true},"locale":"en-GB"}') as Record<string, unknown>;
    const copy = withProperty(source, 'ip', '203.0.113.0');
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"polluted":true},"locale":"en-GB","ip":"203.0.113.0"}');
    expect((copy as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

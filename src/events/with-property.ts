type Json = Record<string, unknown>;

/**
 * `{ ...source, [key]: value }` for JSON data (own string keys; an existing key keeps its place).
 * V8 has no fast path for a spread followed by another property and copies such objects several
 * times slower than this loop, which matters for the context of every event the stream stores.
 */
export function withProperty(source: Json, key: string, value: unknown): Json {
  const copy: Json = {};
  for (const name of Object.keys(source)) {
    // Assigning `__proto__` would set the copy's prototype instead of copying the field.
    if (name === '__proto__')
      Object.defineProperty(copy, name, {
        value: source[name],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else copy[name] = source[name];
  }
  if (key === '__proto__')
    Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  else copy[key] = value;
  return copy;
}

type Json = Record<string, unknown>;

/**
 * `{ ...source, [key]: value }` for JSON data (own string keys; an existing key keeps its place).
 * V8 has no fast path for a spread followed by another property and copies such objects several
 * times slower than this loop, which matters for the context of every event the stream stores.
 */
export function withProperty(source: Json, key: string, value: unknown): Json {
  const copy: Json = {};
  for (const name of Object.keys(source)) setProperty(copy, name, source[name]);
  return setProperty(copy, key, value);
}

/**
 * `target[key] = value` as a data field, whatever the key: assigning `__proto__` would set the
 * object's prototype instead. Returns `target`.
 */
export function setProperty(target: Json, key: string, value: unknown): Json {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
  return target;
}

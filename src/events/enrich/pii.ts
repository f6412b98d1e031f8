import { createHmac } from 'node:crypto';

/**
 * Pseudonymises the values at the given paths (from the schema's `"x-pii": true` fields) with
 * HMAC-SHA-256 under a secret: equal inputs give equal pseudonyms, so joins and distinct counts
 * still work, while the value cannot be recovered without the secret. Objects along the paths
 * are copied, never mutated. Non-string values are hashed as their JSON text. Pass a
 * createPseudonymiser() instead of the secret to hash each distinct value once.
 */
export function pseudonymise(
  properties: Record<string, unknown>,
  paths: readonly (readonly string[])[],
  secret: string | Buffer | Pseudonymiser,
): Record<string, unknown> {
  const hash = typeof secret === 'function' ? secret : (value: unknown) => pseudonym(value, secret);
  let result = properties;
  for (const path of paths) result = replaceAt(result, path, 0, hash) as Record<string, unknown>;
  return result;
}

/** Gives the pseudonym of one value under a secret it holds. */
export type Pseudonymiser = (value: unknown) => string;

export function pseudonym(value: unknown, secret: string | Buffer): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/**
 * pseudonym() with a bounded cache (least recently used evicted first): an HMAC costs more than the
 * rest of enriching an event, and the same emails and ids recur batch after batch. The cache holds
 * raw values only in this process's memory, as the events in flight do.
 */
export function createPseudonymiser(secret: string | Buffer, maxEntries = 10_000): Pseudonymiser {
  const cache = new Map<string, string>();
  return (value) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    let hashed = cache.get(text);
    if (hashed !== undefined) {
      cache.delete(text);
    } else {
      hashed = pseudonym(text, secret);
      if (cache.size >= maxEntries) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
    }
    cache.set(text, hashed);
    return hashed;
  };
}

function replaceAt(node: unknown, path: readonly string[], depth: number, hash: Pseudonymiser): unknown {
  if (depth === path.length) return node === undefined || node === null ? node : hash(node);
  const segment = path[depth];
  if (segment === '*') {
    if (!Array.isArray(node)) return node;
    return node.map((item) => replaceAt(item, path, depth + 1, hash));
  }
  if (typeof node !== 'object' || node === null || Array.isArray(node) || segment === undefined) return node;
  const record = node as Record<string, unknown>;
  if (!(segment in record)) return node;
  return { ...record, [segment]: replaceAt(record[segment], path, depth + 1, hash) };
}

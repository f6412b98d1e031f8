import { createHmac } from 'node:crypto';

/**
 * Pseudonymises the values at the given paths (from the schema's `"x-pii": true` fields) with
 * HMAC-SHA-256 under a secret: equal inputs give equal pseudonyms, so joins and distinct counts
 * still work, while the value cannot be recovered without the secret. Objects along the paths
 * are copied, never mutated. Non-string values are hashed as their JSON text.
 */
export function pseudonymise(
  properties: Record<string, unknown>,
  paths: readonly (readonly string[])[],
  secret: string | Buffer,
): Record<string, unknown> {
  let result = properties;
  for (const path of paths) result = replaceAt(result, path, 0, secret) as Record<string, unknown>;
  return result;
}

export function pseudonym(value: unknown, secret: string | Buffer): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

function replaceAt(node: unknown, path: readonly string[], depth: number, secret: string | Buffer): unknown {
  if (depth === path.length) return node === undefined || node === null ? node : pseudonym(node, secret);
  const segment = path[depth];
  if (segment === '*') {
    if (!Array.isArray(node)) return node;
    return node.map((item) => replaceAt(item, path, depth + 1, secret));
  }
  if (typeof node !== 'object' || node === null || Array.isArray(node) || segment === undefined) return node;
  const record = node as Record<string, unknown>;
  if (!(segment in record)) return node;
  return { ...record, [segment]: replaceAt(record[segment], path, depth + 1, secret) };
}

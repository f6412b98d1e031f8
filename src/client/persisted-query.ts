/**
 * Automatic persisted queries: an operation travels as the SHA-256 of its text, and with the text
 * only when the server answers that it does not know the hash (PERSISTED_QUERY_NOT_FOUND: its
 * first request, a restarted server, an evicted entry), so a batch of events does not carry the
 * mutation's text each time.
 */

export interface Operation {
  query: string;
  operationName?: string;
  variables: Record<string, unknown>;
}

export const PERSISTED_QUERY_NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND';

/**
 * The lowercase hex SHA-256 of a query text, with Web Crypto (browsers and Node.js alike); undefined
 * where there is none, as on a page served over plain HTTP from another host than localhost.
 */
export async function queryHash(query: string): Promise<string | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) return undefined;
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(query));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The JSON body of an operation: by hash, with or without its text; the text alone without a hash. */
export function operationBody(operation: Operation, hash: string | undefined, withText: boolean): string {
  const { query, ...rest } = operation;
  if (hash === undefined) return JSON.stringify({ query, ...rest });
  const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
  return JSON.stringify(withText ? { query, ...rest, extensions } : { ...rest, extensions });
}

/** Hashes an endpoint has answered for, in this process; a few hundred at most. */
const MAX_REMEMBERED = 256;
const remembered = new Set<string>();

/** What this process has seen of which operations an endpoint knows. */
export const knownToServer = {
  has: (endpoint: string, hash: string): boolean => remembered.has(`${endpoint} ${hash}`),
  add(endpoint: string, hash: string): void {
    remembered.add(`${endpoint} ${hash}`);
    // Apps that build query texts at run time must not grow this without end.
    for (const oldest of remembered) {
      if (remembered.size <= MAX_REMEMBERED) break;
      remembered.delete(oldest);
    }
  },
  delete: (endpoint: string, hash: string): void => void remembered.delete(`${endpoint} ${hash}`),
};

/** Headers browsers may send: Apollo's CSRF guard wants `apollo-require-preflight` on GETs and non-JSON posts. */
export const CORS_ALLOWED_HEADERS = [
  'content-type',
  'x-api-key',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'authorization',
];

/**
 * The answer to a browser's preflight. A preflight carries no key, so it cannot be judged: it is
 * allowed for any origin, and the request that follows is refused (403, nothing written) when its
 * key does not allow that origin. Requests carry no cookies, so reflecting the origin grants
 * nothing a page could not do with the key anyway.
 */
export function preflightHeaders(origin: string | undefined): Record<string, string> {
  if (origin === undefined) return {};
  return {
    ...responseCorsHeaders(origin),
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
    'access-control-max-age': '3600',
  };
}

/** CORS headers of an answer, so the page can read it (a FORBIDDEN or RATE_LIMITED error too). */
export function responseCorsHeaders(origin: string | undefined): Record<string, string> {
  if (origin === undefined) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': 'retry-after',
    vary: 'Origin',
  };
}

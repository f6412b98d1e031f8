import type { HTTPGraphQLRequest } from '@apollo/server';
import { ApiError } from '../services/errors';

/**
 * The query texts an HTTP request carries: `query` of a JSON body (or of each operation of a
 * batch), or the `query` parameter of a GET. Anything else is left for Apollo to refuse.
 */
function queryTexts(request: HTTPGraphQLRequest): string[] {
  if (request.method === 'GET') {
    const query = new URLSearchParams(request.search).get('query');
    return query === null ? [] : [query];
  }
  const operations: unknown[] = Array.isArray(request.body) ? request.body : [request.body];
  return operations.flatMap((operation) =>
    typeof operation === 'object' &&
    operation !== null &&
    'query' in operation &&
    typeof operation.query === 'string'
      ? [operation.query]
      : [],
  );
}

/**
 * The refusal of a request whose query text is over `maxBytes` (UTF-8), or undefined. Variables
 * are not counted: they are bounded by the request body's limit, and a batch of events travels in
 * them. The text of an automatic persisted query is checked as it is registered, so the store
 * holds only texts within the limit.
 */
export function oversizedQuery(request: HTTPGraphQLRequest, maxBytes: number): ApiError | undefined {
  return oversizedText(
    Math.max(0, ...queryTexts(request).map((query) => Buffer.byteLength(query, 'utf8'))),
    maxBytes,
  );
}

/** The refusal of one query text (a subscription's, say) over `maxBytes`, or undefined. */
export function oversizedQueryText(query: string, maxBytes: number): ApiError | undefined {
  return oversizedText(Buffer.byteLength(query, 'utf8'), maxBytes);
}

function oversizedText(bytes: number, maxBytes: number): ApiError | undefined {
  if (bytes <= maxBytes) return undefined;
  return new ApiError(
    'BAD_USER_INPUT',
    `the query text is ${bytes} bytes; the API takes at most ${maxBytes} (send variables for data)`,
    400,
  );
}

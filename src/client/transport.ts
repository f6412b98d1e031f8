import { TrackEventsDocument, type TrackEventsMutation } from '../generated/graphql';
import { ApiRequestError } from './errors';
import {
  knownToServer,
  operationBody,
  PERSISTED_QUERY_NOT_FOUND,
  queryHash,
  type Operation,
} from './persisted-query';
import type { QueuedEvent } from './queue';

export type TrackResultData = TrackEventsMutation['trackEvents']['results'][number];

/**
 * What became of one request. `results`: the API answered per event. `retry`: nothing is known
 * (network error, timeout, 5xx, 429, a cut-off answer) or the whole request was refused for a
 * reason outside the events; send again later. `invalid`: the API refused the batch's content
 * as a whole (a value GraphQL could not coerce), so the culprit must be isolated.
 */
export type SendOutcome =
  | { kind: 'results'; results: Map<string, TrackResultData> }
  | { kind: 'retry'; retryAfterMs?: number; error?: ApiRequestError }
  | { kind: 'invalid'; error: ApiRequestError };

export interface TransportOptions {
  endpoint: string;
  apiKey: string;
  /** Sent as a Bearer token when set (see TrackerOptions.userToken). */
  userToken?: string;
  fetch: typeof fetch;
  timeoutMs: number;
}

/** Request-level codes caused by the events themselves rather than by the request or the server. */
const INVALID_CONTENT_CODES = new Set(['BAD_USER_INPUT', 'BATCH_SIZE_INVALID']);

interface GraphQLBody {
  data?: Partial<TrackEventsMutation> | null;
  errors?: Array<{ message?: string; extensions?: { code?: string } }>;
}

/** The answer to an operation: the response, and its body when it was read already. */
interface Exchange {
  response: Response;
  payload?: GraphQLBody;
}

/**
 * Posts an operation as an automatic persisted query (see persisted-query.ts): by hash, and once
 * more with its text when the server answers PERSISTED_QUERY_NOT_FOUND, which is therefore never
 * what the caller sees. A keepalive request may be a closing page's last, with no chance to
 * resend: it carries the text unless the server is known to have it. Rejects as fetch does.
 */
async function postOperation(
  options: TransportOptions,
  operation: Operation,
  keepalive: boolean,
): Promise<Exchange> {
  const hash = await queryHash(operation.query);
  const post = (withText: boolean) =>
    options.fetch(options.endpoint, {
      method: 'POST',
      headers: requestHeaders(options),
      body: operationBody(operation, hash, withText),
      keepalive,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  if (hash === undefined) return { response: await post(true) };
  const known = knownToServer.has(options.endpoint, hash);
  const response = await post(keepalive && !known);
  // Apollo answers PERSISTED_QUERY_NOT_FOUND with a 200; any other status is the caller's to read.
  if (response.status !== 200) return { response };
  const payload = (await response.json()) as GraphQLBody;
  if (payload.errors?.[0]?.extensions?.code !== PERSISTED_QUERY_NOT_FOUND) {
    knownToServer.add(options.endpoint, hash);
    return { response, payload };
  }
  knownToServer.delete(options.endpoint, hash);
  const resent = await post(true);
  if (resent.ok) knownToServer.add(options.endpoint, hash);
  return { response: resent };
}

/** Posts one `trackEvents` batch and classifies the answer; never throws. */
export async function sendBatch(
  options: TransportOptions,
  events: QueuedEvent[],
  { keepalive = false, now = new Date() }: { keepalive?: boolean; now?: Date } = {},
): Promise<SendOutcome> {
  const sentAt = now.toISOString();
  const operation: Operation = {
    query: TrackEventsDocument.toString(),
    operationName: 'TrackEvents',
    variables: { events: events.map((event) => ({ ...event, sentAt })) },
  };
  let response: Response;
  let payload: GraphQLBody;
  try {
    const exchange = await postOperation(options, operation, keepalive);
    response = exchange.response;
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      await response.body?.cancel();
      return { kind: 'retry', retryAfterMs: retryAfterMs(response.headers.get('retry-after'), now) };
    }
    if (response.status === 413) {
      await response.body?.cancel();
      return {
        kind: 'invalid',
        error: new ApiRequestError('HTTP_413', 413, 'the batch is larger than the API takes'),
      };
    }
    payload = exchange.payload ?? ((await response.json()) as GraphQLBody);
  } catch {
    // Refused or dropped connections, timeouts and answers cut off mid-body all land here.
    return { kind: 'retry' };
  }

  const results = payload.data?.trackEvents?.results;
  if (response.ok && Array.isArray(results)) {
    return { kind: 'results', results: new Map(results.map((r) => [r.messageId, r])) };
  }
  const first = payload.errors?.[0];
  const error = new ApiRequestError(
    first?.extensions?.code ?? `HTTP_${response.status}`,
    response.status,
    first?.message ?? response.statusText,
  );
  if (INVALID_CONTENT_CODES.has(error.apiCode)) return { kind: 'invalid', error };
  return { kind: 'retry', error };
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(header: string | null, now: Date): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now.getTime());
}

/** The headers of every request: the key, and the user token when there is one. */
export function requestHeaders(
  options: Pick<TransportOptions, 'apiKey' | 'userToken'>,
): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-api-key': options.apiKey };
  if (options.userToken) headers.authorization = `Bearer ${options.userToken}`;
  return headers;
}

/** Posts one read query; resolves with its data, or rejects with the API's first error. */
export async function runQuery<T>(
  options: TransportOptions,
  query: string,
  variables: Record<string, unknown>,
): Promise<T> {
  const { response, payload } = await postOperation(options, { query, variables }, false);
  const body = (payload ?? (await response.json())) as { data?: T | null; errors?: GraphQLBody['errors'] };
  const first = body.errors?.[0];
  if (first || body.data == null) {
    throw new ApiRequestError(
      first?.extensions?.code ?? `HTTP_${response.status}`,
      response.status,
      first?.message ?? response.statusText,
    );
  }
  return body.data;
}

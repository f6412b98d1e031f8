import { TrackEventsDocument, type TrackEventsMutation } from '../generated/graphql';
import { ApiRequestError } from './errors';
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
  fetch: typeof fetch;
  timeoutMs: number;
}

/** Request-level codes caused by the events themselves rather than by the request or the server. */
const INVALID_CONTENT_CODES = new Set(['BAD_USER_INPUT', 'BATCH_SIZE_INVALID']);

interface GraphQLBody {
  data?: Partial<TrackEventsMutation> | null;
  errors?: Array<{ message?: string; extensions?: { code?: string } }>;
}

/** Posts one `trackEvents` batch and classifies the answer; never throws. */
export async function sendBatch(
  options: TransportOptions,
  events: QueuedEvent[],
  { keepalive = false, now = new Date() }: { keepalive?: boolean; now?: Date } = {},
): Promise<SendOutcome> {
  const sentAt = now.toISOString();
  const body = JSON.stringify({
    query: TrackEventsDocument.toString(),
    operationName: 'TrackEvents',
    variables: { events: events.map((event) => ({ ...event, sentAt })) },
  });
  let response: Response;
  let payload: GraphQLBody;
  try {
    response = await options.fetch(options.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': options.apiKey },
      body,
      keepalive,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
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
    payload = (await response.json()) as GraphQLBody;
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

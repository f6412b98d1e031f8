import { setTimeout as sleep } from 'node:timers/promises';
import { SimulationError } from './errors';
import type { SimulatedEvent } from './generate';

const TRACK_EVENTS = `mutation TrackEvents($events: [TrackEventInput!]!) {
  trackEvents(events: $events) { results { messageId status retryable errors { code message } } }
}`;

interface TrackResult {
  messageId: string;
  status: 'ACCEPTED' | 'DUPLICATE' | 'REJECTED';
  retryable: boolean;
  errors: Array<{ code: string; message: string }>;
}

export interface SendOptions {
  url: string;
  apiKey?: string;
  /** Events per `trackEvents` call (1..500). */
  batchSize: number;
  /** Calls in flight at once. */
  concurrency: number;
  /** Attempts per batch on network errors, 5xx, 429 and retryable rejections. */
  attempts?: number;
  /** Called after each batch with how many events it settled. */
  onProgress?: (settled: number) => void;
}

export interface SendSummary {
  sent: number;
  accepted: number;
  /** Already delivered earlier (the same messageId): a rerun with the same seed. */
  duplicates: number;
  rejected: number;
  /** The first few rejection reasons, for the summary. */
  rejections: string[];
  elapsedMs: number;
}

/**
 * Sends events in `trackEvents` batches with bounded concurrency. A batch that fails as a whole
 * with a transient error, and any event rejected as retryable, is resent with the same messageIds,
 * so a retry can never count an event twice; a refused request (bad API key, invalid batch) stops
 * the run with SIMULATION_REQUEST_REFUSED.
 */
export async function sendEvents(
  events: readonly SimulatedEvent[],
  options: SendOptions,
): Promise<SendSummary> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > 500) {
    throw new SimulationError(
      `batch must be between 1 and 500, got ${options.batchSize}`,
      'SIMULATION_OPTIONS_INVALID',
    );
  }
  const started = Date.now();
  const summary: SendSummary = {
    sent: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    rejections: [],
    elapsedMs: 0,
  };
  const batches: SimulatedEvent[][] = [];
  for (let i = 0; i < events.length; i += options.batchSize)
    batches.push(events.slice(i, i + options.batchSize));
  let next = 0;
  const worker = async () => {
    for (let batch = batches[next++]; batch !== undefined; batch = batches[next++]) {
      const results = await sendBatch(batch, options);
      summary.sent += batch.length;
      for (const r of results) {
        if (r.status === 'ACCEPTED') summary.accepted += 1;
        else if (r.status === 'DUPLICATE') summary.duplicates += 1;
        else {
          summary.rejected += 1;
          if (summary.rejections.length < 5) {
            summary.rejections.push(
              `${r.messageId}: ${r.errors.map((e) => `${e.code} ${e.message}`).join('; ')}`,
            );
          }
        }
      }
      options.onProgress?.(batch.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  summary.elapsedMs = Date.now() - started;
  return summary;
}

async function sendBatch(batch: SimulatedEvent[], options: SendOptions): Promise<TrackResult[]> {
  const attempts = options.attempts ?? 5;
  const settled = new Map<string, TrackResult>();
  let pending = batch;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const last = attempt >= attempts;
    let results: TrackResult[];
    try {
      results = await post(pending, options);
    } catch (error) {
      if (last || (error instanceof SimulationError && error.code === 'SIMULATION_REQUEST_REFUSED'))
        throw error;
      await sleep(backoff(attempt));
      continue;
    }
    const retry: SimulatedEvent[] = [];
    pending.forEach((event, index) => {
      const result = results[index];
      if (result === undefined)
        throw new SimulationError(
          'trackEvents answered fewer results than events',
          'SIMULATION_REQUEST_FAILED',
        );
      if (result.status === 'REJECTED' && result.retryable && !last) retry.push(event);
      else settled.set(event.messageId, result);
    });
    pending = retry;
    if (pending.length > 0) await sleep(backoff(attempt));
  }
  return batch.map((e) => settled.get(e.messageId) as TrackResult);
}

/** Exponential backoff with full jitter, 100 ms doubling to 5 s. */
function backoff(attempt: number): number {
  return Math.random() * Math.min(5000, 100 * 2 ** attempt);
}

async function post(events: SimulatedEvent[], options: SendOptions): Promise<TrackResult[]> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey !== undefined) headers['x-api-key'] = options.apiKey;
  let response: Response;
  try {
    response = await fetch(options.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: TRACK_EVENTS, variables: { events } }),
    });
  } catch (cause) {
    throw new SimulationError(`cannot reach ${options.url}`, 'SIMULATION_REQUEST_FAILED', { cause });
  }
  if (response.status >= 500 || response.status === 429) {
    throw new SimulationError(`${options.url} answered HTTP ${response.status}`, 'SIMULATION_REQUEST_FAILED');
  }
  const body = (await response.json().catch(() => ({}))) as {
    data?: { trackEvents?: { results: TrackResult[] } } | null;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
  const results = body.data?.trackEvents?.results;
  if (results === undefined) {
    const reason = body.errors?.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; ');
    throw new SimulationError(
      `trackEvents was refused (HTTP ${response.status}${reason ? `, ${reason}` : ''})`,
      'SIMULATION_REQUEST_REFUSED',
    );
  }
  return results;
}

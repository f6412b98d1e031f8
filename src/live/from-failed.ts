/**
 * The live event of a failed event (docs/live.md): FAILED, with the stream's reasons. Its payload
 * was scrubbed when the failed event was built, so what it shows is what the lake keeps.
 */
import type { FailedEvent, FailureType } from '../events/types';
import { objectOrNull, textOrNull } from './from-edge';
import type { LiveEvent } from './live-event';

/** The sources the edge stamps on the records it puts on the stream (ingest-service, segment-api). */
const EDGE_SOURCES: ReadonlySet<unknown> = new Set(['graphql', 'segment']);

/**
 * The failures the edge finds itself, by the same rules the stream applies: a record the edge
 * rejected for one of them was already shown REJECTED when the edge answered.
 */
const EDGE_CHECKED: ReadonlySet<FailureType> = new Set<FailureType>([
  'malformed',
  'envelope_invalid',
  'schema_violation',
  'schema_unknown',
  'size_exceeded',
]);

/**
 * The live event of a failed event, or null when the live view showed it already: an edge
 * rejection goes on the stream so that it is stored with the failed events, and the stream fails it
 * again for the same reasons; the tail shows it once, as REJECTED. Failures only the stream finds
 * (the hot tier's, enrichment) and every failure of a direct producer's record show as FAILED.
 */
export function failedLiveEvent(failed: FailedEvent): LiveEvent | null {
  const record = failed.payloadEncoding === 'utf8' ? jsonObject(failed.payload) : null;
  if (EDGE_SOURCES.has(record?.source) && EDGE_CHECKED.has(failed.failureType)) return null;
  return {
    messageId: failed.messageId,
    event: failed.event,
    userId: textOrNull(record?.userId),
    anonymousId: textOrNull(record?.anonymousId),
    status: 'FAILED',
    failureType: failed.failureType,
    errors: failed.errors,
    receivedAt: failed.receivedAt,
    properties: objectOrNull(record?.properties),
    context: objectOrNull(record?.context),
  };
}

/** The payload read as a JSON object; null for anything else, such as the head of a cut record. */
function jsonObject(payload: string): Record<string, unknown> | null {
  try {
    return objectOrNull(JSON.parse(payload));
  } catch {
    return null;
  }
}

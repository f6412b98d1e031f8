/**
 * Live events of the edge's answers (docs/live.md): built from the record the edge put, or would
 * have put, on the stream. Payloads go through the failed events' scrubber with the event's schema,
 * so a subscriber sees no more personal data than the lake keeps.
 */
import { MAX_EVENT_BYTES, serializedBytes } from '../events/envelope';
import type { PiiMarks } from '../events/pii-marks';
import type { PayloadScrubber } from '../events/scrub-payload';
import type { EventError, StreamRecordBody } from '../events/types';
import type { LiveEvent, LiveEventStatus } from './live-event';

/** The schema whose `x-pii` marks apply to a record's properties; null when its event has none. */
export type PiiSchema = { readonly pii: PiiMarks | null } | null;

/** A valid event the stream took. */
export function acceptedLiveEvent(
  body: StreamRecordBody,
  scrubber: PayloadScrubber,
  schema: PiiSchema,
): LiveEvent {
  const { properties, context } = scrubbed(body, scrubber, schema);
  return liveEvent(body, 'ACCEPTED', [], properties, context);
}

/**
 * An event the edge refused, with its errors. `body` is the record as the edge passes it on (cut
 * past the depth limit); a record over MAX_EVENT_BYTES shows no payload, as the failed event it
 * becomes keeps only a head of it.
 */
export function rejectedLiveEvent(
  body: StreamRecordBody,
  errors: readonly EventError[],
  scrubber: PayloadScrubber,
  schema: PiiSchema,
): LiveEvent {
  if (serializedBytes(body) > MAX_EVENT_BYTES) return liveEvent(body, 'REJECTED', [...errors], null, null);
  const { properties, context } = scrubbed(body, scrubber, schema);
  return liveEvent(body, 'REJECTED', [...errors], properties, context);
}

/**
 * An event naming a suppressed id: its person is being erased or asked not to be tracked, so it
 * shows what it is and whose, never what it says.
 */
export function suppressedLiveEvent(body: StreamRecordBody): LiveEvent {
  return liveEvent(body, 'SUPPRESSED', [], null, null);
}

// One object per event, built in one go: the edge builds one for every event while anyone watches.
function liveEvent(
  body: StreamRecordBody,
  status: LiveEventStatus,
  errors: EventError[],
  properties: unknown,
  context: unknown,
): LiveEvent {
  return {
    messageId: body.messageId,
    event: textOrNull(body.event),
    userId: textOrNull(body.userId),
    anonymousId: textOrNull(body.anonymousId),
    status,
    failureType: null,
    errors,
    receivedAt: body.receivedAt ?? new Date().toISOString(),
    properties: objectOrNull(properties),
    context: objectOrNull(context),
  };
}

/** Only the parts a live event shows are scrubbed: the rest of the record is never sent. */
function scrubbed(body: StreamRecordBody, scrubber: PayloadScrubber, schema: PiiSchema) {
  return scrubber.record({ properties: body.properties, context: body.context }, schema);
}

/** A value as a live event's id or name: text, or null when the sender gave something else. */
export function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A value as a live event's properties or context: a JSON object, or null. */
export function objectOrNull(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

import { DATE_TIME_START } from '../envelope-rules';
import type { EventContext, EventEnvelope } from '../types';
import { IDENTIFY_EVENT } from '../identify';
import { ALIAS_EVENT } from '../identity';
import { eventNameFor, type SegmentEventNames } from './event-name';
import { isObject, SEGMENT_TYPES, type SegmentMessage, type SegmentType } from './segment-message';

/** An envelope as the ingest service takes it, its context open to the keys Segment sends. */
export type SegmentEnvelope = Omit<EventEnvelope, 'context'> & { context?: EventContext };

/**
 * Where the Segment call is recorded in the event's context: its type, and for a track call the
 * event name as sent ("Order Completed"), which the event name itself no longer spells.
 */
export const SEGMENT_CONTEXT_KEY = 'segment';

export const PAGE_VIEWED = 'page_viewed';
export const SCREEN_VIEWED = 'screen_viewed';
export const GROUP_EVENT = 'group';

const PAGE_FIELDS = ['url', 'path', 'referrer', 'title', 'search'] as const;

/**
 * One Segment message as our event envelope. Nothing is refused here: a message that breaks a
 * rule maps to an envelope that breaks it too (a missing event name stays missing, a date that
 * does not parse stays invalid), so the ingest service rejects it with its reason and passes it on
 * to failed events like any other invalid event.
 */
export function segmentToEnvelope(message: SegmentMessage, names: SegmentEventNames): SegmentEnvelope {
  const type = SEGMENT_TYPES.find((known) => known === message.type);
  const properties = isObject(message.properties) ? message.properties : undefined;
  const context: EventContext = isObject(message.context) ? { ...message.context } : {};
  context[SEGMENT_CONTEXT_KEY] =
    type === 'track' ? { type, event: message.event } : { type: message.type ?? null };
  const envelope: SegmentEnvelope = {
    messageId: text(message.messageId),
    event: type === undefined ? '' : eventOf(type, message, names),
    userId: id(message.userId),
    anonymousId: id(message.anonymousId),
    timestamp: date(message.timestamp ?? message.originalTimestamp),
    sentAt: date(message.sentAt),
    properties: type === undefined ? properties : propertiesOf(type, message, properties),
    context,
  };
  if ((type === 'page' || type === 'screen') && context.page === undefined && properties !== undefined) {
    const page = pageFrom(properties);
    if (page !== undefined) context.page = page;
  }
  return envelope;
}

function eventOf(type: SegmentType, message: SegmentMessage, names: SegmentEventNames): string {
  switch (type) {
    case 'track':
      return typeof message.event === 'string' ? eventNameFor(message.event, names) : '';
    case 'identify':
      return IDENTIFY_EVENT;
    case 'page':
      return PAGE_VIEWED;
    case 'screen':
      return SCREEN_VIEWED;
    case 'group':
      return GROUP_EVENT;
    case 'alias':
      return ALIAS_EVENT;
  }
}

function propertiesOf(
  type: SegmentType,
  message: SegmentMessage,
  properties: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  switch (type) {
    case 'track':
      return properties;
    case 'identify':
      // Flat, as the identify schema checks traits and marks the PII among them.
      return isObject(message.traits) ? { ...message.traits } : {};
    case 'page':
    case 'screen':
      return withDefined({ ...properties }, { name: message.name, category: message.category });
    case 'group':
      return withDefined({}, { group_id: id(message.groupId), traits: objectOrUndefined(message.traits) });
    case 'alias':
      return withDefined({}, { previous_id: id(message.previousId) });
  }
}

function withDefined(
  into: Record<string, unknown>,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) into[key] = value;
  return into;
}

/** analytics-node's page call carries url, path… in properties only; the page context wants them. */
function pageFrom(properties: Record<string, unknown>): Record<string, string> | undefined {
  const page: Record<string, string> = {};
  for (const field of PAGE_FIELDS) {
    const value = properties[field];
    if (typeof value === 'string') page[field] = value;
  }
  return Object.keys(page).length > 0 ? page : undefined;
}

const objectOrUndefined = (value: unknown) => (isObject(value) ? value : undefined);

/** A string as is; anything else but null is kept too, so the envelope check names the field. */
function text(value: unknown): string | undefined {
  return value === null ? undefined : (value as string | undefined);
}

/** Segment allows numeric ids (`userId: 42`); ours are strings. */
function id(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : text(value);
}

/**
 * An ISO 8601 time as a Date; anything else as an invalid Date, which the envelope check refuses
 * with the field's name.
 */
function date(value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !DATE_TIME_START.test(value)) return new Date(Number.NaN);
  return new Date(value);
}

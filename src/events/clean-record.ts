import { EVENT_NAME_PATTERN } from '../schema/event.input';
import type { ClientTimes } from './enrich/enrich-event';
import { canonicalIsoMs, msToIso } from './iso-time';
import { messageIdForRecord } from './normalise';
import type { EventContext, StoredEvent } from './types';
import { withProperty } from './with-property';

type Json = Record<string, unknown>;

/** Like RecordOrigin, with receipt already in canonical ISO form (formatting dates per record is costly). */
export interface CleanOrigin {
  receivedAt: string;
  source: string;
  sourceIp?: string;
  processorVersion: string;
}

/** A record the fast path took: the stored event before enrichment, and what enrichment needs. */
export interface CleanRecord {
  event: StoredEvent;
  times: ClientTimes;
  schemaVersion: string | undefined;
}

const ID_MAX = 256;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const SCHEMA_VERSION = /^[1-9][0-9]*-[0-9]+-[0-9]+$/;
const PAGE_FIELDS: Record<string, number> = {
  url: 4096,
  path: 2048,
  referrer: 4096,
  title: 1024,
  search: 4096,
};
const APP_FIELDS: Record<string, number> = { name: 256, version: 64, build: 64 };

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Absent, or a string of at most `max` UTF-16 units (never more characters than class-validator counts). */
const optionalText = (value: unknown, max: number, min = 0): boolean =>
  value === undefined || (typeof value === 'string' && value.length >= min && value.length <= max);

// toISOString's pattern, looser than canonicalIsoMs (it lets through days past their month's end).
export const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Epoch ms and the canonical ISO form, or false when it is not an ISO 8601 date-time. */
function optionalDate(value: unknown): { ms: number; iso: string } | undefined | false {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return false;
  const canonical = canonicalIsoMs(value);
  if (!Number.isNaN(canonical)) return { ms: canonical, iso: value };
  if (!ISO_DATE_TIME.test(value)) return false;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return false;
  return { ms, iso: CANONICAL_ISO.test(value) ? value : msToIso(ms) };
}

const onlyKnownTexts = (value: unknown, fields: Record<string, number>): boolean =>
  value === undefined ||
  (isObject(value) &&
    Object.keys(value).every((key) => {
      const max = fields[key];
      return max !== undefined && typeof value[key] === 'string' && (value[key] as string).length <= max;
    }));

/**
 * The stream's fast path. Most records are clean: every envelope field absent or a well-formed
 * string, no nulls, nested page/app objects holding only their known fields. For those this
 * builds exactly what trackEventFromRecord + envelopeErrors + toStoredEvent would, without
 * class-validator's per-record reflection. A record without messageId gets the one derived from its place. It is conservative: anything it is not sure of returns
 * null and takes the full path, which decides and explains.
 */
export function cleanRecord(
  body: Json,
  place: { shardId: string; sequenceNumber: string },
  origin: CleanOrigin,
): CleanRecord | null {
  const { messageId, event, userId, anonymousId, sessionId, schemaVersion, properties, context } = body;
  if (typeof event !== 'string' || !EVENT_NAME_PATTERN.test(event)) return null;
  if (!optionalText(messageId, ID_MAX, 1) || !optionalText(sessionId, ID_MAX)) return null;
  if (!optionalText(userId, ID_MAX, 1) || !optionalText(anonymousId, ID_MAX, 1)) return null;
  if (userId === undefined && anonymousId === undefined) return null;
  if (
    schemaVersion !== undefined &&
    !(typeof schemaVersion === 'string' && SCHEMA_VERSION.test(schemaVersion))
  )
    return null;
  if (properties !== undefined && !isObject(properties)) return null;
  const timestamp = optionalDate(body.timestamp);
  const sentAt = optionalDate(body.sentAt);
  if (timestamp === false || sentAt === false) return null;

  let storedContext: EventContext = {};
  if (context !== undefined) {
    if (!isObject(context)) return null;
    if (
      !optionalText(context.userAgent, 1024) ||
      !optionalText(context.locale, 35) ||
      !optionalText(context.ip, 64)
    )
      return null;
    if (!onlyKnownTexts(context.page, PAGE_FIELDS) || !onlyKnownTexts(context.app, APP_FIELDS)) return null;
    storedContext = context as EventContext;
  }
  const { receivedAt } = origin;
  if (storedContext.ip === undefined && origin.sourceIp !== undefined)
    storedContext = withProperty(storedContext, 'ip', origin.sourceIp) as EventContext;

  return {
    event: {
      messageId: (messageId as string | undefined) ?? messageIdForRecord(place.shardId, place.sequenceNumber),
      event,
      userId: (userId as string | undefined) ?? null,
      anonymousId: (anonymousId as string | undefined) ?? null,
      sessionId: (sessionId as string | undefined) ?? null,
      timestamp: timestamp?.iso ?? receivedAt,
      sentAt: sentAt?.iso ?? null,
      receivedAt,
      source: origin.source,
      properties: (properties as Json | undefined) ?? {},
      context: storedContext,
      processorVersion: origin.processorVersion,
    },
    times: { timestampMs: timestamp?.ms, sentAtMs: sentAt?.ms },
    schemaVersion: schemaVersion as string | undefined,
  };
}

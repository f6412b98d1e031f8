import type { ClientTimes } from './enrich/enrich-event';
import { ENVELOPE_RULES, type FieldRule, type FieldRules, type GroupRule } from './envelope-rules';
import { fitsShape } from './event-shape';
import { canonicalIsoMs, msToIso } from './iso-time';
import { mergesUsers, messageIdForRecord } from './normalise';
import type { EventContext, StoredEvent } from './types';
import { withProperty } from './with-property';

type Json = Record<string, unknown>;

/** Like RecordOrigin, with receipt already in canonical ISO form (formatting dates per record is costly). */
export interface CleanOrigin {
  receivedAt: string;
  source: string;
  sourceIp?: string;
  processorVersion: string;
  /** See RecordOrigin.mayMergeUsers. */
  mayMergeUsers: boolean;
}

/** A record the fast path took: the stored event before enrichment, and what enrichment needs. */
export interface CleanRecord {
  event: StoredEvent;
  times: ClientTimes;
  schemaVersion: string | undefined;
}

// Stricter than the full path (which takes any date-time Date parses): the fast path is sure of these.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * A field's rule flattened into one shape, built once per process: every field the hot loop checks
 * then looks the same to V8, where the table's rules come in several shapes.
 */
interface FieldCheck {
  readonly name: string;
  readonly type: FieldRule['type'];
  readonly required: boolean;
  /** Absent is fine when this sibling is given. */
  readonly unless: string | undefined;
  readonly minLength: number;
  readonly maxLength: number;
  readonly pattern: RegExp | undefined;
  readonly group: GroupCheck | undefined;
}

interface GroupCheck {
  readonly fields: readonly FieldCheck[];
  /** The field names, where the full path drops other keys (so a record holding one is declined). */
  readonly only: ReadonlySet<string> | undefined;
}

function groupCheck(rules: FieldRules, otherKeys: GroupRule['otherKeys']): GroupCheck {
  const fields = Object.entries(rules).map(([name, rule]): FieldCheck => {
    const text = rule.type === 'text' ? rule : undefined;
    return {
      name,
      type: rule.type,
      required: rule.required === true,
      unless: typeof rule.required === 'object' ? rule.required.unless : undefined,
      minLength: text?.nonEmpty ? 1 : 0,
      maxLength: text?.maxLength ?? Infinity,
      pattern: text?.pattern,
      group: rule.type === 'group' ? groupCheck(rule.fields, rule.otherKeys) : undefined,
    };
  });
  return { fields, only: otherKeys === 'dropped' ? new Set(Object.keys(rules)) : undefined };
}

const ENVELOPE = groupCheck(ENVELOPE_RULES, 'kept');
const topLevel = (name: keyof typeof ENVELOPE_RULES): FieldCheck =>
  ENVELOPE.fields.find((field) => field.name === name) as FieldCheck;
const MESSAGE_ID = topLevel('messageId');
const EVENT = topLevel('event');
const USER_ID = topLevel('userId');
const ANONYMOUS_ID = topLevel('anonymousId');
const SESSION_ID = topLevel('sessionId');
const SCHEMA_VERSION = topLevel('schemaVersion');
const PROPERTIES = topLevel('properties');
const CONTEXT = topLevel('context');

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Absent where allowed, or a value that keeps the rule, the fields of a group included. Lengths are
 * String.length, never less than the rules' count: a text this declines may still be valid, and the
 * full path decides. Nothing is allocated per record.
 */
function fits(value: unknown, field: FieldCheck, siblings: Json): boolean {
  if (value === undefined)
    return !field.required && (field.unless === undefined || siblings[field.unless] !== undefined);
  switch (field.type) {
    case 'text':
      return (
        typeof value === 'string' &&
        value.length >= field.minLength &&
        value.length <= field.maxLength &&
        (field.pattern === undefined || field.pattern.test(value))
      );
    case 'object':
      return isObject(value);
    case 'group':
      return isObject(value) && fitsGroup(value, field.group as GroupCheck);
    case 'date-time':
      // Only the top level's times are read here (see optionalDate); elsewhere the full path decides.
      return false;
  }
}

function fitsGroup(value: Json, group: GroupCheck): boolean {
  const { fields, only } = group;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as FieldCheck;
    if (!fits(value[field.name], field, value)) return false;
  }
  if (only !== undefined) for (const key in value) if (!only.has(key)) return false;
  return true;
}

/** Epoch ms and the canonical ISO form, or false when it is not an ISO 8601 date-time. */
function optionalDate(value: unknown): { ms: number; iso: string } | undefined | false {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return false;
  const canonical = canonicalIsoMs(value);
  if (!Number.isNaN(canonical)) return { ms: canonical, iso: value };
  if (!ISO_DATE_TIME.test(value)) return false;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return false;
  // Not canonical, or canonical in shape only (February 30): the instant it names, as the full path stores it.
  return { ms, iso: msToIso(ms) };
}

/**
 * The stream's fast path. Most records are clean: every envelope field absent or a well-formed
 * string, no nulls, nested page/app/library objects holding only their known fields, properties and
 * context within the shape rules. For those this builds exactly what trackEventFromRecord +
 * envelopeErrors + toStoredEvent would, without their per-record copies and Date round trips. A
 * record without messageId gets the one derived from its place. It is conservative: anything it is
 * not sure of returns null and takes the full path, which decides and explains.
 */
export function cleanRecord(
  body: Json,
  place: { shardId: string; sequenceNumber: string },
  origin: CleanOrigin,
): CleanRecord | null {
  const { messageId, event, userId, anonymousId, sessionId, schemaVersion, properties, context } = body;
  if (!fits(event, EVENT, body) || !fits(messageId, MESSAGE_ID, body)) return null;
  if (!fits(userId, USER_ID, body) || !fits(anonymousId, ANONYMOUS_ID, body)) return null;
  if (!fits(sessionId, SESSION_ID, body) || !fits(schemaVersion, SCHEMA_VERSION, body)) return null;
  if (!fits(properties, PROPERTIES, body) || !fits(context, CONTEXT, body)) return null;
  if (!fitsShape(properties) || !fitsShape(context)) return null;
  const timestamp = optionalDate(body.timestamp);
  const sentAt = optionalDate(body.sentAt);
  if (timestamp === false || sentAt === false) return null;

  let storedContext = (context ?? {}) as EventContext;
  const { receivedAt } = origin;
  if (storedContext.ip === undefined && origin.sourceIp !== undefined)
    storedContext = withProperty(storedContext, 'ip', origin.sourceIp) as EventContext;

  return {
    event: {
      messageId: (messageId as string | undefined) ?? messageIdForRecord(place.shardId, place.sequenceNumber),
      event: event as string,
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
      mergesUsers: mergesUsers(event as string, origin.mayMergeUsers),
    },
    times: { timestampMs: timestamp?.ms, sentAtMs: sentAt?.ms },
    schemaVersion: schemaVersion as string | undefined,
  };
}

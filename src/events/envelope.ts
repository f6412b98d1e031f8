import {
  DATE_TIME_START,
  ENVELOPE_RULES,
  SHAPE_RULES,
  textLength,
  type FieldRule,
  type FieldRules,
  type TextRule,
} from './envelope-rules';
import { fitsShape, shapeProblem } from './event-shape';
import type { EventEnvelope, EventError, StreamRecordBody } from './types';

/** The largest event, serialised as JSON, that the pipeline takes. */
export const MAX_EVENT_BYTES = 32 * 1024;

/** Stable codes for envelope problems; clients and the failed-events table depend on them. */
export const ENVELOPE_INVALID = 'ENVELOPE_INVALID';
export const SIZE_EXCEEDED = 'SIZE_EXCEEDED';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks an envelope against the envelope rules, then its free-form parts against the shape rules.
 * Each field gets at most one error, with its JSON pointer; errors come in the rules' order.
 */
export function envelopeErrors(envelope: EventEnvelope): EventError[] {
  const errors: EventError[] = [];
  checkFields(envelope as unknown as Json, ENVELOPE_RULES, '', errors);
  for (const part of SHAPE_RULES.parts) {
    const value = envelope[part];
    // fitsShape allocates nothing; the pointers are built only for a part that breaks a rule.
    const problem = fitsShape(value) ? undefined : shapeProblem(value, `/${part}`);
    if (problem !== undefined) errors.push({ code: ENVELOPE_INVALID, ...problem });
  }
  return errors;
}

function checkFields(group: Json, rules: FieldRules, prefix: string, out: EventError[]): void {
  for (const [name, rule] of Object.entries(rules)) {
    const value = group[name];
    if (!isChecked(rule, value, group)) continue;
    const path = `${prefix}/${name}`;
    const message = brokenRule(name, rule, value);
    if (message !== undefined) out.push({ code: ENVELOPE_INVALID, path, message });
    else if (rule.type === 'group') checkFields(value as Json, rule.fields, path, out);
  }
}

/**
 * An optional field is checked when it holds a value; null, which GraphQL passes for an explicit
 * null, holds none. A field required unless a sibling is given is checked whenever it is present
 * at all or the sibling is absent, so `userId: null` is refused even beside an anonymousId.
 */
function isChecked(rule: FieldRule, value: unknown, group: Json): boolean {
  if (rule.required === true) return true;
  if (rule.required === false) return value !== undefined && value !== null;
  return value !== undefined || group[rule.required.unless] === undefined;
}

function brokenRule(name: string, rule: FieldRule, value: unknown): string | undefined {
  switch (rule.type) {
    case 'text':
      return brokenTextRule(name, rule, value);
    case 'date-time':
      return value instanceof Date && !Number.isNaN(value.getTime())
        ? undefined
        : `${name} must be a Date instance`;
    case 'object':
    case 'group':
      return isObject(value) ? undefined : `${name} must be an object`;
  }
}

// The pattern goes before the length, so an event name that breaks both is shown the pattern to follow.
function brokenTextRule(name: string, rule: TextRule, value: unknown): string | undefined {
  if (typeof value !== 'string') return rule.message ?? `${name} must be a string`;
  if (rule.nonEmpty && value.length === 0) return rule.message ?? `${name} should not be empty`;
  if (rule.pattern !== undefined && !rule.pattern.test(value))
    return rule.message ?? `${name} must match ${rule.pattern.source}`;
  // String.length bounds textLength from above and costs nothing: count only texts it cannot clear.
  if (rule.maxLength !== undefined && value.length > rule.maxLength && textLength(value) > rule.maxLength)
    return `${name} must be shorter than or equal to ${rule.maxLength} characters`;
  return undefined;
}

/** The UTF-8 size of an event as JSON; events above MAX_EVENT_BYTES are refused. */
export function serializedBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

export function sizeError(bytes: number): EventError {
  return {
    code: SIZE_EXCEEDED,
    path: null,
    message: `event is ${bytes} bytes as JSON; the limit is ${MAX_EVENT_BYTES}`,
  };
}

/**
 * Reads a decoded stream record into an envelope, so the stream checks it with exactly the rules
 * the edge uses. Type mismatches GraphQL would have caught are reported here instead and the field
 * read as absent, as a null is.
 */
export function trackEventFromRecord(body: Json): { input: EventEnvelope; errors: EventError[] } {
  const errors: EventError[] = [];
  const input = readFields(body, ENVELOPE_RULES, '', {}, errors) as unknown as EventEnvelope;
  return { input, errors };
}

function readFields(raw: Json, rules: FieldRules, prefix: string, into: Json, errors: EventError[]): Json {
  for (const [name, rule] of Object.entries(rules)) {
    into[name] = readField(raw[name], name, rule, `${prefix}/${name}`, errors);
  }
  return into;
}

function readField(
  value: unknown,
  name: string,
  rule: FieldRule,
  path: string,
  errors: EventError[],
): unknown {
  if (value === undefined || value === null) return undefined;
  const mistyped = (message: string): undefined => {
    errors.push({ code: ENVELOPE_INVALID, path, message });
    return undefined;
  };
  switch (rule.type) {
    case 'text':
      return typeof value === 'string' ? value : mistyped(`${name} must be a string`);
    case 'date-time': {
      if (typeof value !== 'string') return mistyped(`${name} must be a string`);
      const parsed = new Date(value);
      return DATE_TIME_START.test(value) && !Number.isNaN(parsed.getTime())
        ? parsed
        : mistyped(`${name} must be an ISO 8601 date-time`);
    }
    case 'object':
      return isObject(value) ? value : mistyped(`${name} must be an object`);
    case 'group':
      if (!isObject(value)) return mistyped(`${name} must be an object`);
      return readFields(value, rule.fields, path, rule.otherKeys === 'kept' ? { ...value } : {}, errors);
  }
}

/** The edge fields of a stream record, when present and well-typed. */
export function edgeFieldsFromRecord(
  body: Json,
): Pick<StreamRecordBody, 'receivedAt' | 'source' | 'sourceIp' | 'mergesUsers'> {
  return {
    receivedAt: stringOrUndefined(body.receivedAt),
    source: stringOrUndefined(body.source),
    sourceIp: stringOrUndefined(body.sourceIp),
    mergesUsers: body.mergesUsers === true ? true : undefined,
  };
}

const stringOrUndefined = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

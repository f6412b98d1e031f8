/**
 * The envelope rules: what every field of an event outside its properties must be, and how long it
 * may grow. The edge validator (envelope.ts), the stream's fast path (clean-record.ts) and the
 * GraphQL input's decorators all read this one table, so a rule changes here and nowhere else.
 * The properties themselves are checked by the event's JSON Schema, not here.
 */
import type { AppContext, EventEnvelope, KnownContext, LibraryContext, PageContext } from './types';

/** A text field. Lengths are counted by `textLength`. */
export interface TextRule {
  readonly type: 'text';
  /** `{ unless }`: required unless the named sibling field is given. */
  readonly required: boolean | { readonly unless: string };
  readonly nonEmpty: boolean;
  readonly maxLength?: number;
  readonly pattern?: RegExp;
  /** Replaces the generic message for a missing, mistyped, empty or non-matching value. */
  readonly message?: string;
  /** A valid value, shown in the docs; tests grow it to the maximum length. */
  readonly example?: string;
}

/** An ISO 8601 date-time on the wire; a `Date` once read. */
export interface DateTimeRule {
  readonly type: 'date-time';
  readonly required: boolean;
}

/** Any JSON object (not an array): the event's properties, which its schema checks. */
export interface ObjectRule {
  readonly type: 'object';
  readonly required: boolean;
}

/** An object whose fields have rules of their own. */
export interface GroupRule {
  readonly type: 'group';
  readonly required: boolean;
  readonly fields: FieldRules;
  /** What the stream does with keys the rules do not name: `kept` as sent, or `dropped`. */
  readonly otherKeys: 'kept' | 'dropped';
}

export type FieldRule = TextRule | DateTimeRule | ObjectRule | GroupRule;

/** Rules by field name, in the order fields are checked and their errors reported. */
export type FieldRules = Readonly<Record<string, FieldRule>>;

/** Exactly one rule for every field of `T`. */
type RulesFor<T> = { readonly [K in keyof Required<T>]: FieldRule };

const ID_MAX_LENGTH = 256;
const EVENT_NAME_MAX_LENGTH = 64;

/**
 * An event name: lower snake case, starting with a letter. It also names the event's folder of
 * JSON Schemas, so the schema registry holds schema files to it too.
 */
export const EVENT_NAME_PATTERN = new RegExp(`^[a-z][a-z0-9_]{0,${EVENT_NAME_MAX_LENGTH - 1}}$`);

/** A pinned SchemaVer version, MODEL-REVISION-ADDITION. */
export const SCHEMA_VERSION_PATTERN = /^[1-9][0-9]*-[0-9]+-[0-9]+$/;

/** How a date-time on the wire starts; the rest is whatever `Date` parses as a valid instant. */
export const DATE_TIME_START = /^\d{4}-\d{2}-\d{2}T/;

export const PAGE_RULES = {
  url: { type: 'text', required: false, nonEmpty: false, maxLength: 4096 },
  path: { type: 'text', required: false, nonEmpty: false, maxLength: 2048 },
  referrer: { type: 'text', required: false, nonEmpty: false, maxLength: 4096 },
  title: { type: 'text', required: false, nonEmpty: false, maxLength: 1024 },
  search: { type: 'text', required: false, nonEmpty: false, maxLength: 4096 },
} as const satisfies RulesFor<PageContext>;

export const APP_RULES = {
  name: { type: 'text', required: false, nonEmpty: false, maxLength: 256 },
  version: { type: 'text', required: false, nonEmpty: false, maxLength: 64 },
  build: { type: 'text', required: false, nonEmpty: false, maxLength: 64 },
} as const satisfies RulesFor<AppContext>;

export const LIBRARY_RULES = {
  name: { type: 'text', required: true, nonEmpty: false, maxLength: 256 },
  version: { type: 'text', required: true, nonEmpty: false, maxLength: 64 },
} as const satisfies RulesFor<LibraryContext>;

// page, app and library drop keys they do not name, so what is stored under them has a known shape;
// the context itself keeps them, since custom context is welcome.
export const CONTEXT_RULES = {
  page: { type: 'group', required: false, fields: PAGE_RULES, otherKeys: 'dropped' },
  userAgent: { type: 'text', required: false, nonEmpty: false, maxLength: 1024 },
  locale: { type: 'text', required: false, nonEmpty: false, maxLength: 35 },
  app: { type: 'group', required: false, fields: APP_RULES, otherKeys: 'dropped' },
  library: { type: 'group', required: false, fields: LIBRARY_RULES, otherKeys: 'dropped' },
  ip: { type: 'text', required: false, nonEmpty: false, maxLength: 64 },
} as const satisfies RulesFor<KnownContext>;

/** The envelope: every field an event carries, in the order their errors are reported. */
export const ENVELOPE_RULES = {
  messageId: { type: 'text', required: false, nonEmpty: true, maxLength: ID_MAX_LENGTH },
  event: {
    type: 'text',
    required: true,
    nonEmpty: true,
    maxLength: EVENT_NAME_MAX_LENGTH,
    pattern: EVENT_NAME_PATTERN,
    message: `event must match ${EVENT_NAME_PATTERN.source}`,
    example: 'product_viewed',
  },
  userId: {
    type: 'text',
    required: { unless: 'anonymousId' },
    nonEmpty: true,
    maxLength: ID_MAX_LENGTH,
    message: 'userId or anonymousId is required',
  },
  anonymousId: { type: 'text', required: false, nonEmpty: true, maxLength: ID_MAX_LENGTH },
  sessionId: { type: 'text', required: false, nonEmpty: false, maxLength: ID_MAX_LENGTH },
  timestamp: { type: 'date-time', required: false },
  sentAt: { type: 'date-time', required: false },
  properties: { type: 'object', required: false },
  context: { type: 'group', required: false, fields: CONTEXT_RULES, otherKeys: 'kept' },
  schemaVersion: {
    type: 'text',
    required: false,
    nonEmpty: false,
    pattern: SCHEMA_VERSION_PATTERN,
    message: 'schemaVersion must look like 1-0-0',
    example: '1-0-0',
  },
} as const satisfies RulesFor<EventEnvelope>;

/**
 * What the free-form parts of an event (`properties`, with identify traits, and `context`) may hold,
 * whatever their schema says. Reserved keys mean something to JavaScript objects (a `__proto__` key
 * can replace an object's prototype when records are merged) and DynamoDB refuses the attributes
 * they become; nesting past the limit makes recursive code (JSON.stringify among it) overflow its
 * stack, which would fail a whole batch instead of one event.
 */
export const SHAPE_RULES = {
  /** The parts checked, by envelope field name. */
  parts: ['properties', 'context'],
  /** Levels of objects and arrays a part may nest, the part itself being level 1. */
  maxDepth: 32,
  reservedKeys: ['__proto__', 'constructor', 'prototype'],
} as const satisfies {
  parts: ReadonlyArray<keyof EventEnvelope>;
  maxDepth: number;
  reservedKeys: readonly string[];
};

const PRESENTATION_SELECTOR = /[^\uFE0F\uFE0E][\uFE0F\uFE0E]/g;
const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/**
 * A text's length as `maxLength` counts it: a character outside the Basic Multilingual Plane (a
 * surrogate pair) counts once and an emoji or text presentation selector not at all, so an emoji
 * costs what a letter does. `String.length` is never smaller, so a hot path may use it as a
 * conservative bound and leave the longer cases to the full check.
 */
export function textLength(text: string): number {
  const selectors = text.match(PRESENTATION_SELECTOR)?.length ?? 0;
  const pairs = text.match(SURROGATE_PAIR)?.length ?? 0;
  return text.length - selectors - pairs;
}

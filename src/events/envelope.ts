import { validateSync, type ValidationError } from 'class-validator';
import { AppContextInput, EventContextInput, PageContextInput, TrackEventInput } from '../schema/event.input';
import type { EventError, StreamRecordBody } from './types';

/** The largest event, serialised as JSON, that the pipeline takes. */
export const MAX_EVENT_BYTES = 32 * 1024;

/** Stable codes for envelope problems; clients and the failed-events table depend on them. */
export const ENVELOPE_INVALID = 'ENVELOPE_INVALID';
export const SIZE_EXCEEDED = 'SIZE_EXCEEDED';

/** Runs the class-validator rules of TrackEventInput and returns every violation with a JSON pointer. */
export function envelopeErrors(input: TrackEventInput): EventError[] {
  const errors: EventError[] = [];
  collect(validateSync(input, { forbidUnknownValues: false, stopAtFirstError: true }), '', errors);
  return errors;
}

function collect(validationErrors: ValidationError[], prefix: string, out: EventError[]): void {
  for (const error of validationErrors) {
    const path = `${prefix}/${error.property}`;
    for (const message of Object.values(error.constraints ?? {})) {
      out.push({ code: ENVELOPE_INVALID, path, message });
    }
    if (error.children?.length) collect(error.children, path, out);
  }
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

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Turns a decoded stream record into a TrackEventInput so the stream checks it with exactly the
 * rules the edge uses. Type mismatches GraphQL would have caught are reported here instead.
 */
export function trackEventFromRecord(body: Json): { input: TrackEventInput; errors: EventError[] } {
  const errors: EventError[] = [];
  const input = new TrackEventInput();
  const text = (key: string, source: Json = body, prefix = ''): string | undefined => {
    const value = source[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    errors.push({ code: ENVELOPE_INVALID, path: `${prefix}/${key}`, message: `${key} must be a string` });
    return undefined;
  };
  const date = (key: string): Date | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) {
      errors.push({
        code: ENVELOPE_INVALID,
        path: `/${key}`,
        message: `${key} must be an ISO 8601 date-time`,
      });
      return undefined;
    }
    return parsed;
  };

  input.messageId = text('messageId');
  input.event = text('event') ?? (undefined as unknown as string);
  input.userId = text('userId');
  input.anonymousId = text('anonymousId');
  input.sessionId = text('sessionId');
  input.schemaVersion = text('schemaVersion');
  input.timestamp = date('timestamp');
  input.sentAt = date('sentAt');
  if (body.properties !== undefined && body.properties !== null) {
    if (isObject(body.properties)) input.properties = body.properties;
    else
      errors.push({ code: ENVELOPE_INVALID, path: '/properties', message: 'properties must be an object' });
  }
  if (body.context !== undefined && body.context !== null) {
    if (isObject(body.context)) input.context = contextFromRecord(body.context, text, errors);
    else errors.push({ code: ENVELOPE_INVALID, path: '/context', message: 'context must be an object' });
  }
  return { input, errors };
}

function contextFromRecord(
  raw: Json,
  text: (key: string, source: Json, prefix: string) => string | undefined,
  errors: EventError[],
): EventContextInput {
  const context = Object.assign(new EventContextInput(), raw);
  context.userAgent = text('userAgent', raw, '/context');
  context.locale = text('locale', raw, '/context');
  context.ip = text('ip', raw, '/context');
  const nested = <T extends object>(key: string, make: () => T, fields: string[]): T | undefined => {
    const value = raw[key];
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) {
      errors.push({ code: ENVELOPE_INVALID, path: `/context/${key}`, message: `${key} must be an object` });
      return undefined;
    }
    const target = make() as Record<string, unknown>;
    for (const field of fields) target[field] = text(field, value, `/context/${key}`);
    return target as T;
  };
  context.page = nested('page', () => new PageContextInput(), ['url', 'path', 'referrer', 'title', 'search']);
  context.app = nested('app', () => new AppContextInput(), ['name', 'version', 'build']);
  return context;
}

/** The edge fields of a stream record, when present and well-typed. */
export function edgeFieldsFromRecord(
  body: Json,
): Pick<StreamRecordBody, 'receivedAt' | 'source' | 'sourceIp'> {
  return {
    receivedAt: stringOrUndefined(body.receivedAt),
    source: stringOrUndefined(body.source),
    sourceIp: stringOrUndefined(body.sourceIp),
  };
}

const stringOrUndefined = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

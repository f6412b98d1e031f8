import { isUtf8 } from 'node:buffer';
import type { KinesisStreamRecord } from 'aws-lambda';
import { cleanRecord, type CleanRecord } from '../events/clean-record';
import type { Enricher } from '../events/enrich/enrich-event';
import { ALIAS_EVENT, type IdentityRules } from '../events/identity';
import {
  edgeFieldsFromRecord,
  envelopeErrors,
  MAX_EVENT_BYTES,
  sizeError,
  trackEventFromRecord,
} from '../events/envelope';
import { ENVELOPE_RULES, SHAPE_RULES } from '../events/envelope-rules';
import { depthWithin } from '../events/event-shape';
import { itemIdsOf } from '../events/event-items';
import { eventTimeErrors } from '../events/enrich/event-time';
import { readablePayload, unreadablePayload, type KeptPayload } from '../events/failed-payload';
import { canonicalIsoMs, isEventTimeMs, msToIso } from '../events/iso-time';
import { messageIdForRecord, toStoredEvent, type RecordOrigin } from '../events/normalise';
import { checkEventSchema } from '../events/schema-check';
import type { SchemaRegistry } from '../events/schema-registry';
import type { EventError, FailedEvent, FailureType, StoredEvent } from '../events/types';
import { subjectIdsOf } from '../privacy/suppression';

export type DecodedRecord =
  | {
      ok: true;
      event: StoredEvent;
      /** Every item the event is about, by its schema's item keywords: what the hot tier learns from. */
      itemIds: string[];
      sequenceNumber: string;
      shardId: string;
      /** The ids the record names its person by, as sent: what the suppression list is asked about. */
      subjectIds: string[];
    }
  | { ok: false; failed: FailedEvent; sequenceNumber: string; shardId: string; subjectIds: string[] };

/** What checking a record needs; built once per process. */
export interface RecordChecks {
  processorVersion: string;
  schemas: SchemaRegistry;
  enrich: Enricher;
  /** Which direct producers' `alias` events may merge two userIds (`mergeSources`). */
  identity: IdentityRules;
}

export const ENRICHMENT_FAILED = 'ENRICHMENT_FAILED';

/** The shard a Lambda Kinesis record came from (its eventID is `<shardId>:<sequenceNumber>`). */
export function shardOf(record: KinesisStreamRecord): string {
  const { eventID } = record;
  const colon = eventID.lastIndexOf(':');
  return colon > 0 ? eventID.slice(0, colon) : 'shardId-unknown';
}

type Json = Record<string, unknown>;

/** Where a record sits and how it arrived; failures are built from it without per-record closures. */
interface RecordPlace {
  sequenceNumber: string;
  shardId: string;
  raw: Buffer;
  arrivalMs: number;
  processorVersion: string;
  /** What failures need to scrub the payload they keep. */
  checks: RecordChecks;
  /** The record once it reads as a JSON object: whose ids a failure names. */
  json: Record<string, unknown> | undefined;
}

type FailureDetails = Partial<Pick<FailedEvent, 'messageId' | 'event' | 'receivedAt' | 'schema'>> & {
  /** What the failed event keeps of the record; by default its bytes scrubbed as text, cut to a head. */
  kept?: KeptPayload;
};

function failure(
  place: RecordPlace,
  failureType: FailureType,
  errors: EventError[],
  { kept = unreadablePayload(place.raw, place.checks.enrich.scrub.text), ...details }: FailureDetails = {},
): DecodedRecord {
  return {
    ok: false,
    sequenceNumber: place.sequenceNumber,
    shardId: place.shardId,
    // Read from the record as sent: a failed record names its person as much as a valid one, and
    // its event name, which decides whether previous_id counts, may be what is wrong with it.
    subjectIds: place.json === undefined ? [] : subjectIdsOf(place.json, true),
    failed: {
      messageId: null,
      event: null,
      schema: null,
      receivedAt: msToIso(place.arrivalMs),
      processorVersion: place.processorVersion,
      ...details,
      payload: kept.payload,
      payloadEncoding: kept.payloadEncoding,
      failureType,
      errors: kept.truncation === null ? errors : [...errors, kept.truncation],
    },
  };
}

const malformed = (message: string): EventError[] => [{ code: 'MALFORMED', path: null, message }];

/**
 * Decode → parse → envelope → schema → enrich, for one stream record. Never throws: every problem
 * becomes a FailedEvent with a typed reason, so a poison record cannot block its shard.
 */
export function decodeRecord(record: KinesisStreamRecord, checks: RecordChecks): DecodedRecord {
  const { processorVersion } = checks;
  const { sequenceNumber } = record.kinesis;
  const raw = Buffer.from(record.kinesis.data, 'base64');
  const place: RecordPlace = {
    sequenceNumber,
    shardId: shardOf(record),
    raw,
    arrivalMs: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
    processorVersion,
    checks,
    json: undefined,
  };

  if (!isUtf8(raw)) return failure(place, 'malformed', malformed('record data is not valid UTF-8'));
  const text = raw.toString('utf8');
  let body: unknown;
  let parseError: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    parseError = error;
  }
  const json = isJsonObject(body) ? body : undefined;
  place.json = json;
  if (raw.byteLength > MAX_EVENT_BYTES) return oversize(place, json);
  // Not the parser's message: it quotes the record (all of it when short), and error messages are
  // kept unscrubbed.
  if (parseError !== undefined) return failure(place, 'malformed', malformed('record is not JSON'));
  if (json === undefined) return failure(place, 'malformed', malformed('record must be a JSON object'));

  const edge = edgeFieldsFromRecord(json);
  const received = receipt(edge.receivedAt, place.arrivalMs);
  const source = edge.source ?? 'kinesis';
  // The edge sets the flag for a key holding ADMIN; a direct producer writes to the stream with
  // rights of its own, so its flag, like its source and receivedAt, is taken as written.
  const mayMergeUsers = edge.mergesUsers === true || checks.identity.mergeSources.has(source);
  const checked =
    cleanRecord(json, place, {
      receivedAt: received.iso,
      source,
      sourceIp: edge.sourceIp,
      processorVersion,
      mayMergeUsers,
    }) ??
    slowPath(json, place, {
      receivedAt: new Date(received.ms),
      source,
      sourceIp: edge.sourceIp,
      processorVersion,
      mayMergeUsers,
    });
  if ('failed' in checked) return checked.failed;

  const { event: base, times, schemaVersion } = checked;
  const timeErrors = eventTimeErrors(times, received.ms);
  if (timeErrors !== undefined) {
    return failure(
      place,
      'envelope_invalid',
      timeErrors,
      failureContext(json, place, base.messageId, base.event, received.ms),
    );
  }
  const check = checkEventSchema(checks.schemas, {
    event: base.event,
    schemaVersion,
    properties: base.properties,
  });
  if (!check.ok) {
    return failure(place, check.failureType, check.errors, {
      ...failureContext(json, place, base.messageId, base.event, received.ms),
      schema: check.schemaRef,
    });
  }
  try {
    const event = checks.enrich(base, times, check.schema);
    const itemIds = itemIdsOf(check.schema, event.properties);
    // From the record as sent (enrichment may hash a property a schema marks as personal data). On
    // a valid event only an alias's previous_id names a person, as the lake's eraser reads events.
    const subjectIds = subjectIdsOf(json, event.event === ALIAS_EVENT);
    return { ok: true, event, itemIds, sequenceNumber, shardId: place.shardId, subjectIds };
  } catch (error) {
    const path = (error as { path?: unknown }).path;
    return failure(
      place,
      'enrichment_failed',
      [
        {
          code: ENRICHMENT_FAILED,
          path: typeof path === 'string' ? path : null,
          message: error instanceof Error ? error.message : String(error),
        },
      ],
      {
        ...failureContext(json, place, base.messageId, base.event, received.ms),
        schema: check.schema?.ref ?? null,
      },
    );
  }
}

/**
 * When the edge received the record (its `receivedAt`, else the stream's arrival time), as epoch ms
 * and as the ISO text stored. A canonical `receivedAt` is kept as sent, without a Date round trip.
 * One that is no time, or a time outside the years the pipeline stores (a direct producer's bad
 * clock), is replaced by the arrival time.
 */
function receipt(edgeReceivedAt: string | undefined, arrivalMs: number): { ms: number; iso: string } {
  if (edgeReceivedAt === undefined) return { ms: arrivalMs, iso: msToIso(arrivalMs) };
  const canonical = canonicalIsoMs(edgeReceivedAt);
  if (isEventTimeMs(canonical)) return { ms: canonical, iso: edgeReceivedAt };
  // Not a real instant in canonical form (another offset, or a shape with impossible values such as
  // month 13): store the instant actually used, never the text as sent.
  const parsed = Date.parse(edgeReceivedAt);
  const ms = isEventTimeMs(parsed) ? parsed : arrivalMs;
  return { ms, iso: msToIso(ms) };
}

/** The full envelope check with the edge's own class-validator rules, for records the fast path declined. */
function slowPath(
  json: Json,
  place: RecordPlace,
  origin: RecordOrigin,
): CleanRecord | { failed: DecodedRecord } {
  const { input, errors } = trackEventFromRecord(json);
  errors.push(...envelopeErrors(input));
  const messageId = input.messageId ?? messageIdForRecord(place.shardId, place.sequenceNumber);
  if (errors.length > 0) {
    const event = typeof input.event === 'string' ? input.event : null;
    return {
      failed: failure(
        place,
        'envelope_invalid',
        errors,
        failureContext(json, place, messageId, event, origin.receivedAt.getTime()),
      ),
    };
  }
  return {
    event: toStoredEvent(input, messageId, origin),
    times: { timestampMs: input.timestamp?.getTime(), sentAtMs: input.sentAt?.getTime() },
    schemaVersion: input.schemaVersion,
  };
}

// Built only on failure: scrubbing a payload costs too much per valid record.
function failureContext(
  json: Json,
  place: RecordPlace,
  messageId: string,
  event: string | null,
  receivedMs: number,
) {
  return { kept: keptPayload(json, place), messageId, event, receivedAt: msToIso(receivedMs) };
}

/**
 * What a failed event keeps of a record read as a JSON object: the record scrubbed as the good path
 * would store it (its schema's `x-pii` marks by its event name, else the detector), as the text it
 * came in when scrubbing changes nothing. A record nested past the depth limit cannot be walked or
 * re-serialised (both recurse), so it is kept as an unreadable record is.
 */
function keptPayload(json: Json, place: RecordPlace): KeptPayload {
  if (!depthWithin(json, SHAPE_RULES.maxDepth + 1))
    return unreadablePayload(place.raw, place.checks.enrich.scrub.text);
  const schema = place.checks.schemas.piiSchemaFor(json.event, json.schemaVersion);
  const scrubbed = place.checks.enrich.scrub.record(json, schema);
  return readablePayload(
    scrubbed === json ? place.raw.toString('utf8') : JSON.stringify(scrubbed),
    place.raw,
  );
}

/**
 * A record over MAX_EVENT_BYTES. Never stored whole: the failed event keeps the head of its
 * scrubbed form, with its messageId and event name when it has valid ones.
 */
function oversize(place: RecordPlace, json: Json | undefined): DecodedRecord {
  const errors = [sizeError(place.raw.byteLength)];
  if (json === undefined) return failure(place, 'size_exceeded', errors);
  const { messageId, event } = ENVELOPE_RULES;
  const received = receipt(edgeFieldsFromRecord(json).receivedAt, place.arrivalMs);
  return failure(
    place,
    'size_exceeded',
    errors,
    failureContext(
      json,
      place,
      textWithin(json.messageId, messageId.maxLength) ??
        messageIdForRecord(place.shardId, place.sequenceNumber),
      textWithin(json.event, event.maxLength) ?? null,
      received.ms,
    ),
  );
}

const textWithin = (value: unknown, maxLength: number): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= maxLength ? value : undefined;

const isJsonObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

import type { KinesisStreamRecord } from 'aws-lambda';
import {
  edgeFieldsFromRecord,
  envelopeErrors,
  MAX_EVENT_BYTES,
  sizeError,
  trackEventFromRecord,
} from '../events/envelope';
import { messageIdForRecord, toStoredEvent } from '../events/normalise';
import type { EventError, FailedEvent, FailureType, StoredEvent } from '../events/types';

export type DecodedRecord =
  | { ok: true; event: StoredEvent; sequenceNumber: string; shardId: string }
  | { ok: false; failed: FailedEvent; sequenceNumber: string; shardId: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The shard a Lambda Kinesis record came from (its eventID is `<shardId>:<sequenceNumber>`). */
export function shardOf(record: KinesisStreamRecord): string {
  const { eventID } = record;
  const colon = eventID.lastIndexOf(':');
  return colon > 0 ? eventID.slice(0, colon) : 'shardId-unknown';
}

/**
 * Decode → parse → check one stream record. Never throws: every problem becomes a FailedEvent
 * with a typed reason, so a poison record cannot block its shard.
 */
export function decodeRecord(record: KinesisStreamRecord, processorVersion: string): DecodedRecord {
  const { sequenceNumber, approximateArrivalTimestamp } = record.kinesis;
  const shardId = shardOf(record);
  const arrival = new Date(Math.round(approximateArrivalTimestamp * 1000));
  const raw = Buffer.from(record.kinesis.data, 'base64');
  const fail = (
    failureType: FailureType,
    errors: EventError[],
    extra: Partial<
      Pick<FailedEvent, 'messageId' | 'event' | 'receivedAt' | 'payload' | 'payloadEncoding'>
    > = {},
  ): DecodedRecord => ({
    ok: false,
    sequenceNumber,
    shardId,
    failed: {
      messageId: null,
      event: null,
      payload: raw.toString('base64'),
      payloadEncoding: 'base64',
      schema: null,
      receivedAt: arrival.toISOString(),
      processorVersion,
      ...extra,
      failureType,
      errors,
    },
  });

  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return fail('malformed', [{ code: 'MALFORMED', path: null, message: 'record data is not valid UTF-8' }]);
  }
  const asText = { payload: text, payloadEncoding: 'utf8' as const };
  if (raw.byteLength > MAX_EVENT_BYTES) return fail('size_exceeded', [sizeError(raw.byteLength)], asText);

  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return fail(
      'malformed',
      [{ code: 'MALFORMED', path: null, message: `record is not JSON: ${(error as Error).message}` }],
      asText,
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return fail(
      'malformed',
      [{ code: 'MALFORMED', path: null, message: 'record must be a JSON object' }],
      asText,
    );
  }

  const json = body as Record<string, unknown>;
  const edge = edgeFieldsFromRecord(json);
  const receivedAt =
    edge.receivedAt && !Number.isNaN(Date.parse(edge.receivedAt)) ? new Date(edge.receivedAt) : arrival;
  const { input, errors } = trackEventFromRecord(json);
  errors.push(...envelopeErrors(input));
  const messageId = input.messageId ?? messageIdForRecord(shardId, sequenceNumber);
  if (errors.length > 0) {
    return fail('envelope_invalid', errors, {
      ...asText,
      messageId,
      event: typeof input.event === 'string' ? input.event : null,
      receivedAt: receivedAt.toISOString(),
    });
  }
  const event = toStoredEvent(input, messageId, {
    receivedAt,
    source: edge.source ?? 'kinesis',
    sourceIp: edge.sourceIp,
    processorVersion,
  });
  return { ok: true, event, sequenceNumber, shardId };
}

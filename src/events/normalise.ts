import { createHash } from 'node:crypto';
import { ALIAS_EVENT } from './identity';
import type { EventEnvelope, StoredEvent } from './types';

export interface RecordOrigin {
  receivedAt: Date;
  source: string;
  sourceIp?: string;
  processorVersion: string;
  /**
   * The record's sender may merge two userIds: the edge said so (a key holding ADMIN), or the
   * source is a configured merge source. Only an `alias` event uses it.
   */
  mayMergeUsers: boolean;
}

/** Whether a stored event may merge two userIds: an `alias` from a sender allowed to (see RecordOrigin). */
export const mergesUsers = (event: string, mayMergeUsers: boolean): boolean =>
  mayMergeUsers && event === ALIAS_EVENT;

/**
 * A stable messageId for records written straight to the stream without one: derived from the
 * record's place in the stream, so every redelivery of that record gets the same id.
 */
export function messageIdForRecord(shardId: string, sequenceNumber: string): string {
  const hash = createHash('sha256').update(`${shardId}:${sequenceNumber}`).digest('hex');
  return `kinesis-${hash.slice(0, 32)}`;
}

/** Builds the stored form of an event whose envelope is valid. */
export function toStoredEvent(input: EventEnvelope, messageId: string, origin: RecordOrigin): StoredEvent {
  const context = { ...(input.context ?? {}) };
  if (context.ip === undefined && origin.sourceIp !== undefined) context.ip = origin.sourceIp;
  return {
    messageId,
    event: input.event,
    userId: input.userId ?? null,
    anonymousId: input.anonymousId ?? null,
    sessionId: input.sessionId ?? null,
    timestamp: (input.timestamp ?? origin.receivedAt).toISOString(),
    sentAt: input.sentAt?.toISOString() ?? null,
    receivedAt: origin.receivedAt.toISOString(),
    source: origin.source,
    properties: input.properties ?? {},
    context: JSON.parse(JSON.stringify(context)) as StoredEvent['context'],
    processorVersion: origin.processorVersion,
    mergesUsers: mergesUsers(input.event, origin.mayMergeUsers),
  };
}

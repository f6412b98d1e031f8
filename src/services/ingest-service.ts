import { randomUUID } from 'node:crypto';
import type { TrackEventInput } from '../schema/event.input';
import { envelopeErrors, MAX_EVENT_BYTES, serializedBytes, sizeError } from '../events/envelope';
import type { EventError, StreamRecordBody } from '../events/types';
import { profileId } from '../events/types';
import type { EventStreamProducer } from '../sinks/ports';

/** What the edge knows about the HTTP request that carried a batch. */
export interface EdgeRequest {
  receivedAt: Date;
  sourceIp?: string;
  userAgent?: string;
}

export type TrackStatusValue = 'ACCEPTED' | 'DUPLICATE' | 'REJECTED';

export interface TrackOutcome {
  messageId: string;
  status: TrackStatusValue;
  errors: EventError[];
  /** True when the event was valid but could not be written: resend it with the same messageId. */
  retryable: boolean;
}

export const STREAM_WRITE_FAILED = 'STREAM_WRITE_FAILED';

export interface IngestServiceOptions {
  producer: EventStreamProducer;
  newMessageId?: () => string;
}

/**
 * The front door: checks each event's envelope, adds edge context and puts the valid ones on the
 * stream in one call. One bad event never sinks its neighbours; ACCEPTED means the stream has it.
 */
export class IngestService {
  private readonly producer: EventStreamProducer;
  private readonly newMessageId: () => string;

  constructor(options: IngestServiceOptions) {
    this.producer = options.producer;
    this.newMessageId = options.newMessageId ?? randomUUID;
  }

  /** Tracks events; outcomes are in input order. */
  async track(inputs: TrackEventInput[], edge: EdgeRequest): Promise<TrackOutcome[]> {
    const outcomes: TrackOutcome[] = [];
    const pending: Array<{ index: number; body: StreamRecordBody }> = [];
    inputs.forEach((input, index) => {
      const messageId = input.messageId ?? this.newMessageId();
      const errors = envelopeErrors(input);
      if (errors.length > 0) {
        outcomes[index] = { messageId, status: 'REJECTED', errors, retryable: false };
        return;
      }
      const body = toRecordBody(input, messageId, edge);
      const bytes = serializedBytes(body);
      if (bytes > MAX_EVENT_BYTES) {
        outcomes[index] = { messageId, status: 'REJECTED', errors: [sizeError(bytes)], retryable: false };
        return;
      }
      pending.push({ index, body });
    });

    if (pending.length > 0) {
      const results = await this.producer.putRecords(
        pending.map(({ body }) => ({
          // The envelope rules guarantee one of the two ids is present.
          partitionKey: profileId(body) ?? body.messageId,
          data: Buffer.from(JSON.stringify(body), 'utf8'),
        })),
      );
      pending.forEach(({ index, body }, i) => {
        const result = results[i];
        outcomes[index] = result?.ok
          ? { messageId: body.messageId, status: 'ACCEPTED', errors: [], retryable: false }
          : {
              messageId: body.messageId,
              status: 'REJECTED',
              retryable: true,
              errors: [
                {
                  code: STREAM_WRITE_FAILED,
                  path: null,
                  message: `the stream did not take the event (${result?.errorCode ?? 'unknown'}); resend it with the same messageId`,
                },
              ],
            };
      });
    }
    return outcomes;
  }
}

function toRecordBody(input: TrackEventInput, messageId: string, edge: EdgeRequest): StreamRecordBody {
  return {
    messageId,
    event: input.event,
    userId: input.userId,
    anonymousId: input.anonymousId,
    sessionId: input.sessionId,
    timestamp: input.timestamp?.toISOString(),
    sentAt: input.sentAt?.toISOString(),
    properties: input.properties,
    context: input.context ? { ...input.context } : undefined,
    receivedAt: edge.receivedAt.toISOString(),
    source: 'graphql',
    sourceIp: edge.sourceIp,
    requestUserAgent: edge.userAgent,
    schemaVersion: input.schemaVersion,
  };
}

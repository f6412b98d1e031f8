import { randomUUID } from 'node:crypto';
import type { Principal } from '../access/principal';
import { ALIAS_EVENT } from '../events/identity';
import { envelopeErrors, MAX_EVENT_BYTES, sizeError } from '../events/envelope';
import { cutPastDepthLimit } from '../events/event-shape';
import type { EventEnvelope, EventError, StreamRecordBody } from '../events/types';
import { profileId } from '../events/types';
import { checkEventSchema } from '../events/schema-check';
import type { PayloadScrubber } from '../events/scrub-payload';
import { acceptedLiveEvent, rejectedLiveEvent, suppressedLiveEvent } from '../live/from-edge';
import type { LiveEvent } from '../live/live-event';
import type { LivePublisher } from '../live/port';
import type { SchemaRegistry } from '../events/schema-registry';
import type { SuppressionList } from '../privacy/port';
import { logSuppressed, subjectIdsOf } from '../privacy/suppression';
import { loadSchemaRegistry } from './schema-files';
import type { DedupeStore } from '../sinks/hot-tier/port';
import type { EventStreamProducer } from '../stream/port';

/** What the edge knows about the HTTP request that carried a batch. */
export interface EdgeRequest {
  receivedAt: Date;
  sourceIp?: string;
  userAgent?: string;
  /** Which front door the event came through, stored with it: `graphql` unless said otherwise. */
  source?: 'graphql' | 'segment';
  /**
   * The request's key holds ADMIN, so its `alias` events may merge two userIds (docs/identity.md).
   * Set from the authenticated principal (mayMergeUsers), never from anything the request says.
   */
  mayMergeUsers?: boolean;
}

/** Whether a caller's `alias` events may merge two userIds: only with a key holding ADMIN. */
export function mayMergeUsers(principal: Principal): boolean {
  return principal.scopes.has('ADMIN');
}

export type TrackStatusValue = 'ACCEPTED' | 'DUPLICATE' | 'SUPPRESSED' | 'REJECTED';

export interface TrackOutcome {
  messageId: string;
  status: TrackStatusValue;
  errors: EventError[];
  /** True when the event was valid but could not be written: resend it with the same messageId. */
  retryable: boolean;
}

export const STREAM_WRITE_FAILED = 'STREAM_WRITE_FAILED';
export const SUPPRESSION_CHECK_FAILED = 'SUPPRESSION_CHECK_FAILED';

/** How the edge shows its answers in the live view (docs/live.md). */
export interface LiveEdge {
  publisher: LivePublisher;
  /**
   * The failed events' scrubber (the stream's PII secret and detector): payloads are shown as the
   * lake keeps them. Asked for only when live events are built, so a key read on demand is read
   * only while anyone watches; it never rejects.
   */
  scrubber: () => Promise<PayloadScrubber>;
}

export interface IngestServiceOptions {
  producer: EventStreamProducer;
  newMessageId?: () => string;
  /** The registry the stream uses too; defaults to the project's schemas/ with unknown events accepted. */
  schemas?: SchemaRegistry;
  /** Edge dedupe (TRIBUTARY_EDGE_DEDUPE=on); without it every valid event goes to the stream. */
  dedupe?: DedupeStore;
  /**
   * Ids whose new events are dropped (docs/privacy.md#suppression), usually a
   * CachedSuppressionList; without it no event is checked.
   */
  suppression?: SuppressionList;
  logger?: Pick<Console, 'info' | 'warn' | 'error'>;
  /** Without it the edge publishes no live events. */
  live?: LiveEdge;
}

interface ValidEvent {
  index: number;
  body: StreamRecordBody;
  /** The body as the stream record's data: serialised once, for the size check and the put. */
  data: Buffer;
}

/**
 * The front door: checks each event's envelope, adds edge context and puts the valid ones on the
 * stream in one call. One bad event never sinks its neighbours; ACCEPTED means the stream has it.
 */
export class IngestService {
  private readonly producer: EventStreamProducer;
  private readonly newMessageId: () => string;
  private readonly schemas: SchemaRegistry;
  private readonly dedupe: DedupeStore | undefined;
  private readonly suppression: SuppressionList | undefined;
  private readonly logger: Pick<Console, 'info' | 'warn' | 'error'>;
  private readonly live: LiveEdge | undefined;

  constructor(options: IngestServiceOptions) {
    this.producer = options.producer;
    this.newMessageId = options.newMessageId ?? randomUUID;
    this.schemas = options.schemas ?? loadSchemaRegistry();
    this.dedupe = options.dedupe;
    this.suppression = options.suppression;
    this.logger = options.logger ?? console;
    this.live = options.live;
  }

  /**
   * Tracks events; outcomes are in input order. A rejected event is still put on the stream (in
   * the same call): the stream's own checks then record it in failed events with its reasons, so
   * what clients send wrong is visible to operators, not only to the sender (one nested past the
   * depth limit goes on cut one level past it: still refused there, and writable as JSON). Its
   * outcome stays REJECTED whatever the stream answers. An event naming a suppressed id is
   * SUPPRESSED (REJECTED when invalid) and goes nowhere. Once answered, the outcomes are shown in
   * the live view, when anyone watches it.
   */
  async track(inputs: EventEnvelope[], edge: EdgeRequest): Promise<TrackOutcome[]> {
    const records: StreamRecordBody[] = [];
    const outcomes = await this.answer(inputs, edge, records);
    const live = this.live;
    if (live?.publisher.hasSubscribers())
      await live.publisher.publish(this.liveEvents(outcomes, records, await live.scrubber()));
    return outcomes;
  }

  /** The outcomes of `inputs`; `records` gets each one's record as the edge built it (cut when too deep). */
  private async answer(
    inputs: EventEnvelope[],
    edge: EdgeRequest,
    records: StreamRecordBody[],
  ): Promise<TrackOutcome[]> {
    const outcomes: TrackOutcome[] = [];
    const valid: ValidEvent[] = [];
    const invalid: StreamRecordBody[] = [];
    inputs.forEach((input, index) => {
      const messageId = input.messageId ?? this.newMessageId();
      const body = toRecordBody(input, messageId, edge);
      records[index] = body;
      const reject = (errors: EventError[]) => {
        outcomes[index] = { messageId, status: 'REJECTED', errors, retryable: false };
        records[index] = cutPastDepthLimit(body);
        invalid.push(records[index]);
      };
      const errors = envelopeErrors(input);
      if (errors.length > 0) return reject(errors);
      const check = checkEventSchema(this.schemas, input);
      if (!check.ok) return reject(check.errors);
      const data = recordData(body);
      if (data.byteLength > MAX_EVENT_BYTES) return reject([sizeError(data.byteLength)]);
      valid.push({ index, body, data });
    });

    const { pending, rejected } = await this.dropSuppressed(valid, invalid, outcomes);
    const fresh = await this.dropDuplicates(pending, outcomes);
    const toPut = [...fresh, ...rejected.map((body) => ({ body, data: recordData(body) }))];
    if (toPut.length === 0) return outcomes;
    const results = await this.producer.putRecords(
      toPut.map(({ body, data }) => ({ partitionKey: profileId(body) ?? body.messageId, data })),
    );
    await this.releaseUnwritten(fresh.filter((_, i) => results[i]?.ok !== true));
    fresh.forEach(({ index, body }, i) => {
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
    return outcomes;
  }

  /** The live events of a batch's answers; a DUPLICATE was shown the first time. */
  private liveEvents(
    outcomes: TrackOutcome[],
    records: StreamRecordBody[],
    scrubber: PayloadScrubber,
  ): LiveEvent[] {
    const events: LiveEvent[] = [];
    outcomes.forEach((outcome, index) => {
      const record = records[index];
      if (record === undefined) return;
      const schema = () => this.schemas.piiSchemaFor(record.event, record.schemaVersion);
      if (outcome.status === 'ACCEPTED') events.push(acceptedLiveEvent(record, scrubber, schema()));
      else if (outcome.status === 'REJECTED')
        events.push(rejectedLiveEvent(record, outcome.errors, scrubber, schema()));
      else if (outcome.status === 'SUPPRESSED') events.push(suppressedLiveEvent(record));
    });
    return events;
  }

  /**
   * Drops the events naming a suppressed id, with one lookup for all the batch's ids: a valid one
   * answers SUPPRESSED, an invalid one stays REJECTED (its errors are still the sender's to fix);
   * neither is written nor claimed for dedupe. When the list cannot answer, a valid event is
   * answered as one the stream did not take (REJECTED, retryable): ACCEPTED promises the event
   * will be stored, which is unknown, and the clients resend retryable events by themselves
   * (Segment's get a 503). Invalid events still go on: the stream checks the list again before it
   * writes a failed event.
   */
  private async dropSuppressed(
    valid: ValidEvent[],
    invalid: StreamRecordBody[],
    outcomes: TrackOutcome[],
  ): Promise<{ pending: ValidEvent[]; rejected: StreamRecordBody[] }> {
    if (this.suppression === undefined) return { pending: valid, rejected: invalid };
    const validIds = valid.map(({ body }) => subjectIdsOf(body));
    const invalidIds = invalid.map((body) => subjectIdsOf(body, true));
    const ids = [...validIds, ...invalidIds].flat();
    if (ids.length === 0) return { pending: valid, rejected: invalid };
    let suppressed: Set<string>;
    try {
      suppressed = await this.suppression.suppressed(ids);
    } catch (error) {
      this.logger.error('suppression list unavailable; valid events answered retryable', error);
      for (const { index, body } of valid) outcomes[index] = unchecked(body.messageId);
      return { pending: [], rejected: invalid };
    }
    const names = (eventIds: string[] | undefined) => eventIds?.some((id) => suppressed.has(id)) === true;
    const pending = valid.filter(({ index, body }, i) => {
      if (!names(validIds[i])) return true;
      outcomes[index] = { messageId: body.messageId, status: 'SUPPRESSED', errors: [], retryable: false };
      return false;
    });
    const rejected = invalid.filter((_, i) => !names(invalidIds[i]));
    logSuppressed(this.logger, 'edge', valid.length - pending.length + invalid.length - rejected.length);
    return { pending, rejected };
  }

  /**
   * Claims each messageId (edge dedupe); a repeat within the window is answered DUPLICATE and not
   * written. Dedupe only saves work — the warehouse keeps each messageId once regardless — so
   * when the dedupe table cannot answer, the events go through rather than fail.
   */
  private async dropDuplicates(pending: ValidEvent[], outcomes: TrackOutcome[]): Promise<ValidEvent[]> {
    if (this.dedupe === undefined || pending.length === 0) return pending;
    let claimed: boolean[];
    try {
      claimed = await this.dedupe.claim(pending.map(({ body }) => body.messageId));
    } catch (error) {
      this.logger.warn('edge dedupe unavailable; events go through undeduplicated', error);
      return pending;
    }
    return pending.filter(({ index, body }, i) => {
      if (claimed[i] !== false) return true;
      outcomes[index] = { messageId: body.messageId, status: 'DUPLICATE', errors: [], retryable: false };
      return false;
    });
  }

  /** A claim of an event the stream did not take is given back, so its resend is not a DUPLICATE. */
  private async releaseUnwritten(unwritten: Array<{ body: StreamRecordBody }>): Promise<void> {
    if (this.dedupe === undefined || unwritten.length === 0) return;
    try {
      await this.dedupe.release(unwritten.map(({ body }) => body.messageId));
    } catch (error) {
      this.logger.warn(
        'could not release edge dedupe claims; a resend within the window answers DUPLICATE',
        error,
      );
    }
  }
}

/** A valid event not written because the suppression list could not say whether it may be. */
function unchecked(messageId: string): TrackOutcome {
  return {
    messageId,
    status: 'REJECTED',
    retryable: true,
    errors: [
      {
        code: SUPPRESSION_CHECK_FAILED,
        path: null,
        message: 'the suppression list could not be read; resend the event with the same messageId',
      },
    ],
  };
}

/** A record body as the stream stores it: JSON in UTF-8. */
const recordData = (body: StreamRecordBody): Buffer => Buffer.from(JSON.stringify(body), 'utf8');

function toRecordBody(input: EventEnvelope, messageId: string, edge: EdgeRequest): StreamRecordBody {
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
    source: edge.source ?? 'graphql',
    sourceIp: edge.sourceIp,
    requestUserAgent: edge.userAgent,
    schemaVersion: input.schemaVersion,
    // Written only by the edge: the body is built field by field, so a client cannot send it.
    mergesUsers: edge.mayMergeUsers === true && input.event === ALIAS_EVENT ? true : undefined,
  };
}

import 'reflect-metadata';
import { createEnricher } from '../../src/events/enrich/enrich-event';
import { pseudonym } from '../../src/events/enrich/pii';
import type { FailedEvent, StoredEvent, StreamRecordBody } from '../../src/events/types';
import { acceptedLiveEvent, rejectedLiveEvent, suppressedLiveEvent } from '../../src/live/from-edge';
import { failedLiveEvent } from '../../src/live/from-failed';
import {
  LIVE_EVENT_STATUSES,
  LIVE_FILTER_LIMITS,
  liveFilterProblem,
  type LiveEvent,
} from '../../src/live/live-event';
import type { LivePublisher } from '../../src/live/port';
import { TrackEventInput } from '../../src/schema/event.input';
import { IngestService } from '../../src/services/ingest-service';
import { loadSchemaRegistry } from '../../src/services/schema-files';
import { createStreamProcessor } from '../../src/stream/process-batch';
import type { EventStreamProducer } from '../../src/stream/port';
import { MemoryDelivery, RecordingHotStore } from '../helpers/in-memory-sinks';
import { kinesisEvent, kinesisRecord } from '../helpers/kinesis-events';
import { RecordingSuppressionList } from '../helpers/recording-suppression-list';

const SECRET = 'live-test-pii-secret';
const scrubber = createEnricher({ piiSecret: SECRET, horizonMs: 30 * 86_400_000 }).scrub;
const schemas = loadSchemaRegistry();
const identifySchema = schemas.piiSchemaFor('identify', undefined);

const body = (fields: Partial<StreamRecordBody> = {}): StreamRecordBody => ({
  messageId: 'm-1',
  event: 'identify',
  userId: 'u-1',
  receivedAt: '2026-03-04T05:06:07.000Z',
  sourceIp: '203.0.113.9',
  properties: { email: 'ada@example.com', plan: 'pro' },
  context: { ip: '203.0.113.77', locale: 'en-GB' },
  ...fields,
});

/** A publisher that keeps what it is given, with subscribers or not. */
class RecordingPublisher implements LivePublisher {
  readonly published: LiveEvent[] = [];
  constructor(public subscribers = true) {}
  hasSubscribers(): boolean {
    return this.subscribers;
  }
  async publish(events: readonly LiveEvent[]): Promise<void> {
    this.published.push(...events);
  }
}

describe('live events of the edge', () => {
  it('shows an accepted event with x-pii properties hashed and context.ip anonymised, and nothing else of the record', () => {
    const live = acceptedLiveEvent(body(), scrubber, identifySchema);
    expect(live).toEqual({
      messageId: 'm-1',
      event: 'identify',
      userId: 'u-1',
      anonymousId: null,
      status: 'ACCEPTED',
      failureType: null,
      errors: [],
      receivedAt: '2026-03-04T05:06:07.000Z',
      properties: { email: pseudonym('ada@example.com', SECRET), plan: 'pro' },
      context: { ip: '203.0.113.0', locale: 'en-GB' },
    });
    expect(JSON.stringify(live)).not.toContain('203.0.113.9');
  });

  it('hashes what the detector finds in an event without a schema', () => {
    const live = acceptedLiveEvent(
      body({ event: 'no_schema_here', properties: { contact: 'ada@example.com', n: 1 } }),
      scrubber,
      null,
    );
    expect(live.properties).toEqual({ contact: pseudonym('ada@example.com', SECRET), n: 1 });
  });

  it('shows a rejection with its errors and what could be read, and no payload past the size limit', () => {
    const errors = [{ code: 'ENVELOPE_INVALID', path: '/userId', message: 'bad' }];
    const odd = rejectedLiveEvent(
      body({ userId: 42 as unknown as string, properties: [1, 2] as unknown as Record<string, unknown> }),
      errors,
      scrubber,
      identifySchema,
    );
    expect(odd).toMatchObject({ status: 'REJECTED', userId: null, errors, properties: null });
    expect(odd.context).toEqual({ ip: '203.0.113.0', locale: 'en-GB' });

    const huge = rejectedLiveEvent(
      body({ properties: { blob: 'x'.repeat(40_000) } }),
      errors,
      scrubber,
      identifySchema,
    );
    expect(huge).toMatchObject({ status: 'REJECTED', userId: 'u-1', properties: null, context: null });
  });

  it('shows a suppressed event without its payload', () => {
    expect(suppressedLiveEvent(body())).toMatchObject({
      messageId: 'm-1',
      status: 'SUPPRESSED',
      userId: 'u-1',
      properties: null,
      context: null,
    });
  });
});

describe('live events of failed events', () => {
  const failed = (fields: Partial<FailedEvent>): FailedEvent => ({
    messageId: 'f-1',
    failureType: 'schema_violation',
    event: 'checkout_started',
    errors: [{ code: 'SCHEMA_VIOLATION', path: '/properties/value', message: 'must be >= 0' }],
    payload: JSON.stringify({
      userId: 'u-9',
      anonymousId: 'a-9',
      properties: { value: -1 },
      context: { ip: '203.0.113.0' },
    }),
    payloadEncoding: 'utf8',
    schema: 'checkout_started/1-0-0',
    receivedAt: '2026-03-04T05:06:07.000Z',
    processorVersion: 'tributary@test',
    ...fields,
  });

  it('reads ids, properties and context from a JSON payload', () => {
    expect(failedLiveEvent(failed({}))).toEqual({
      messageId: 'f-1',
      event: 'checkout_started',
      userId: 'u-9',
      anonymousId: 'a-9',
      status: 'FAILED',
      failureType: 'schema_violation',
      errors: failed({}).errors,
      receivedAt: '2026-03-04T05:06:07.000Z',
      properties: { value: -1 },
      context: { ip: '203.0.113.0' },
    });
  });

  it('does not show again an edge rejection, which the edge showed as REJECTED', () => {
    const fromEdge = (source: string, failureType: FailedEvent['failureType']) =>
      failed({ failureType, payload: JSON.stringify({ userId: 'u-9', source }) });
    expect(failedLiveEvent(fromEdge('graphql', 'schema_violation'))).toBeNull();
    expect(failedLiveEvent(fromEdge('segment', 'envelope_invalid'))).toBeNull();
    // The stream's own findings, and a direct producer's record, are shown.
    expect(failedLiveEvent(fromEdge('graphql', 'identity_conflict'))?.status).toBe('FAILED');
    expect(failedLiveEvent(fromEdge('billing-service', 'schema_violation'))?.status).toBe('FAILED');
  });

  it('shows no payload for one that is not JSON, is cut, or is base64', () => {
    for (const fields of [
      { payload: 'not json', failureType: 'malformed' as const },
      { payload: '{"userId":"u-9","properties":{"val', failureType: 'size_exceeded' as const },
      { payload: Buffer.from('{"userId":"u"}').toString('base64'), payloadEncoding: 'base64' as const },
      { payload: '[1,2]' },
    ]) {
      expect(failedLiveEvent(failed(fields))).toMatchObject({
        userId: null,
        properties: null,
        context: null,
      });
    }
  });
});

describe('publishing', () => {
  const producer: EventStreamProducer = {
    putRecords: async (records) =>
      records.map((_, i) => ({ ok: true, shardId: 's', sequenceNumber: String(i) })),
  };
  const input = (fields: Partial<TrackEventInput>) => Object.assign(new TrackEventInput(), fields);
  const edge = { receivedAt: new Date('2026-03-04T05:06:07.000Z'), sourceIp: '203.0.113.9' };

  it('the edge publishes each answer but DUPLICATE, once answered, only while anyone watches', async () => {
    const publisher = new RecordingPublisher();
    const suppression = new RecordingSuppressionList();
    await suppression.suppress(['gone'], 'del_test');
    const dedupe = {
      claim: async (ids: string[]) => ids.map((id) => id !== 'dup'),
      release: async () => undefined,
    };
    const service = new IngestService({
      producer,
      schemas,
      suppression,
      dedupe,
      live: { publisher, scrubber: () => Promise.resolve(scrubber) },
    });
    const batch = [
      input({ event: 'identify', userId: 'u-1', messageId: 'ok', properties: { email: 'ada@example.com' } }),
      input({ event: 'checkout_started', userId: 'u-1', messageId: 'bad', properties: { value: -1 } }),
      input({ event: 'page_viewed', userId: 'gone', messageId: 'hidden' }),
      input({ event: 'page_viewed', userId: 'u-1', messageId: 'dup' }),
    ];
    const outcomes = await service.track(batch, edge);
    expect(outcomes.map((o) => o.status)).toEqual(['ACCEPTED', 'REJECTED', 'SUPPRESSED', 'DUPLICATE']);
    expect(publisher.published.map((e) => [e.messageId, e.status])).toEqual([
      ['ok', 'ACCEPTED'],
      ['bad', 'REJECTED'],
      ['hidden', 'SUPPRESSED'],
    ]);
    expect(publisher.published[0]?.properties).toEqual({ email: pseudonym('ada@example.com', SECRET) });
    expect(publisher.published[1]?.errors[0]?.path).toBe('/properties/value');

    publisher.subscribers = false;
    await service.track([input({ event: 'page_viewed', userId: 'u-1', messageId: 'unwatched' })], edge);
    expect(publisher.published).toHaveLength(3);
  });

  it('the stream processor publishes each failed event it wrote, none it could not write, only while anyone watches', async () => {
    const publisher = new RecordingPublisher();
    const failed = new MemoryDelivery<FailedEvent>();
    failed.failWhen = (record) => record.messageId === 'unwritten';
    const process = createStreamProcessor({
      events: new MemoryDelivery<StoredEvent>(),
      failed,
      hotStore: new RecordingHotStore(),
      processorVersion: 'tributary@test',
      schemas,
      logger: { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
      live: publisher,
    });
    const record = (messageId: string, properties: Record<string, unknown>) => ({
      messageId,
      event: 'checkout_started',
      anonymousId: 'a-1',
      receivedAt: '2026-03-04T05:06:07.000Z',
      properties,
    });
    await process(
      kinesisEvent([
        kinesisRecord(record('fine', { value: 3 }), '1'),
        kinesisRecord(record('broken', { value: 'lots' }), '2'),
        kinesisRecord(record('unwritten', { value: -1 }), '3'),
        kinesisRecord('not json at all', '4'),
      ]),
    );
    expect(publisher.published.map((e) => [e.messageId, e.status, e.failureType])).toEqual([
      ['broken', 'FAILED', 'schema_violation'],
      [null, 'FAILED', 'malformed'],
    ]);
    expect(publisher.published[0]).toMatchObject({ anonymousId: 'a-1', properties: { value: 'lots' } });

    publisher.subscribers = false;
    await process(kinesisEvent([kinesisRecord(record('unseen', { value: 'x' }), '5')]));
    expect(publisher.published).toHaveLength(2);
  });
});

describe('the live filter bounds', () => {
  it('refuses more statuses than there are, more event names than the limit, and values past their length', () => {
    expect(liveFilterProblem({ statuses: [...LIVE_EVENT_STATUSES] })).toBeNull();
    expect(liveFilterProblem({ statuses: [...LIVE_EVENT_STATUSES, 'FAILED'] })).toMatch(
      /filter\.statuses has 5 values/,
    );
    const names = Array.from({ length: LIVE_FILTER_LIMITS.events + 1 }, (_, i) => `e${i}`);
    expect(liveFilterProblem({ events: names.slice(1) })).toBeNull();
    expect(liveFilterProblem({ events: names })).toMatch(/filter\.events has 51 names/);
    expect(liveFilterProblem({ userId: 'u'.repeat(LIVE_FILTER_LIMITS.value + 1) })).toMatch(/at most 256/);
  });
});

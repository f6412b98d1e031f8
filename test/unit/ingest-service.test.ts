import 'reflect-metadata';
import { TrackEventInput } from '../../src/schema/event.input';
import { SchemaRegistry } from '../../src/events/schema-registry';
import { findSchemasDir, readSchemaDirectory } from '../../src/services/schema-files';
import { IngestService, mayMergeUsers, SUPPRESSION_CHECK_FAILED } from '../../src/services/ingest-service';
import { CachedSuppressionList } from '../../src/services/cached-suppression-list';
import { SUPPRESSED_EVENTS_LOG_FIELD } from '../../src/privacy/suppression';
import { RecordingSuppressionList } from '../helpers/recording-suppression-list';
import { operationRunner } from '../helpers/execute-operation';
import type { Principal } from '../../src/access/principal';
import type { EventStreamProducer, StreamPutOutcome, StreamPutRecord } from '../../src/stream/port';

class FakeProducer implements EventStreamProducer {
  readonly calls: StreamPutRecord[][] = [];
  failIndices = new Set<number>();

  async putRecords(records: StreamPutRecord[]): Promise<StreamPutOutcome[]> {
    this.calls.push(records);
    return records.map((_, i) =>
      this.failIndices.has(i)
        ? { ok: false, errorCode: 'ProvisionedThroughputExceededException', errorMessage: 'slow down' }
        : { ok: true, shardId: 'shardId-0', sequenceNumber: String(i) },
    );
  }
}

const edge = {
  receivedAt: new Date('2026-02-03T04:05:06.000Z'),
  sourceIp: '203.0.113.9',
  userAgent: 'curl/8',
};
const input = (fields: Partial<TrackEventInput>) => Object.assign(new TrackEventInput(), fields);

describe('IngestService', () => {
  it('puts valid events with edge fields, keyed by user, and rejects invalid ones (passed on for failed events)', async () => {
    const producer = new FakeProducer();
    let next = 0;
    const service = new IngestService({ producer, newMessageId: () => `gen-${++next}` });
    const outcomes = await service.track(
      [
        input({ event: 'page_viewed', userId: 'u1', messageId: 'm1' }),
        input({ event: 'NOPE', userId: 'u1' }),
        input({
          event: 'product_viewed',
          anonymousId: 'a1',
          timestamp: new Date('2026-02-03T04:00:00Z'),
          properties: { product_id: 'sku-1' },
        }),
      ],
      edge,
    );
    expect(outcomes.map((o) => [o.messageId, o.status])).toEqual([
      ['m1', 'ACCEPTED'],
      ['gen-1', 'REJECTED'],
      ['gen-2', 'ACCEPTED'],
    ]);
    expect(outcomes[1]?.errors[0]).toMatchObject({ code: 'ENVELOPE_INVALID', path: '/event' });
    expect(producer.calls).toHaveLength(1);
    const written = producer.calls[0]!.map((r) => ({
      key: r.partitionKey,
      body: JSON.parse(Buffer.from(r.data).toString()),
    }));
    expect(written).toEqual([
      {
        key: 'u1',
        body: expect.objectContaining({
          messageId: 'm1',
          receivedAt: '2026-02-03T04:05:06.000Z',
          source: 'graphql',
          sourceIp: '203.0.113.9',
          requestUserAgent: 'curl/8',
        }),
      },
      {
        key: 'a1',
        body: expect.objectContaining({ messageId: 'gen-2', timestamp: '2026-02-03T04:00:00.000Z' }),
      },
      // The rejected event goes last, so the stream records it in failed events.
      { key: 'u1', body: expect.objectContaining({ messageId: 'gen-1', event: 'NOPE' }) },
    ]);
  });

  it('stores the front door an event came through', async () => {
    const producer = new FakeProducer();
    const service = new IngestService({ producer });
    await service.track([input({ event: 'page_viewed', userId: 'u1' })], { ...edge, source: 'segment' });
    const body = JSON.parse(Buffer.from(producer.calls[0]![0]!.data).toString()) as { source: string };
    expect(body.source).toBe('segment');
  });

  it('marks an alias as merging users only for an edge whose key may, never from what the client sent', async () => {
    const producer = new FakeProducer();
    const service = new IngestService({ producer });
    const alias = (messageId: string, extra: object = {}) =>
      Object.assign(
        input({ event: 'alias', userId: 'u1', messageId, properties: { previous_id: 'u0' } }),
        extra,
      );
    await service.track([alias('admin'), input({ event: 'page_viewed', userId: 'u1', messageId: 'page' })], {
      ...edge,
      mayMergeUsers: true,
    });
    // A client's own `mergesUsers` (a field no input type has) is never copied into the record.
    await service.track([alias('forged', { mergesUsers: true })], edge);
    await service.track([alias('refused', { mergesUsers: true })], { ...edge, mayMergeUsers: false });
    const written = producer.calls
      .flat()
      .map((r) => JSON.parse(Buffer.from(r.data).toString()) as { messageId: string; mergesUsers?: unknown });
    expect(written.map((body) => [body.messageId, body.mergesUsers])).toEqual([
      ['admin', true],
      ['page', undefined],
      ['forged', undefined],
      ['refused', undefined],
    ]);
  });

  it('lets only a key holding ADMIN merge users', () => {
    const principal = (scopes: Principal['scopes']): Principal => ({ keyId: 'k', kind: 'SECRET', scopes });
    expect(mayMergeUsers(principal(new Set(['ADMIN'])))).toBe(true);
    expect(mayMergeUsers(principal(new Set(['INGEST', 'ANALYTICS_READ', 'HOT_READ'])))).toBe(false);
    expect(mayMergeUsers({ ...principal(new Set(['INGEST'])), userId: 'u1' })).toBe(false);
  });

  it('rejects an event nested past the depth limit or holding a reserved key, and takes its neighbours', async () => {
    const producer = new FakeProducer();
    const service = new IngestService({ producer });
    let deep: Record<string, unknown> = { a: 1 };
    for (let level = 1; level < 5_000; level++) deep = { a: deep };
    const outcomes = await service.track(
      [
        input({ event: 'page_viewed', userId: 'u1', messageId: 'before' }),
        input({ event: 'page_viewed', userId: 'u1', messageId: 'deep', properties: deep }),
        input({
          event: 'identify',
          userId: 'u1',
          messageId: 'proto',
          properties: JSON.parse('{"traits":{"__proto__":{"admin":true}}}') as Record<string, unknown>,
        }),
        input({ event: 'page_viewed', userId: 'u1', messageId: 'after' }),
      ],
      edge,
    );
    expect(outcomes.map((o) => [o.messageId, o.status, o.errors[0]?.code, o.errors[0]?.path])).toEqual([
      ['before', 'ACCEPTED', undefined, undefined],
      ['deep', 'REJECTED', 'ENVELOPE_INVALID', `/properties${'/a'.repeat(32)}`],
      ['proto', 'REJECTED', 'ENVELOPE_INVALID', '/properties/traits/__proto__'],
      ['after', 'ACCEPTED', undefined, undefined],
    ]);
    // Passed on for failed events: the deep one cut one level past the limit, where the stream refuses it again.
    const passedOn = producer.calls[0]!.map((r) => Buffer.from(r.data).toString());
    expect(passedOn).toHaveLength(4);
    expect(passedOn[2]).toContain(`"properties":${'{"a":'.repeat(33)}{}${'}'.repeat(33)}`);
    expect(passedOn[3]).toContain('"properties":{"traits":{"__proto__":{"admin":true}}}');
  });

  it('never answers ACCEPTED for an event the stream did not take', async () => {
    const producer = new FakeProducer();
    producer.failIndices = new Set([1]);
    const service = new IngestService({ producer });
    const outcomes = await service.track(
      [
        input({ event: 'a', userId: 'u' }),
        input({ event: 'b', userId: 'u' }),
        input({ event: 'c', userId: 'u' }),
      ],
      edge,
    );
    expect(outcomes.map((o) => o.status)).toEqual(['ACCEPTED', 'REJECTED', 'ACCEPTED']);
    expect(outcomes[1]).toMatchObject({
      retryable: true,
      errors: [expect.objectContaining({ code: 'STREAM_WRITE_FAILED' })],
    });
  });

  it('rejects an event over 32 KiB with SIZE_EXCEEDED', async () => {
    const producer = new FakeProducer();
    const service = new IngestService({ producer });
    const [outcome] = await service.track(
      [input({ event: 'big', userId: 'u', properties: { blob: 'x'.repeat(33_000) } })],
      edge,
    );
    expect(outcome).toMatchObject({
      status: 'REJECTED',
      errors: [expect.objectContaining({ code: 'SIZE_EXCEEDED' })],
    });
    // Written once, for failed events; the stream refuses it again as size_exceeded.
    expect(producer.calls.flat()).toHaveLength(1);
  });

  it('rejects a known event that breaks its schema with JSON-pointer paths, and an unknown pinned version', async () => {
    const producer = new FakeProducer();
    const service = new IngestService({ producer });
    const outcomes = await service.track(
      [
        input({ event: 'product_viewed', userId: 'u1', properties: { price: 'free' } }),
        input({
          event: 'order_completed',
          userId: 'u1',
          schemaVersion: '7-0-0',
          properties: { order_id: 'o1' },
        }),
        input({ event: 'my_custom_event', userId: 'u1' }),
      ],
      edge,
    );
    expect(outcomes.map((o) => o.status)).toEqual(['REJECTED', 'REJECTED', 'ACCEPTED']);
    expect(outcomes[0]?.errors.map((e) => [e.code, e.path])).toEqual([
      ['SCHEMA_VIOLATION', '/properties/product_id'],
      ['SCHEMA_VIOLATION', '/properties/price'],
    ]);
    expect(outcomes[1]?.errors[0]).toMatchObject({ code: 'SCHEMA_UNKNOWN', path: '/schemaVersion' });
    expect(producer.calls.flat()).toHaveLength(3);
  });

  it('rejects events without a schema when the policy is reject', async () => {
    const schemas = new SchemaRegistry(readSchemaDirectory(findSchemasDir()), { unknownEvents: 'reject' });
    const service = new IngestService({ producer: new FakeProducer(), schemas });
    const [outcome] = await service.track([input({ event: 'my_custom_event', userId: 'u1' })], edge);
    expect(outcome).toMatchObject({
      status: 'REJECTED',
      errors: [{ code: 'SCHEMA_UNKNOWN', path: '/event' }],
    });
  });

  it('answers DUPLICATE for a claimed messageId and gives back claims of events the stream did not take', async () => {
    const claimed = new Set<string>(['seen']);
    const released: string[] = [];
    const dedupe = {
      async claim(ids: string[]) {
        return ids.map((id) => (claimed.has(id) ? false : (claimed.add(id), true)));
      },
      async release(ids: string[]) {
        released.push(...ids);
        ids.forEach((id) => claimed.delete(id));
      },
    };
    const producer = new FakeProducer();
    producer.failIndices = new Set([1]);
    const service = new IngestService({ producer, dedupe });
    const events = ['seen', 'new-1', 'new-2'].map((messageId) =>
      input({ event: 'page_viewed', userId: 'u', messageId }),
    );
    const outcomes = await service.track(events, edge);
    expect(outcomes.map((o) => o.status)).toEqual(['DUPLICATE', 'ACCEPTED', 'REJECTED']);
    expect(released).toEqual(['new-2']);
    const again = await service.track([events[2]!], edge);
    expect(again[0]?.status).toBe('ACCEPTED');
  });

  describe('with a suppression list', () => {
    function setup() {
      const producer = new FakeProducer();
      const list = new RecordingSuppressionList();
      const claims: string[] = [];
      const dedupe = {
        async claim(ids: string[]) {
          claims.push(...ids);
          return ids.map(() => true);
        },
        async release() {},
      };
      const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
      const service = new IngestService({ producer, dedupe, suppression: list, logger });
      const written = () =>
        producer.calls
          .flat()
          .map((r) => (JSON.parse(Buffer.from(r.data).toString()) as { messageId: string }).messageId);
      return { producer, list, claims, logger, service, written };
    }

    it('answers SUPPRESSED for an event naming a suppressed id, writes and claims nothing of it, and takes its neighbours', async () => {
      const { list, claims, logger, service, written } = setup();
      await list.suppress(['gone-user', 'gone-anon', 'gone-old'], 'del_1');
      const outcomes = await service.track(
        [
          input({ event: 'page_viewed', userId: 'u1', messageId: 'before' }),
          input({ event: 'page_viewed', userId: 'gone-user', anonymousId: 'a9', messageId: 'by-user' }),
          input({ event: 'page_viewed', anonymousId: 'gone-anon', messageId: 'by-anon' }),
          input({
            event: 'alias',
            userId: 'new-user',
            messageId: 'by-alias',
            properties: { previous_id: 'gone-old' },
          }),
          // previous_id names someone only on an alias.
          input({
            event: 'page_viewed',
            userId: 'u2',
            messageId: 'not-alias',
            properties: { previous_id: 'gone-old' },
          }),
          input({ event: 'page_viewed', userId: 'u3', messageId: 'after' }),
        ],
        edge,
      );
      expect(outcomes).toEqual([
        { messageId: 'before', status: 'ACCEPTED', errors: [], retryable: false },
        { messageId: 'by-user', status: 'SUPPRESSED', errors: [], retryable: false },
        { messageId: 'by-anon', status: 'SUPPRESSED', errors: [], retryable: false },
        { messageId: 'by-alias', status: 'SUPPRESSED', errors: [], retryable: false },
        { messageId: 'not-alias', status: 'ACCEPTED', errors: [], retryable: false },
        { messageId: 'after', status: 'ACCEPTED', errors: [], retryable: false },
      ]);
      expect(written()).toEqual(['before', 'not-alias', 'after']);
      expect(claims).toEqual(['before', 'not-alias', 'after']);
      // One lookup for the whole batch, every id at once.
      expect(list.lookups).toHaveLength(1);
      expect(new Set(list.lookups[0])).toEqual(
        new Set(['u1', 'gone-user', 'a9', 'gone-anon', 'new-user', 'gone-old', 'u2', 'u3']),
      );
      // The metric's line: the count, never an id.
      expect(logger.info).toHaveBeenCalledTimes(1);
      expect(logger.info).toHaveBeenCalledWith(expect.any(String), {
        [SUPPRESSED_EVENTS_LOG_FIELD]: 3,
        at: 'edge',
      });
      expect(JSON.stringify(logger.info.mock.calls)).not.toMatch(/gone/);
    });

    it('keeps an invalid event of a suppressed id REJECTED but does not pass it on for failed events', async () => {
      const { list, logger, service, written } = setup();
      await list.suppress(['gone-user', 'gone-old'], 'del_1');
      const outcomes = await service.track(
        [
          input({ event: 'NOPE', userId: 'gone-user', messageId: 'bad-gone' }),
          // An invalid event's previous_id counts whatever its name: the name may be what is wrong.
          input({
            event: 'Alias',
            userId: 'u2',
            messageId: 'bad-alias',
            properties: { previous_id: 'gone-old' },
          }),
          input({ event: 'NOPE', userId: 'u1', messageId: 'bad-other' }),
          input({ event: 'page_viewed', userId: 'u1', messageId: 'good' }),
        ],
        edge,
      );
      expect(outcomes.map((o) => [o.messageId, o.status])).toEqual([
        ['bad-gone', 'REJECTED'],
        ['bad-alias', 'REJECTED'],
        ['bad-other', 'REJECTED'],
        ['good', 'ACCEPTED'],
      ]);
      expect(outcomes[0]?.errors[0]).toMatchObject({ code: 'ENVELOPE_INVALID', path: '/event' });
      expect(written()).toEqual(['good', 'bad-other']);
      expect(logger.info).toHaveBeenCalledWith(expect.any(String), {
        [SUPPRESSED_EVENTS_LOG_FIELD]: 2,
        at: 'edge',
      });
    });

    it('answers valid events retryable when the list cannot be read, and writes or claims none of them', async () => {
      const { list, claims, logger, service, written } = setup();
      list.failLookups = new Error('ProvisionedThroughputExceededException');
      const outcomes = await service.track(
        [
          input({ event: 'page_viewed', userId: 'u1', messageId: 'valid' }),
          input({ event: 'NOPE', userId: 'u1', messageId: 'invalid' }),
        ],
        edge,
      );
      expect(outcomes[0]).toEqual({
        messageId: 'valid',
        status: 'REJECTED',
        retryable: true,
        errors: [expect.objectContaining({ code: SUPPRESSION_CHECK_FAILED, path: null })],
      });
      expect(outcomes[1]).toMatchObject({ status: 'REJECTED', retryable: false });
      // The invalid one still goes on: the stream checks the list again before it stores a failed event.
      expect(written()).toEqual(['invalid']);
      expect(claims).toEqual([]);
      expect(logger.error).toHaveBeenCalledTimes(1);

      list.failLookups = undefined;
      const again = await service.track(
        [input({ event: 'page_viewed', userId: 'u1', messageId: 'valid' })],
        edge,
      );
      expect(again[0]?.status).toBe('ACCEPTED');
    });

    it('asks nothing for a batch without ids to check', async () => {
      const { list, service } = setup();
      await service.track([input({ event: 'page_viewed', userId: '  ', messageId: 'blank' })], edge);
      expect(list.lookups).toEqual([]);
    });

    it('answers SUPPRESSED through GraphQL, where BatchTrackResult counts it as not accepted', async () => {
      const { list, service } = setup();
      await list.suppress(['gone-user'], 'del_1');
      const api = await operationRunner({ ingest: service });
      try {
        const answer = await api.run(
          `mutation($events: [TrackEventInput!]!) {
            trackEvents(events: $events) { accepted rejected results { messageId status retryable } }
          }`,
          {
            events: [
              { event: 'page_viewed', userId: 'gone-user', messageId: 'gone' },
              { event: 'page_viewed', userId: 'u1', messageId: 'kept' },
            ],
          },
          { keyId: 'writer', kind: 'WRITE', scopes: new Set(['INGEST']) },
        );
        expect(answer.errors).toBeUndefined();
        expect(answer.data).toEqual({
          trackEvents: {
            accepted: 1,
            rejected: 1,
            results: [
              { messageId: 'gone', status: 'SUPPRESSED', retryable: false },
              { messageId: 'kept', status: 'ACCEPTED', retryable: false },
            ],
          },
        });
      } finally {
        await api.stop();
      }
    });

    it('through a cache: drops at once on the instance that suppressed, elsewhere once the TTL is over', async () => {
      const store = new RecordingSuppressionList();
      let now = 0;
      const instance = () => {
        const producer = new FakeProducer();
        const list = new CachedSuppressionList(store, { ttlMs: 5000, now: () => now });
        return {
          list,
          service: new IngestService({
            producer,
            suppression: list,
            logger: { info() {}, warn() {}, error() {} },
          }),
        };
      };
      const answering = instance();
      const other = instance();
      const send = async (service: IngestService) =>
        (await service.track([input({ event: 'page_viewed', userId: 'u1' })], edge))[0]?.status;

      expect(await send(answering.service)).toBe('ACCEPTED');
      expect(await send(other.service)).toBe('ACCEPTED');
      // deleteUser, served by the first instance, suppresses through its cached list.
      await answering.list.suppress(['u1'], 'del_1');
      expect(await send(answering.service)).toBe('SUPPRESSED');
      now += 4999;
      expect(await send(other.service)).toBe('ACCEPTED');
      now += 1;
      expect(await send(other.service)).toBe('SUPPRESSED');
      // Three reads of the store in all: each instance's first check, and the other's after its TTL.
      expect(store.lookups).toHaveLength(3);
    });
  });
});

import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { FAILED_PAYLOAD_HEAD_BYTES, PAYLOAD_TRUNCATED } from '../../src/events/failed-payload';
import type { FailedEvent, StoredEvent } from '../../src/events/types';
import { HotStoreError } from '../../src/sinks/hot-tier/errors';
import type { HotActivity } from '../../src/sinks/hot-tier/port';
import {
  createStreamProcessor,
  type BatchSummary,
  type StreamProcessorDeps,
} from '../../src/stream/process-batch';
import { SUPPRESSED_EVENTS_LOG_FIELD } from '../../src/privacy/suppression';
import { createEnricher } from '../../src/events/enrich/enrich-event';
import { identityRules } from '../../src/events/identity';
import { pseudonym } from '../../src/events/enrich/pii';
import { findSchemasDir, loadSchemaRegistry } from '../../src/services/schema-files';
import { MemoryHotStore } from '../../scripts/eval/memory-hot-store';
import { MemoryDelivery, RecordingHotStore } from '../helpers/in-memory-sinks';
import { kinesisEvent, kinesisRecord } from '../helpers/kinesis-events';
import { RecordingSuppressionList } from '../helpers/recording-suppression-list';

function setup(extra: Partial<StreamProcessorDeps> = {}) {
  const events = new MemoryDelivery<StoredEvent>();
  const failed = new MemoryDelivery<FailedEvent>();
  const hotStore = new RecordingHotStore();
  const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
  const summaries: BatchSummary[] = [];
  const process = createStreamProcessor(
    {
      events,
      failed,
      hotStore,
      processorVersion: 'tributary@test',
      schemas: loadSchemaRegistry(),
      logger,
      ...extra,
    },
    (summary) => summaries.push(summary),
  );
  return { events, failed, hotStore, logger, summaries, process };
}

const valid = (messageId: string, userId = 'u1', event = 'page_viewed') => ({
  messageId,
  event,
  userId,
  timestamp: '2026-01-02T03:00:00.000Z',
  receivedAt: '2026-01-02T03:00:01.000Z',
  source: 'graphql',
  properties: { product_id: 'sku-1' },
});

describe('the merges-users flag', () => {
  const alias = (messageId: string, extra: Record<string, unknown> = {}) => ({
    ...valid(messageId, 'u1', 'alias'),
    properties: { previous_id: 'u0' },
    ...extra,
  });

  it('is set on an alias the edge flagged or a merge source sent, on the fast and the full path', async () => {
    const events = new MemoryDelivery<StoredEvent>();
    const process = createStreamProcessor({
      events,
      failed: new MemoryDelivery<FailedEvent>(),
      hotStore: new RecordingHotStore(),
      processorVersion: 'tributary@test',
      schemas: loadSchemaRegistry(),
      identity: identityRules({ mergeSources: ['crm-sync'] }),
      logger: { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
    });
    const response = await process(
      kinesisEvent([
        kinesisRecord(alias('edge', { mergesUsers: true }), '1'),
        kinesisRecord(alias('source', { source: 'crm-sync' }), '2'),
        kinesisRecord(alias('plain'), '3'),
        kinesisRecord(alias('other-source', { source: 'crm' }), '4'),
        kinesisRecord({ ...valid('not-alias'), mergesUsers: true }, '5'),
        // Not a boolean true: not the edge's flag.
        kinesisRecord(alias('string', { mergesUsers: 'true' }), '6'),
        // A null field sends the record down the full envelope path.
        kinesisRecord(alias('slow-edge', { mergesUsers: true, sessionId: null }), '7'),
        kinesisRecord(alias('slow-source', { source: 'crm-sync', sessionId: null }), '8'),
        kinesisRecord(alias('slow-plain', { sessionId: null }), '9'),
      ]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(Object.fromEntries(events.records.map((e) => [e.messageId, e.mergesUsers]))).toEqual({
      edge: true,
      source: true,
      plain: false,
      'other-source': false,
      'not-alias': false,
      string: false,
      'slow-edge': true,
      'slow-source': true,
      'slow-plain': false,
    });
  });

  it('merges nobody by default: without rules, only the edge flag counts', async () => {
    const { events, process } = setup();
    await process(kinesisEvent([kinesisRecord(alias('source', { source: 'crm-sync' }), '1')]));
    expect(events.records.map((e) => e.mergesUsers)).toEqual([false]);
  });
});

describe('createStreamProcessor', () => {
  it('delivers valid events with edge fields and updates the hot tier', async () => {
    const { events, failed, hotStore, process } = setup();
    const response = await process(
      kinesisEvent([
        kinesisRecord(valid('m1'), '100'),
        kinesisRecord(valid('m2', 'u2', 'product_viewed'), '101'),
      ]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(failed.records).toEqual([]);
    expect(
      events.records.map((e) => [e.messageId, e.event, e.userId, e.receivedAt, e.processorVersion]),
    ).toEqual([
      ['m1', 'page_viewed', 'u1', '2026-01-02T03:00:01.000Z', 'tributary@test'],
      ['m2', 'product_viewed', 'u2', '2026-01-02T03:00:01.000Z', 'tributary@test'],
    ]);
    expect(hotStore.batches).toEqual([
      [
        expect.objectContaining({
          profileId: 'u1',
          event: 'page_viewed',
          sequenceNumber: '100',
          shardId: 'shardId-000000000000',
        }),
        expect.objectContaining({ profileId: 'u2', event: 'product_viewed', sequenceNumber: '101' }),
      ],
    ]);
  });

  it('routes poison records to failed events with typed reasons and never fails the batch for them', async () => {
    const { events, failed, process } = setup();
    const response = await process(
      kinesisEvent([
        kinesisRecord(Buffer.from([0xff, 0xfe, 0x00]), '1'),
        kinesisRecord('{not json', '2'),
        kinesisRecord('[1,2]', '3'),
        kinesisRecord({ event: 'Bad-Name', userId: 'u1', messageId: 'm4' }, '4'),
        kinesisRecord({ event: 'page_viewed', userId: 'u1', properties: { blob: 'x'.repeat(40_000) } }, '5'),
        kinesisRecord(valid('m6'), '6'),
      ]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(events.records.map((e) => e.messageId)).toEqual(['m6']);
    expect(failed.records.map((f) => f.failureType)).toEqual([
      'malformed',
      'malformed',
      'malformed',
      'envelope_invalid',
      'size_exceeded',
    ]);
    const [binary, notJson, , badName] = failed.records;
    expect(binary?.payloadEncoding).toBe('base64');
    expect(Buffer.from(binary?.payload ?? '', 'base64')).toEqual(Buffer.from([0xff, 0xfe, 0x00]));
    expect(notJson?.payload).toBe('{not json');
    expect(badName).toMatchObject({ messageId: 'm4', event: 'Bad-Name', processorVersion: 'tributary@test' });
    expect(badName?.errors[0]).toMatchObject({ code: 'ENVELOPE_INVALID', path: '/event' });
  });

  it('drops duplicates inside a batch', async () => {
    const { events, hotStore, process } = setup();
    await process(
      kinesisEvent([
        kinesisRecord(valid('m1'), '1'),
        kinesisRecord(valid('m1'), '2'),
        kinesisRecord(valid('m2'), '3'),
      ]),
    );
    expect(events.records.map((e) => e.messageId)).toEqual(['m1', 'm2']);
    expect(hotStore.batches[0]?.map((a) => a.sequenceNumber)).toEqual(['1', '3']);
  });

  it('gives a record without messageId a stable id from its place in the stream, and its arrival as receivedAt', async () => {
    const first = setup();
    const second = setup();
    const record = kinesisRecord({ event: 'page_viewed', anonymousId: 'a1' }, '777', {
      arrival: new Date('2026-03-01T00:00:00Z'),
    });
    await first.process(kinesisEvent([record]));
    await second.process(kinesisEvent([record]));
    const [a] = first.events.records;
    expect(a?.messageId).toMatch(/^kinesis-[0-9a-f]{32}$/);
    expect(a?.messageId).toBe(second.events.records[0]?.messageId);
    expect(a?.receivedAt).toBe('2026-03-01T00:00:00.000Z');
    expect(a?.timestamp).toBe('2026-03-01T00:00:00.000Z');
    expect(a?.source).toBe('kinesis');
  });

  it.each([
    ['an impossible date in canonical form', '2026-13-45T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
    ['no date at all', 'yesterday', '2026-03-01T00:00:00.000Z'],
    ['another offset', '2026-03-01T02:00:00+02:00', '2026-03-01T00:00:00.000Z'],
  ])('stores the instant it used as receivedAt for %s', async (_case, receivedAt, stored) => {
    const { events, process } = setup();
    const record = kinesisRecord({ event: 'page_viewed', anonymousId: 'a1', receivedAt }, '778', {
      arrival: new Date('2026-03-01T00:00:00Z'),
    });
    await process(kinesisEvent([record]));
    expect(events.records[0]?.receivedAt).toBe(stored);
  });

  it('reports records whose delivery failed and keeps the hot tier to the records before the first failure', async () => {
    const { events, hotStore, process } = setup();
    events.failWhen = (e) => e.messageId === 'm2';
    const response = await process(
      kinesisEvent([
        kinesisRecord(valid('m1'), '1'),
        kinesisRecord(valid('m2'), '2'),
        kinesisRecord(valid('m3'), '3'),
      ]),
    );
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '2' }]);
    expect(hotStore.batches[0]?.map((a) => a.sequenceNumber)).toEqual(['1']);
  });

  it('reports every record when a delivery throws or the hot tier fails', async () => {
    const a = setup();
    a.failed.throwOnDeliver = new Error('firehose down');
    const response = await a.process(
      kinesisEvent([kinesisRecord(valid('m1'), '1'), kinesisRecord('nope', '2')]),
    );
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '2' }]);

    const b = setup();
    b.hotStore.throwOnApply = new Error('dynamodb down');
    const both = await b.process(
      kinesisEvent([kinesisRecord(valid('m1'), '1'), kinesisRecord(valid('m2'), '2')]),
    );
    expect(both.batchItemFailures).toEqual([{ itemIdentifier: '1' }, { itemIdentifier: '2' }]);
  });

  describe('when DynamoDB refuses an event for good', () => {
    /** What DynamoDB answers for a number out of its range, translated as the hot store translates it. */
    const refusal = () =>
      new HotStoreError('Hot store write failed', 'HOT_STORE_REFUSED_DATA', {
        cause: Object.assign(new Error('Number overflow'), { name: 'ValidationException' }),
      });

    /** The processor over a hot store that answers each write with `apply`. */
    function withHotStore(apply: (activity: HotActivity[]) => Promise<void>) {
      const stack = setup();
      const applied = jest.fn(apply);
      stack.hotStore.applyActivity = applied;
      return { ...stack, applied };
    }
    const batch = () =>
      kinesisEvent([
        kinesisRecord(valid('m1'), '1'),
        kinesisRecord(valid('m2', 'u2'), '2'),
        kinesisRecord(valid('m3', 'u3'), '3'),
      ]);
    const ids = (activity: HotActivity[]) => activity.map((a) => a.messageId);

    it('records that event as a hot_tier_refused failed event, applies its neighbours one by one, and lets the shard move on', async () => {
      const { applied, logger, summaries, failed, events, process } = withHotStore(async (activity) => {
        if (ids(activity).includes('m2')) throw refusal();
      });
      const response = await process(batch());
      expect(response.batchItemFailures).toEqual([]);
      expect(applied.mock.calls.map(([activity]) => ids(activity))).toEqual([
        ['m1', 'm2', 'm3'],
        ['m1'],
        ['m2'],
        ['m3'],
      ]);
      expect(summaries[0]).toMatchObject({ delivered: 3, retried: 0, hotRefused: 1 });
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringContaining('refused event m2'),
        expect.any(HotStoreError),
      );
      // Delivered, and recorded as what the hot tier lacks: the payload is the event as delivered.
      const delivered = events.records.find((e) => e.messageId === 'm2');
      expect(failed.records).toEqual([
        {
          messageId: 'm2',
          failureType: 'hot_tier_refused',
          event: 'page_viewed',
          errors: [{ code: 'HOT_STORE_REFUSED_DATA', path: null, message: 'Hot store write failed' }],
          payload: JSON.stringify(delivered),
          payloadEncoding: 'utf8',
          schema: 'page_viewed/1-0-0',
          receivedAt: '2026-01-02T03:00:01.000Z',
          processorVersion: 'tributary@test',
        },
      ]);
    });

    it('retries from that event while its failed event cannot be written', async () => {
      const { failed, process } = withHotStore(async (activity) => {
        if (ids(activity).includes('m2')) throw refusal();
      });
      failed.failWhen = (record) => record.failureType === 'hot_tier_refused';
      const response = await process(batch());
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: '2' }, { itemIdentifier: '3' }]);
    });

    it('retries from the first event that then fails for another reason', async () => {
      const { process } = withHotStore(async (activity) => {
        if (activity.length > 1) throw refusal();
        if (ids(activity).includes('m2')) throw new Error('socket hang up');
      });
      const response = await process(batch());
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: '2' }, { itemIdentifier: '3' }]);
    });

    it("decides by the port's code alone, not by the name of an SDK error among the causes", async () => {
      const { applied, process } = withHotStore(async () => {
        throw new HotStoreError('Hot store write failed', 'HOT_STORE_FAILED', {
          cause: Object.assign(new Error('Number overflow'), { name: 'ValidationException' }),
        });
      });
      const response = await process(batch());
      expect(applied).toHaveBeenCalledTimes(1);
      expect(response.batchItemFailures).toEqual([
        { itemIdentifier: '1' },
        { itemIdentifier: '2' },
        { itemIdentifier: '3' },
      ]);
    });
  });

  describe('when a profile takes an event only in part', () => {
    /** The processor over the engine's own batch steps, in memory. */
    function withEngine() {
      const events = new MemoryDelivery<StoredEvent>();
      const failed = new MemoryDelivery<FailedEvent>();
      const engine = new MemoryHotStore();
      const summaries: BatchSummary[] = [];
      const process = createStreamProcessor(
        {
          events,
          failed,
          hotStore: engine,
          processorVersion: 'tributary@test',
          schemas: loadSchemaRegistry(),
          logger: { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
        },
        (summary) => summaries.push(summary),
      );
      return { events, failed, engine, summaries, process };
    }
    const identify = (messageId: string, traits: Record<string, unknown>) => ({
      ...valid(messageId, 'u1', 'identify'),
      properties: { traits },
    });
    const bigTraits = (prefix: string) =>
      Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`${prefix}${k}`, 'v'.repeat(900)]));

    it('delivers the event, counts it, and writes a profile_limit failed event naming the dropped traits', async () => {
      const { events, failed, summaries, engine, process } = withEngine();
      const response = await process(
        kinesisEvent([
          kinesisRecord(identify('i1', bigTraits('a')), '1'),
          kinesisRecord(identify('i2', { plan: 'pro' }), '2'),
        ]),
      );
      expect(response.batchItemFailures).toEqual([]);
      expect(events.records.map((e) => e.messageId)).toEqual(['i1', 'i2']);
      expect((await engine.getUser('u1'))?.eventCount).toBe(2);
      expect(failed.records.map((f) => [f.messageId, f.failureType, f.schema])).toEqual([
        ['i1', 'profile_limit', 'identify/1-0-0'],
      ]);
      expect(failed.records[0]?.errors.map((e) => e.message)).toEqual(
        ['a18', 'a19'].map((key) => `trait "${key}" not kept: the profile keeps 16384 bytes of traits`),
      );
      expect(summaries[0]).toMatchObject({ delivered: 2, hotLimited: 1, hotRefused: 0 });
    });

    it('retries the batch while the failed event cannot be written, then counts the event once', async () => {
      const { failed, engine, process } = withEngine();
      const records = () => kinesisEvent([kinesisRecord(identify('i1', bigTraits('a')), '1')]);
      failed.failWhen = () => true;
      const first = await process(records());
      expect(first.batchItemFailures).toEqual([{ itemIdentifier: '1' }]);
      expect(await engine.getUser('u1')).toBeNull();

      failed.failWhen = () => false;
      expect((await process(records())).batchItemFailures).toEqual([]);
      expect((await process(records())).batchItemFailures).toEqual([]);
      expect((await engine.getUser('u1'))?.eventCount).toBe(1);
      expect(failed.records.map((f) => [f.messageId, f.failureType])).toEqual([['i1', 'profile_limit']]);
    });
  });

  it('sends schema violations and unknown pinned versions to failed events with the schema checked', async () => {
    const { events, failed, process } = setup();
    const response = await process(
      kinesisEvent([
        kinesisRecord({ ...valid('s1', 'u1', 'product_viewed'), properties: { price: -1 } }, '1'),
        kinesisRecord({ ...valid('s2', 'u1', 'product_viewed'), schemaVersion: '9-0-0' }, '2'),
        kinesisRecord({ ...valid('s3', 'u1', 'product_viewed'), schemaVersion: '1-0-0' }, '3'),
      ]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(events.records.map((e) => [e.messageId, e.schemaVersion, e.itemId])).toEqual([
      ['s3', '1-0-0', 'sku-1'],
    ]);
    const [violation, unknown] = failed.records;
    expect(violation).toMatchObject({ failureType: 'schema_violation', schema: 'product_viewed/1-1-0' });
    expect(violation?.errors.map((e) => [e.code, e.path])).toEqual([
      ['SCHEMA_VIOLATION', '/properties/product_id'],
      ['SCHEMA_VIOLATION', '/properties/price'],
    ]);
    expect(unknown).toMatchObject({ failureType: 'schema_unknown', schema: 'product_viewed/9-0-0' });
    expect(unknown?.errors[0]).toMatchObject({ code: 'SCHEMA_UNKNOWN', path: '/schemaVersion' });
  });

  it("hands the hot tier every product of an order as one activity; the warehouse's itemId stays empty", async () => {
    const { events, hotStore, process } = setup();
    const order = {
      ...valid('o1', 'u1', 'order_completed'),
      properties: {
        order_id: 'order-1',
        products: [{ product_id: 'sku-1' }, { product_id: 42, quantity: 2 }, { product_id: 'sku-1' }],
      },
    };
    const response = await process(
      kinesisEvent([kinesisRecord(order, '1'), kinesisRecord(valid('v1', 'u1', 'product_viewed'), '2')]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(events.records.map((e) => [e.messageId, e.itemId])).toEqual([
      ['o1', null],
      ['v1', 'sku-1'],
    ]);
    expect(hotStore.batches).toEqual([
      [
        expect.objectContaining({ messageId: 'o1', event: 'order_completed', itemIds: ['sku-1', '42'] }),
        expect.objectContaining({ messageId: 'v1', event: 'product_viewed', itemIds: ['sku-1'] }),
      ],
    ]);
  });

  it('sends an event whose enrichment throws to failed events and delivers its neighbours', async () => {
    const { events, failed, process } = setup();
    const response = await process(
      kinesisEvent([
        kinesisRecord({ ...valid('e1'), context: { ip: 'not-an-ip' } }, '1'),
        kinesisRecord({ ...valid('e2'), context: { ip: '203.0.113.77' } }, '2'),
      ]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(failed.records).toHaveLength(1);
    expect(failed.records[0]).toMatchObject({
      failureType: 'enrichment_failed',
      messageId: 'e1',
      schema: 'page_viewed/1-0-0',
      errors: [{ code: 'ENRICHMENT_FAILED', path: '/context/ip', message: expect.any(String) }],
    });
    // The message is logged and kept as it is, so it names the field, not what was sent in it.
    expect(failed.records[0]?.errors[0]?.message).not.toContain('not-an-ip');
    expect(events.records.map((e) => [e.messageId, e.context.ip])).toEqual([['e2', '203.0.113.0']]);
  });

  it('never stores a full IP address, not even in a failed payload', async () => {
    const { failed, process } = setup();
    await process(
      kinesisEvent([
        kinesisRecord(
          { ...valid('p1', 'u1', 'product_viewed'), properties: {}, sourceIp: '2001:db8:1234:5678::1' },
          '1',
        ),
      ]),
    );
    const payload = JSON.parse(failed.records[0]?.payload ?? '{}') as { sourceIp?: string };
    expect(payload.sourceIp).toBe('2001:db8:1234::');
  });

  it('enriches delivered events: user agent, campaign, referrer, skew-corrected time', async () => {
    const { events, process } = setup();
    await process(
      kinesisEvent([
        kinesisRecord(
          {
            ...valid('x1'),
            timestamp: '2026-01-02T01:59:30.000Z',
            sentAt: '2026-01-02T02:00:00.000Z',
            context: {
              userAgent:
                'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
              page: {
                url: 'https://shop.example/p/1?utm_source=news&utm_medium=email&utm_campaign=spring',
                referrer: 'https://www.google.com/search?q=shoes',
              },
            },
          },
          '1',
        ),
      ]),
    );
    const [event] = events.records;
    // The client clock is an hour (and a second of latency) behind: its event time moves forward by that much.
    expect(event?.timestamp).toBe('2026-01-02T02:59:31.000Z');
    expect(event?.originalTimestamp).toBe('2026-01-02T01:59:30.000Z');
    expect(event?.enrichment).toMatchObject({
      browser: 'Chrome',
      os: 'Windows',
      deviceType: 'desktop',
      isBot: false,
      utmSource: 'news',
      utmMedium: 'email',
      utmCampaign: 'spring',
      referrerClass: 'search',
      referrerHost: 'www.google.com',
      clockSkewMs: 3_600_000 + 1000,
    });
  });

  describe('failed-event payloads', () => {
    const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    // Redshift loads at most this many bytes into one string of a SUPER value.
    const SUPER_STRING_BYTES = 65_535;

    it('keeps the first 4 KiB of an oversize or non-UTF-8 record, with its size and SHA-256', async () => {
      const { failed, process } = setup();
      const oversize = Buffer.from(
        JSON.stringify({ event: 'page_viewed', userId: 'u1', properties: { blob: 'é'.repeat(200_000) } }),
      );
      const binary = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.alloc(300_000, 7)]);
      await process(kinesisEvent([kinesisRecord(oversize, '1'), kinesisRecord(binary, '2')]));

      const [text, bytes] = failed.records;
      expect(text?.failureType).toBe('size_exceeded');
      expect(text?.payloadEncoding).toBe('utf8');
      // Cut between characters, never inside the two bytes of an é.
      expect(
        oversize
          .subarray(0, FAILED_PAYLOAD_HEAD_BYTES)
          .toString('utf8')
          .startsWith(text?.payload ?? '-'),
      ).toBe(true);
      expect(Buffer.byteLength(text?.payload ?? '')).toBe(FAILED_PAYLOAD_HEAD_BYTES - 1);
      expect(text?.errors.at(-1)).toEqual({
        code: PAYLOAD_TRUNCATED,
        path: null,
        message: `payload is the first ${FAILED_PAYLOAD_HEAD_BYTES - 1} bytes of the record, personal data scrubbed; the record has ${oversize.byteLength} bytes (SHA-256 ${sha256(oversize)})`,
      });

      expect(bytes?.failureType).toBe('malformed');
      expect(bytes?.payloadEncoding).toBe('base64');
      expect(Buffer.from(bytes?.payload ?? '', 'base64')).toEqual(
        binary.subarray(0, FAILED_PAYLOAD_HEAD_BYTES),
      );
      expect(bytes?.errors.map((e) => e.code)).toEqual(['MALFORMED', PAYLOAD_TRUNCATED]);
      expect(bytes?.errors[1]?.message).toContain(sha256(binary));
    });

    it('cuts a readable payload too when scrubbing it makes it longer than an event may be', async () => {
      const { failed, process } = setup();
      // 1e9 is written back as 1000000000: scrubbing the IP re-serialises the record, almost three times longer.
      const raw = `{"event":"Bad-Name","userId":"u1","sourceIp":"203.0.113.7","properties":{"n":[${Array(7000).fill('1e9').join(',')}]}}`;
      await process(kinesisEvent([kinesisRecord(raw, '1')]));
      const [record] = failed.records;
      expect(record?.failureType).toBe('envelope_invalid');
      expect(Buffer.byteLength(record?.payload ?? '')).toBe(FAILED_PAYLOAD_HEAD_BYTES);
      expect(record?.payload).toContain('"sourceIp":"203.0.113.0"');
      expect(record?.errors.at(-1)?.code).toBe(PAYLOAD_TRUNCATED);
    });

    it('stores every payload as a string Redshift can load, whatever the record', async () => {
      const { failed, process } = setup();
      await process(
        kinesisEvent([
          kinesisRecord(Buffer.alloc(1_000_000, 0xff), '1'),
          kinesisRecord('x'.repeat(1_000_000), '2'),
          kinesisRecord(`{"event":"page_viewed","userId":"u1","properties":${'['.repeat(10)}`, '3'),
          kinesisRecord({ event: 'Bad-Name', userId: 'u1', properties: { s: 'x'.repeat(32_000) } }, '4'),
        ]),
      );
      expect(failed.records).toHaveLength(4);
      for (const record of failed.records) {
        expect(Buffer.byteLength(record.payload)).toBeLessThan(SUPER_STRING_BYTES);
      }
    });
  });

  describe('personal data in failed-event payloads', () => {
    const secret = 'process-batch-secret';
    const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    const h = (value: unknown) => pseudonym(value, secret);
    const ip = '203.0.113.7';
    const email = 'ada@example.com';

    function withSecret(unknownEvents: 'accept' | 'reject' = 'accept') {
      const events = new MemoryDelivery<StoredEvent>();
      const failed = new MemoryDelivery<FailedEvent>();
      const process = createStreamProcessor({
        events,
        failed,
        hotStore: new RecordingHotStore(),
        processorVersion: 'tributary@test',
        schemas: loadSchemaRegistry(findSchemasDir(), { unknownEvents }),
        enrich: createEnricher({ piiSecret: secret, horizonMs: 30 * 86_400_000 }),
        logger: { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
      });
      return { events, failed, process };
    }

    const identify = (messageId: string, extra: Record<string, unknown> = {}) => ({
      ...valid(messageId, 'u1', 'identify'),
      sourceIp: '198.51.100.9',
      context: { ip },
      properties: { email },
      ...extra,
    });

    /** The failed payload as text, decoded from base64 where it was stored so. */
    const text = (event: FailedEvent | undefined) =>
      event?.payloadEncoding === 'base64'
        ? Buffer.from(event.payload, 'base64').toString('latin1')
        : (event?.payload ?? '');

    it.each([
      [
        'not JSON',
        `{"event":"identify","context":{"ip":"${ip}"},"properties":{"email":"${email}"`,
        'malformed',
      ],
      ['not an object', `["${email}", "${ip}"]`, 'malformed'],
      ['not UTF-8', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(` ${ip} ${email}`)]), 'malformed'],
      [
        'oversize',
        JSON.stringify(identify('m-big', { properties: { email, blob: 'x'.repeat(40_000) } })),
        'size_exceeded',
      ],
      [
        'oversize and not JSON',
        `{"ip":"${ip}","email":"${email}","blob":"${'x'.repeat(40_000)}`,
        'size_exceeded',
      ],
      ['an envelope error', JSON.stringify(identify('m-env', { userId: 7 })), 'envelope_invalid'],
      [
        'a reserved key',
        JSON.stringify(identify('m-key', { properties: { email, list: [{ constructor: 1 }] } })),
        'envelope_invalid',
      ],
      [
        'nesting past the limit',
        JSON.stringify(identify('m-deep')).replace(
          '"email"',
          `"deep":${'['.repeat(40)}${']'.repeat(40)},"email"`,
        ),
        'envelope_invalid',
      ],
      [
        'a schema violation',
        JSON.stringify(identify('m-schema', { properties: { email, age: -1 } })),
        'schema_violation',
      ],
      [
        'a pinned version that does not exist',
        JSON.stringify(identify('m-pin', { schemaVersion: '9-0-0' })),
        'schema_unknown',
      ],
      [
        'an IP that is no address',
        JSON.stringify(identify('m-ip', { context: { ip: `${ip}, 10.0.0.1` } })),
        'enrichment_failed',
      ],
    ])('keeps no full IP and no clear email for %s', async (_case, record, failureType) => {
      const { failed, process } = withSecret();
      await process(kinesisEvent([kinesisRecord(record, '1')]));
      expect(failed.records.map((f) => f.failureType)).toEqual([failureType]);
      const kept = text(failed.records[0]);
      expect(kept).not.toContain(ip);
      expect(kept).not.toContain('198.51.100.9');
      expect(kept).not.toContain(email);
      expect(kept).toContain(h(email));
      expect(Buffer.byteLength(failed.records[0]?.payload ?? '')).toBeLessThanOrEqual(32 * 1024);
    });

    it('keeps a readable payload whole, scrubbed as the good path stores it, and so replayable', async () => {
      const { events, failed, process } = withSecret();
      const record = identify('m-replay', { properties: { traits: { email, age: 'old' } } });
      await process(kinesisEvent([kinesisRecord({ ...record, properties: { email, age: -1 } }, '1')]));
      const payload = JSON.parse(failed.records[0]?.payload ?? '{}') as Record<string, unknown>;
      expect(payload).toMatchObject({
        messageId: 'm-replay',
        sourceIp: '198.51.100.0',
        context: { ip: '203.0.113.0' },
        properties: { email: h(email), age: -1 },
      });
      // Fixed and replayed: the pseudonym passes the schema's email format and is stored as it is.
      await process(
        kinesisEvent([kinesisRecord({ ...payload, properties: { email: h(email), age: 30 } }, '2')]),
      );
      expect(events.records.map((e) => [e.messageId, e.properties.email])).toEqual([['m-replay', h(email)]]);
    });

    it('names the oversize record by its messageId and event, and keeps only its scrubbed head', async () => {
      const { failed, process } = withSecret();
      const record = Buffer.from(
        JSON.stringify(identify('m-huge', { properties: { email, blob: 'x'.repeat(900_000) } })),
      );
      await process(kinesisEvent([kinesisRecord(record, '1')]));
      const [kept] = failed.records;
      expect(kept).toMatchObject({ failureType: 'size_exceeded', messageId: 'm-huge', event: 'identify' });
      expect(Buffer.byteLength(kept?.payload ?? '')).toBe(FAILED_PAYLOAD_HEAD_BYTES);
      expect(kept?.errors.at(-1)?.message).toContain(
        `${record.byteLength} bytes (SHA-256 ${sha256(record)})`,
      );
    });

    it('hashes what the detector finds when the event has no schema, on either unknown-event policy', async () => {
      for (const policy of ['accept', 'reject'] as const) {
        const { events, failed, process } = withSecret(policy);
        const record = { ...valid(`m-${policy}`, 'u1', 'newsletter_signup'), properties: { contact: email } };
        await process(kinesisEvent([kinesisRecord(record, '1')]));
        const stored =
          policy === 'accept'
            ? events.records[0]?.properties
            : JSON.parse(failed.records[0]?.payload ?? '{}').properties;
        expect(stored).toEqual({ contact: h(email) });
      }
    });

    it('refuses a reserved key or deep nesting on its own record, and delivers its neighbours', async () => {
      const { events, failed, process } = withSecret();
      const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
      const deep = `{"event":"page_viewed","userId":"u1","properties":${nested(5_000)}}`;
      const junk = `{"event":"Bad-Name","userId":"u1","junk":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
      const huge = `{"event":"page_viewed","userId":"u1","properties":${nested(100_000)}}`;
      const response = await process(
        kinesisEvent([
          kinesisRecord(valid('ok-1'), '1'),
          kinesisRecord(deep, '2'),
          kinesisRecord('{"event":"page_viewed","userId":"u1","context":{"__proto__":{"ip":"x"}}}', '3'),
          kinesisRecord(junk, '4'),
          kinesisRecord(huge, '5'),
          kinesisRecord(valid('ok-2'), '6'),
        ]),
      );
      expect(response.batchItemFailures).toEqual([]);
      expect(events.records.map((e) => e.messageId)).toEqual(['ok-1', 'ok-2']);
      expect(failed.records.map((f) => [f.failureType, f.errors[0]?.path])).toEqual([
        ['envelope_invalid', `/properties${'/a'.repeat(32)}`],
        ['envelope_invalid', '/context/__proto__'],
        ['envelope_invalid', '/event'],
        ['size_exceeded', null],
      ]);
      // Too deep to walk or re-serialise: kept as the scrubbed head of their text.
      expect(failed.records.map((f) => Buffer.byteLength(f.payload) <= FAILED_PAYLOAD_HEAD_BYTES)).toEqual([
        true,
        true,
        true,
        true,
      ]);
    });
  });

  describe('event times', () => {
    const timed = (messageId: string, times: Record<string, string>) => ({
      messageId,
      event: 'page_viewed',
      userId: 'u1',
      properties: {},
      ...times,
    });

    it('refuses times outside the years 1000 to 9999 as envelope_invalid, and takes those at the ends', async () => {
      const { events, failed, process } = setup();
      await process(
        kinesisEvent([
          kinesisRecord(timed('y0', { timestamp: '0000-01-01T00:00:00.000Z' }), '1'),
          kinesisRecord(timed('y999', { timestamp: '0999-12-31T23:59:59.999Z' }), '2'),
          kinesisRecord(timed('s0', { sentAt: '0000-06-01T00:00:00Z' }), '3'),
          // Each time is fine; the correction for the client's clock moves the event before year 1000.
          kinesisRecord(
            timed('skew', { timestamp: '1000-01-01T00:00:00.000Z', sentAt: '9000-01-01T00:00:00.000Z' }),
            '4',
          ),
          kinesisRecord(timed('y1000', { timestamp: '1000-01-01T00:00:00.000Z' }), '5'),
          kinesisRecord(timed('y9999', { timestamp: '9999-12-31T23:59:59.999Z' }), '6'),
        ]),
      );
      expect(
        failed.records.map((f) => [f.messageId, f.failureType, f.errors.map((e) => [e.code, e.path])]),
      ).toEqual([
        ['y0', 'envelope_invalid', [['ENVELOPE_INVALID', '/timestamp']]],
        ['y999', 'envelope_invalid', [['ENVELOPE_INVALID', '/timestamp']]],
        ['s0', 'envelope_invalid', [['ENVELOPE_INVALID', '/sentAt']]],
        ['skew', 'envelope_invalid', [['ENVELOPE_INVALID', '/sentAt']]],
      ]);
      expect(events.records.map((e) => [e.messageId, e.timestamp])).toEqual([
        ['y1000', '1000-01-01T00:00:00.000Z'],
        ['y9999', '9999-12-31T23:59:59.999Z'],
      ]);
    });

    it("replaces a direct producer's receivedAt outside those years with the arrival time", async () => {
      const { events, process } = setup();
      const arrival = new Date('2026-03-01T10:00:00.000Z');
      await process(
        kinesisEvent([
          kinesisRecord({ ...timed('r0', {}), receivedAt: '0000-01-01T00:00:00.000Z' }, '1', { arrival }),
        ]),
      );
      expect(events.records.map((e) => [e.messageId, e.receivedAt, e.timestamp])).toEqual([
        ['r0', arrival.toISOString(), arrival.toISOString()],
      ]);
    });

    it('stores a time with a day past the end of its month as the instant it names', async () => {
      const { events, process } = setup();
      await process(
        kinesisEvent([kinesisRecord(timed('feb30', { timestamp: '2026-02-30T00:00:00.000Z' }), '1')]),
      );
      expect(events.records.map((e) => e.timestamp)).toEqual(['2026-03-02T00:00:00.000Z']);
    });
  });
});

describe('createStreamProcessor with a suppression list', () => {
  async function withList(...suppressed: string[]) {
    const list = new RecordingSuppressionList();
    await list.suppress(suppressed, 'del_1');
    return { list, ...setup({ suppression: list }) };
  }
  /** Every id and messageId a sink was given, to show a suppressed record reached none. */
  const storedText = (stack: Awaited<ReturnType<typeof withList>>) =>
    JSON.stringify([stack.events.records, stack.failed.records, stack.hotStore.batches]);

  it('drops every record naming a suppressed id before any sink, valid or not, and delivers the rest', async () => {
    const stack = await withList('gone-user', 'gone-anon', 'gone-old');
    const response = await stack.process(
      kinesisEvent([
        kinesisRecord(valid('keep-1'), '1'),
        kinesisRecord(valid('by-user', 'gone-user'), '2'),
        kinesisRecord({ ...valid('by-anon', 'u9'), anonymousId: 'gone-anon' }, '3'),
        kinesisRecord(
          { ...valid('by-alias', 'new-user', 'alias'), properties: { previous_id: 'gone-old' } },
          '4',
        ),
        // A failed record names its person too: it would be stored in failed events.
        kinesisRecord({ event: 'Bad-Name', userId: 'gone-user', messageId: 'bad-gone' }, '5'),
        kinesisRecord(
          {
            event: 'Bad-Name',
            userId: 'u2',
            messageId: 'bad-alias',
            properties: { previous_id: 'gone-old' },
          },
          '6',
        ),
        kinesisRecord(
          { event: 'page_viewed', userId: 'gone-anon', properties: { blob: 'x'.repeat(40_000) } },
          '7',
        ),
        // On a valid event that is not an alias, previous_id is only a property.
        kinesisRecord({ ...valid('not-alias', 'u3'), properties: { previous_id: 'gone-old' } }, '8'),
        kinesisRecord({ event: 'Bad-Name', userId: 'u4', messageId: 'bad-kept' }, '9'),
        kinesisRecord('{not json', '10'),
      ]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(stack.events.records.map((e) => e.messageId)).toEqual(['keep-1', 'not-alias']);
    expect(stack.failed.records.map((f) => f.messageId)).toEqual(['bad-kept', null]);
    expect(stack.hotStore.batches.flat().map((a) => a.messageId)).toEqual(['keep-1', 'not-alias']);
    expect(storedText(stack)).not.toMatch(/gone-user|gone-anon|by-user|by-anon|by-alias|bad-gone|bad-alias/);
    expect(stack.summaries).toEqual([
      expect.objectContaining({ records: 10, delivered: 2, failedEvents: 2, suppressed: 6 }),
    ]);
    // One lookup for the batch, every id at once.
    expect(stack.list.lookups).toHaveLength(1);
    expect(new Set(stack.list.lookups[0])).toEqual(
      new Set(['u1', 'gone-user', 'u9', 'gone-anon', 'new-user', 'gone-old', 'u2', 'u3', 'u4']),
    );
  });

  it('logs the count for the metric, and no id', async () => {
    const stack = await withList('gone-user');
    await stack.process(
      kinesisEvent([
        kinesisRecord(valid('a', 'gone-user'), '1'),
        kinesisRecord(valid('b', 'gone-user'), '2'),
      ]),
    );
    expect(stack.logger.info).toHaveBeenCalledTimes(1);
    expect(stack.logger.info).toHaveBeenCalledWith(expect.any(String), {
      [SUPPRESSED_EVENTS_LOG_FIELD]: 2,
      at: 'stream',
    });
    const logged = JSON.stringify([
      stack.logger.info.mock.calls,
      stack.logger.warn.mock.calls,
      stack.logger.error.mock.calls,
    ]);
    expect(logged).not.toContain('gone-user');
  });

  it('logs nothing and asks once when no record is suppressed', async () => {
    const stack = await withList('gone-user');
    await stack.process(kinesisEvent([kinesisRecord(valid('a'), '1')]));
    expect(stack.events.records).toHaveLength(1);
    expect(stack.logger.info).not.toHaveBeenCalled();
    expect(stack.summaries[0]?.suppressed).toBe(0);
    expect(stack.list.lookups).toEqual([['u1']]);
  });

  it('retries the whole batch, writing nothing, when the list cannot be read', async () => {
    const stack = await withList('gone-user');
    stack.list.failLookups = new Error('table unavailable');
    const response = await stack.process(
      kinesisEvent([
        kinesisRecord(valid('a'), '1'),
        kinesisRecord('{not json', '2'),
        kinesisRecord(valid('b'), '3'),
      ]),
    );
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: '1' },
      { itemIdentifier: '2' },
      { itemIdentifier: '3' },
    ]);
    expect(storedText(stack)).toBe('[[],[],[]]');
    expect(stack.logger.error).toHaveBeenCalledTimes(1);
    expect(stack.summaries).toEqual([expect.objectContaining({ records: 3, retried: 3, delivered: 0 })]);

    stack.list.failLookups = undefined;
    const retried = await stack.process(
      kinesisEvent([
        kinesisRecord(valid('a'), '1'),
        kinesisRecord('{not json', '2'),
        kinesisRecord(valid('b'), '3'),
      ]),
    );
    expect(retried.batchItemFailures).toEqual([]);
    expect(stack.events.records.map((e) => e.messageId)).toEqual(['a', 'b']);
  });

  it('matches ids exactly as sent, a number as its text', async () => {
    const stack = await withList('gone-user', '42');
    await stack.process(
      kinesisEvent([
        // A direct producer's number is no valid userId: it would go to failed events as it is.
        kinesisRecord({ ...valid('numeric'), userId: 42 }, '1'),
        kinesisRecord(valid('other-case', 'Gone-User'), '2'),
      ]),
    );
    expect(stack.failed.records).toEqual([]);
    expect(stack.events.records.map((e) => e.messageId)).toEqual(['other-case']);
    expect(stack.summaries[0]?.suppressed).toBe(1);
  });
});

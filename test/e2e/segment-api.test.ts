import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import { SegmentApi, type SegmentHttpRequest } from '../../src/api/segment/segment-api';
import { createServices } from '../../src/services/create-services';
import { loadSegmentEventNames } from '../../src/services/segment-event-names';
import { schemaRegistryFromConfig } from '../../src/services/schema-files';
import { createDynamoDbDocumentClient, createKinesisClient } from '../../src/aws/clients';
import { DynamoDbHotStore } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { DynamoDbSuppressionList } from '../../src/privacy/dynamodb/dynamodb-suppression-list';
import { KinesisProducer } from '../../src/stream/kinesis/kinesis-producer';
import type { EventStreamProducer } from '../../src/stream/port';
import type { Config } from '../../src/config';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { gql } from '../helpers/graphql-client';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(120_000);

const API_KEY = 'segment-e2e-secret-key';
const WRITE_KEY = 'segment-e2e-write-key';
const COUNTS = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  eventCounts(from: $from, to: $to, granularity: DAY) { event count }
}`;
const USER = `query($id: ID!) { user(id: $id) { eventCount traits counts { event count } } }`;
const FAILED = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  failedEvents(from: $from, to: $to) { messageId errors { code path message } }
}`;
const range = () => ({
  from: new Date(Date.now() - 86_400_000).toISOString(),
  to: new Date(Date.now() + 86_400_000).toISOString(),
});
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

/** Segment's E-commerce spec's Order Completed, as its clients send it. */
const ORDER_COMPLETED = {
  order_id: '50314b8e9bcf000000000000',
  affiliation: 'Google Store',
  total: 27.5,
  subtotal: 22.5,
  revenue: 25.0,
  shipping: 3,
  tax: 2,
  discount: 2.5,
  coupon: 'hasbros',
  currency: 'USD',
  products: [
    {
      product_id: '507f1f77bcf86cd799439011',
      sku: '45790-32',
      name: 'Monopoly: 3rd Edition',
      price: 19,
      quantity: 1,
      category: 'Games',
      url: 'https://www.example.com/product/path',
      image_url: 'https:///www.example.com/product/path.jpg',
    },
    { product_id: '505bd76785ebb509fc183733', sku: '46493-32', name: 'Uno Card Game', price: 3, quantity: 2 },
  ],
};

describe('the Segment-compatible HTTP API on the embedded stack', () => {
  let dataDir: string;
  let config: Config;
  let stack: LocalStack;

  const counts = async (): Promise<Record<string, number>> => {
    const answer = await gql<{ eventCounts: Array<{ event: string; count: number }> }>(
      stack.graphqlUrl,
      COUNTS,
      range(),
      API_KEY,
    );
    const byEvent: Record<string, number> = {};
    for (const row of answer.data?.eventCounts ?? [])
      byEvent[row.event] = (byEvent[row.event] ?? 0) + row.count;
    return byEvent;
  };
  const post = (route: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${stack.url}/v1/${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEY), ...headers },
      body,
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-segment-'));
    config = testConfig(dataDir, API_KEY, { TRIBUTARY_WRITE_KEY: WRITE_KEY });
    stack = await startLocalStack(config);
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('raw HTTP', () => {
    it('takes a gzipped text/plain batch with the write key in the body, and answers per event on request', async () => {
      const body = gzipSync(
        JSON.stringify({
          writeKey: WRITE_KEY,
          sentAt: new Date().toISOString(),
          batch: [
            {
              type: 'track',
              event: 'Product Added',
              messageId: 'raw-1',
              userId: 'raw-user',
              properties: { product_id: 'sku-1' },
            },
            {
              type: 'track',
              event: 'Order Completed',
              messageId: 'raw-2',
              userId: 'raw-user',
              properties: ORDER_COMPLETED,
            },
            {
              type: 'track',
              event: 'Order Completed',
              messageId: 'raw-3',
              userId: 'raw-user',
              properties: { total: 1 },
            },
          ],
        }),
      );
      const response = await fetch(`${stack.url}/v1/b?results=true`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' },
        body,
      });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as {
        success: boolean;
        results: Array<{ messageId: string; status: string; errors: Array<{ path: string | null }> }>;
      };
      expect(answer.success).toBe(true);
      expect(answer.results.map((r) => [r.messageId, r.status])).toEqual([
        ['raw-1', 'ACCEPTED'],
        ['raw-2', 'ACCEPTED'],
        ['raw-3', 'REJECTED'],
      ]);
      // Without its order_id, Order Completed breaks the order_completed schema: it goes to failed events.
      expect(answer.results[2]?.errors.map((e) => e.path)).toEqual(['/properties/order_id']);

      await stack.settle();
      expect(await counts()).toMatchObject({ product_added_to_cart: 1, order_completed: 1 });
      const failed = await gql<{ failedEvents: Array<{ messageId: string }> }>(
        stack.graphqlUrl,
        FAILED,
        range(),
        API_KEY,
      );
      const failedIds = failed.data?.failedEvents.map((f) => f.messageId);
      expect(failedIds).toContain('raw-3');
      expect(failedIds).not.toContain('raw-2');
    });

    it('answers 400 for a body that is not JSON or holds no events, 413 over 500 KiB, 401 for an unknown key', async () => {
      expect((await post('batch', '{"batch": [')).status).toBe(400);
      expect((await post('batch', '{"batch": []}')).status).toBe(400);
      const big = {
        batch: Array.from({ length: 60 }, (_, i) => ({
          type: 'track',
          event: 'x',
          userId: 'u',
          messageId: `big-${i}`,
          properties: { pad: 'x'.repeat(10 * 1024) },
        })),
      };
      const tooLarge = await post('batch', JSON.stringify(big));
      expect(tooLarge.status).toBe(413);
      const single = await post(
        'track',
        JSON.stringify({ event: 'x', userId: 'u', properties: { pad: 'x'.repeat(33 * 1024) } }),
      );
      expect(single.status).toBe(413);
      const unknown = await post('track', JSON.stringify({ event: 'x', userId: 'u' }), {
        authorization: basic('nope'),
      });
      expect(unknown.status).toBe(401);
      const noKey = await fetch(`${stack.url}/v1/t`, {
        method: 'POST',
        body: JSON.stringify({ event: 'x', userId: 'u' }),
      });
      expect(noKey.status).toBe(401);
    });

    it('refuses a key without INGEST (403) and a key over its rate (429 with Retry-After)', async () => {
      const create = async (input: string) => {
        const answer = await gql<{ createApiKey: { secret: string } }>(
          stack.graphqlUrl,
          `mutation { createApiKey(input: ${input}) { secret } }`,
          {},
          API_KEY,
        );
        return answer.data?.createApiKey.secret ?? '';
      };
      const readOnly = await create('{name: "read", kind: WRITE, scopes: [PUBLIC_READ]}');
      const slow = await create('{name: "slow", kind: WRITE, scopes: [INGEST], rateLimitPerSecond: 1}');
      const body = JSON.stringify({ event: 'x', userId: 'u' });
      expect((await post('t', body, { authorization: basic(readOnly) })).status).toBe(403);
      const answers = await Promise.all([1, 2, 3].map(() => post('t', body, { authorization: basic(slow) })));
      const limited = answers.find((a) => a.status === 429);
      expect(limited?.headers.get('retry-after')).toMatch(/^\d+$/);
    });

    it('answers a preflight and the settings analytics.js loads, for a key that may send events only', async () => {
      const preflight = await fetch(`${stack.url}/v1/t`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://127.0.0.1:9',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:9');

      const settings = await fetch(`${stack.url}/v1/projects/${WRITE_KEY}/settings`);
      expect(settings.status).toBe(200);
      const body = (await settings.json()) as { integrations: Record<string, Record<string, unknown>> };
      expect(body.integrations['Segment.io']).toMatchObject({
        apiKey: WRITE_KEY,
        apiHost: `${new URL(stack.url).host}/v1`,
        protocol: 'http',
      });
      expect((await fetch(`${stack.url}/v1/projects/unknown/settings`)).status).toBe(404);
    });

    it('answers 503 when the stream does not take an event, and the resent batch lands once', async () => {
      // The same services the stack runs, but writing through a producer that refuses its first call.
      const aws = {
        ...config.aws,
        kinesisEndpoint: stack.kinesisEndpoint,
        dynamodbEndpoint: stack.dynamodbEndpoint,
      };
      const kinesis = createKinesisClient({ aws });
      const dynamoDoc = createDynamoDbDocumentClient({ aws });
      const real = new KinesisProducer({ client: kinesis, streamName: config.streamName });
      let failures = 1;
      const producer: EventStreamProducer = {
        putRecords: (records) =>
          failures-- > 0
            ? Promise.resolve(
                records.map(() => ({
                  ok: false as const,
                  errorCode: 'InternalFailure',
                  errorMessage: 'injected',
                })),
              )
            : real.putRecords(records),
      };
      const services = createServices({
        config,
        bootstrapKeys: () =>
          Promise.resolve({
            secretKey: API_KEY,
            writeKey: WRITE_KEY,
            userTokenSecret: 'unused-token-secret',
          }),
        producer,
        schemas: schemaRegistryFromConfig(config),
        hotReads: new DynamoDbHotStore({ client: dynamoDoc, tableName: config.tableName }),
        dynamoDoc,
        warehouse: undefined,
      });
      const api = new SegmentApi({ ...services, names: loadSegmentEventNames(config) });
      const request: SegmentHttpRequest = {
        method: 'POST',
        path: '/v1/batch',
        query: new URLSearchParams(),
        headers: { authorization: basic(WRITE_KEY) },
        body: Buffer.from(
          JSON.stringify({
            batch: [
              { type: 'track', event: 'Resent Once', messageId: 'resend-1', userId: 'resender' },
              { type: 'track', event: 'Resent Once', messageId: 'resend-2', userId: 'resender' },
            ],
          }),
        ),
        publicBase: { protocol: 'http', host: 'localhost' },
      };
      try {
        const first = await api.handle(request);
        expect(first.status).toBe(503);
        expect(first.headers['retry-after']).toBe('2');
        expect((await api.handle(request)).status).toBe(200);
        expect((await api.handle(request)).status).toBe(200);
      } finally {
        kinesis.destroy();
        dynamoDoc.destroy();
      }
      await stack.settle();
      expect((await counts()).resent_once).toBe(2);
    });

    it('answers 200 for messages of suppressed ids, as for accepted ones, and stores none of them', async () => {
      const dynamoDoc = createDynamoDbDocumentClient({
        aws: { ...config.aws, dynamodbEndpoint: stack.dynamodbEndpoint },
      });
      try {
        await new DynamoDbSuppressionList({ client: dynamoDoc, tableName: config.tableName }).suppress(
          ['forgotten-user', 'forgotten-anon'],
          'del_segment_e2e',
        );
      } finally {
        dynamoDoc.destroy();
      }
      const probe = (messageId: string, ids: Record<string, string>) => ({
        type: 'track',
        event: 'Suppression Probe',
        messageId,
        ...ids,
      });
      const response = await post(
        'batch?results=true',
        JSON.stringify({
          batch: [
            probe('sup-user', { userId: 'forgotten-user' }),
            probe('sup-anon', { anonymousId: 'forgotten-anon' }),
            { type: 'alias', messageId: 'sup-alias', userId: 'renamed-user', previousId: 'forgotten-anon' },
            // Invalid (Order Completed needs its order_id): still refused, and not kept as a failed event.
            {
              type: 'track',
              event: 'Order Completed',
              messageId: 'sup-invalid',
              userId: 'forgotten-user',
              properties: { total: 1 },
            },
            probe('sup-kept', { userId: 'kept-user' }),
          ],
        }),
      );
      // Segment's clients read only the HTTP status: a suppressed message must not be resent.
      expect(response.status).toBe(200);
      const answer = (await response.json()) as { results: Array<{ messageId: string; status: string }> };
      expect(answer.results.map((r) => [r.messageId, r.status])).toEqual([
        ['sup-user', 'SUPPRESSED'],
        ['sup-anon', 'SUPPRESSED'],
        ['sup-alias', 'SUPPRESSED'],
        ['sup-invalid', 'REJECTED'],
        ['sup-kept', 'ACCEPTED'],
      ]);

      await stack.settle();
      expect((await counts()).suppression_probe).toBe(1);
      const failed = await gql<{ failedEvents: Array<{ messageId: string }> }>(
        stack.graphqlUrl,
        FAILED,
        range(),
        API_KEY,
      );
      expect(failed.data?.failedEvents.map((f) => f.messageId)).not.toContain('sup-invalid');
      const eventCount = async (id: string) =>
        (await gql<{ user: { eventCount: number } | null }>(stack.graphqlUrl, USER, { id }, API_KEY)).data
          ?.user?.eventCount ?? 0;
      expect(await eventCount('kept-user')).toBe(1);
      expect(await eventCount('forgotten-user')).toBe(0);
      expect(await eventCount('renamed-user')).toBe(0);
    });
  });

  describe('@segment/analytics-node', () => {
    const sendAll = (analytics: Analytics, userId: string) => {
      analytics.identify({ userId, traits: { plan: 'pro', email: `${userId}@example.com` } });
      analytics.track({ userId, event: 'Product Viewed', properties: { product_id: 'sku-node', price: 12 } });
      analytics.page({
        userId,
        name: 'Pricing',
        properties: { url: 'https://shop.example/pricing', path: '/pricing' },
      });
      analytics.group({ userId, groupId: 'acme', traits: { name: 'Acme' } });
      analytics.alias({ userId, previousId: `${userId}-anon` });
    };
    const user = async (id: string) =>
      (
        await gql<{
          user: {
            eventCount: number;
            traits: Record<string, unknown>;
            counts: Array<{ event: string; count: number }>;
          };
        }>(stack.graphqlUrl, USER, { id }, API_KEY)
      ).data?.user;

    it('delivers identify, track, page, group and alias, each once, to the warehouse and the profile', async () => {
      const before = await counts();
      const analytics = new Analytics({
        writeKey: WRITE_KEY,
        host: stack.url,
        flushAt: 2,
        flushInterval: 50,
      });
      sendAll(analytics, 'node-user');
      await analytics.closeAndFlush();
      await stack.settle();
      const after = await counts();
      for (const event of ['identify', 'product_viewed', 'page_viewed', 'group', 'alias'])
        expect((after[event] ?? 0) - (before[event] ?? 0)).toBe(1);
      const profile = await user('node-user');
      expect(profile?.eventCount).toBe(5);
      expect(profile?.traits.plan).toBe('pro');
      // Enrichment: identify traits marked as personal data are pseudonymised before storage.
      expect(profile?.traits.email).not.toBe('node-user@example.com');
    });

    it('retries across an outage of the API: every event lands once', async () => {
      const before = await counts();
      const port = new URL(stack.url).port;
      const analytics = new Analytics({
        writeKey: WRITE_KEY,
        host: stack.url,
        flushAt: 1,
        flushInterval: 20,
        maxRetries: 20,
        httpRequestTimeout: 2_000,
      });
      sendAll(analytics, 'outage-user');
      await stack.close();
      sendAll(analytics, 'outage-user');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      stack = await startLocalStack({ ...config, port: Number(port) });
      await analytics.closeAndFlush();
      await stack.settle();
      const after = await counts();
      for (const event of ['identify', 'product_viewed', 'page_viewed', 'group', 'alias'])
        expect((after[event] ?? 0) - (before[event] ?? 0)).toBe(2);
      expect((await user('outage-user'))?.eventCount).toBe(10);
    });
  });
});

import 'reflect-metadata';
import type { HandlerExecutionContext } from '@smithy/types';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { clientEndpoint, createDynamoDbDocumentClient } from '../../src/aws/clients';
import type { FailedEvent, StoredEvent } from '../../src/events/types';
import { createEnricher } from '../../src/events/enrich/enrich-event';
import { loadSchemaRegistry } from '../../src/services/schema-files';
import { DynamoDbHotStore, ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { createStreamProcessor } from '../../src/stream/process-batch';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';
import { MemoryDelivery } from '../helpers/in-memory-sinks';
import { kinesisEvent, kinesisRecord } from '../helpers/kinesis-events';

/**
 * A provisioned hot table throttles when traffic outruns its capacity (docs/deploy.md#hot-tier-capacity).
 * dynalite never throttles, so the stream processor's DynamoDB client gets a middleware that answers
 * as DynamoDB does when it does: below the SDK's retries, or above them.
 */
jest.setTimeout(60_000);

const NOW = Date.now();
const schemas = loadSchemaRegistry();
const enrich = createEnricher({ piiSecret: 'throttling-test-secret', horizonMs: 30 * 86_400_000 });

/** A batch of two shards' worth of users, items, a trait update and a repeated messageId. */
function batch() {
  const at = (minute: number) => new Date(NOW - (30 - minute) * 60_000).toISOString();
  const event = (messageId: string, userId: string, minute: number, extra: Record<string, unknown>) => ({
    messageId,
    userId,
    timestamp: at(minute),
    receivedAt: at(minute),
    source: 'graphql',
    ...extra,
  });
  const viewed = (messageId: string, userId: string, minute: number, sku: string) =>
    event(messageId, userId, minute, { event: 'product_viewed', properties: { product_id: sku } });
  const records = [
    viewed('m1', 'u1', 1, 'sku-1'),
    viewed('m2', 'u1', 2, 'sku-2'),
    viewed('m3', 'u2', 3, 'sku-1'),
    event('m4', 'u2', 4, { event: 'identify', properties: { traits: { plan: 'pro' } } }),
    viewed('m5', 'u3', 5, 'sku-3'),
    viewed('m6', 'u4', 6, 'sku-2'),
    viewed('m6', 'u4', 6, 'sku-2'),
    viewed('m7', 'u3', 7, 'sku-1'),
  ];
  return kinesisEvent(
    records.map((data, i) =>
      kinesisRecord(data, String(1000 + i), {
        shardId: `shardId-00000000000${i % 2}`,
        arrival: new Date(NOW),
      }),
    ),
  );
}

/** What throttling does to the client: `throttle` decides, per attempt, whether DynamoDB refuses it. */
type Throttle = (attempt: { call: number; attemptOfCall: number; commandName: string }) => string | undefined;

interface Probe {
  throttled: number;
  calls: number;
  /** The commands DynamoDB refused at least once. */
  refused: Set<string>;
}

describe('a provisioned hot table that throttles', () => {
  let emulators: TestEmulators;
  let raw: DynamoDBClient;
  let tableCount = 0;

  beforeAll(async () => {
    emulators = await startTestEmulators('hot-throttling-');
    raw = new DynamoDBClient({ ...clientEndpoint(emulators.aws.region, emulators.aws.dynamodbEndpoint) });
  });
  afterAll(async () => {
    raw.destroy();
    await emulators.stop();
  });

  /**
   * A document client on dynalite whose requests fail with DynamoDB's throttling exception where
   * `throttle` says so. `belowSdkRetry`: thrown inside the SDK's retry loop, as a real response
   * would be, so the SDK retries it; otherwise around it, so only the hot store's own retry can.
   */
  function throttledClient(
    throttle: Throttle,
    belowSdkRetry: boolean,
  ): { client: DynamoDBDocumentClient; probe: Probe } {
    // The client the stream Lambda builds, SDK retries as configured there.
    const client = createDynamoDbDocumentClient({ aws: emulators.aws });
    const probe: Probe = { throttled: 0, calls: 0, refused: new Set() };
    const attempts = new WeakMap<HandlerExecutionContext, { call: number; attempts: number }>();
    /** Refuses the attempt as DynamoDB would when `throttle` says so, else passes it on. */
    const refuse = (context: HandlerExecutionContext): void => {
      let seen = attempts.get(context);
      if (seen === undefined) {
        seen = { call: probe.calls++, attempts: 0 };
        attempts.set(context, seen);
      }
      const name = throttle({
        call: seen.call,
        attemptOfCall: seen.attempts++,
        commandName: context.commandName ?? '',
      });
      if (name === undefined) return;
      probe.throttled++;
      probe.refused.add(context.commandName ?? '');
      throw Object.assign(
        new Error('The level of configured provisioned throughput for the table was exceeded'),
        { name, $fault: 'client', $metadata: { httpStatusCode: 400 } },
      );
    };
    if (belowSdkRetry) {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          refuse(context);
          return next(args);
        },
        { step: 'deserialize', priority: 'low' },
      );
    } else {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          refuse(context);
          return next(args);
        },
        { step: 'initialize', priority: 'high' },
      );
    }
    return { client, probe };
  }

  async function freshTable(): Promise<string> {
    const name = `hot-throttled-${++tableCount}`;
    await ensureHotTable(raw, name);
    return name;
  }

  function processor(client: DynamoDBDocumentClient, tableName: string, throttleAttempts = 5) {
    return createStreamProcessor({
      events: new MemoryDelivery<StoredEvent>(),
      failed: new MemoryDelivery<FailedEvent>(),
      hotStore: new DynamoDbHotStore({
        client,
        tableName,
        throttleAttempts,
        throttleBaseDelayMs: 1,
        now: () => NOW,
      }),
      processorVersion: 'tributary@test',
      schemas,
      enrich,
      logger: { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
    });
  }

  /** Every item of a table, in key order. */
  async function contents(tableName: string): Promise<unknown[]> {
    const items = (await emulators.dynamodb.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
    return items.sort((a, b) => `${a.pk}/${a.sk}`.localeCompare(`${b.pk}/${b.sk}`));
  }

  function hotStore(client: DynamoDBDocumentClient, tableName: string, throttleAttempts = 5) {
    return new DynamoDbHotStore({
      client,
      tableName,
      throttleAttempts,
      throttleBaseDelayMs: 1,
      now: () => NOW,
    });
  }

  /** The table as the batch leaves it with no throttling at all, and once its changes are folded. */
  let expected: unknown[];
  let expectedFolded: unknown[];
  beforeAll(async () => {
    const tableName = await freshTable();
    const process = processor(emulators.dynamodb, tableName);
    expect((await process(batch())).batchItemFailures).toEqual([]);
    expected = await contents(tableName);
    expect(expected.length).toBeGreaterThan(5);
    await expect(hotStore(emulators.dynamodb, tableName).foldPending()).resolves.toMatchObject({
      more: false,
    });
    expectedFolded = await contents(tableName);
    expect(expectedFolded).not.toEqual(expected);
  });

  /** A table the batch was applied to, unthrottled, with its changes still pending. */
  async function pendingTable(): Promise<string> {
    const tableName = await freshTable();
    expect((await processor(emulators.dynamodb, tableName)(batch())).batchItemFailures).toEqual([]);
    return tableName;
  }

  it('folds through throttling the SDK retries, with the same result', async () => {
    const tableName = await pendingTable();
    const { client, probe } = throttledClient(
      ({ attemptOfCall }) => (attemptOfCall === 0 ? 'ProvisionedThroughputExceededException' : undefined),
      true,
    );
    await hotStore(client, tableName, 1).foldPending();
    expect(probe.throttled).toBe(probe.calls);
    // The fold's Query of the log, its reads and writes of items and trends, and the log's delete.
    expect([...probe.refused].sort()).toEqual([
      'BatchGetItemCommand',
      'BatchWriteItemCommand',
      'PutItemCommand',
      'QueryCommand',
    ]);
    expect(await contents(tableName)).toEqual(expectedFolded);
    client.destroy();
  });

  it.each([1, 2, 5, 9])(
    'fails a fold that throttling outlasts after %i calls, and the next fold ends as if never throttled',
    async (healthyCalls) => {
      const tableName = await pendingTable();
      const { client } = throttledClient(
        ({ call }) => (call >= healthyCalls ? 'ProvisionedThroughputExceededException' : undefined),
        false,
      );
      await expect(hotStore(client, tableName, 2).foldPending()).rejects.toMatchObject({
        code: 'HOT_STORE_THROTTLED',
      });
      client.destroy();
      await hotStore(emulators.dynamodb, tableName).foldPending();
      expect(await contents(tableName)).toEqual(expectedFolded);
    },
  );

  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException'])(
    'retries each throttled BatchGet, BatchWrite and conditional Put in the SDK (%s), with the same result',
    async (exception) => {
      const tableName = await freshTable();
      // Every call's first attempt is refused; the hot store itself does not retry (1 attempt).
      const { client, probe } = throttledClient(
        ({ attemptOfCall }) => (attemptOfCall === 0 ? exception : undefined),
        true,
      );
      const process = processor(client, tableName, 1);
      expect((await process(batch())).batchItemFailures).toEqual([]);
      expect(probe.throttled).toBe(probe.calls);
      expect([...probe.refused].sort()).toEqual([
        'BatchGetItemCommand',
        'BatchWriteItemCommand',
        'PutItemCommand',
      ]);
      expect(await contents(tableName)).toEqual(expected);
      client.destroy();
    },
  );

  it('retries with its own backoff what the SDK gave up on, with the same result', async () => {
    const tableName = await freshTable();
    const { client, probe } = throttledClient(
      ({ call }) => (call % 2 === 0 && call < 12 ? 'ProvisionedThroughputExceededException' : undefined),
      false,
    );
    const process = processor(client, tableName, 5);
    expect((await process(batch())).batchItemFailures).toEqual([]);
    expect(probe.throttled).toBe(6);
    expect(await contents(tableName)).toEqual(expected);
    client.destroy();
  });

  it.each([1, 2, 3, 5, 8])(
    'fails the whole batch when throttling outlasts every retry after %i calls, and its redelivery ends as if never throttled',
    async (healthyCalls) => {
      const tableName = await freshTable();
      let throttling = true;
      const { client } = throttledClient(
        ({ call }) =>
          throttling && call >= healthyCalls ? 'ProvisionedThroughputExceededException' : undefined,
        false,
      );
      const process = processor(client, tableName, 3);
      const failed = await process(batch());
      // Every record is handed back: the event source mapping retries them, nothing is dropped.
      expect(failed.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
        batch().Records.map((r) => r.kinesis.sequenceNumber),
      );
      const partial = await contents(tableName);
      expect(partial).not.toEqual(expected);
      // Past the first read, the pending changes (and then some keys) were written before throttling won.
      if (healthyCalls > 1) expect(partial.length).toBeGreaterThan(0);
      throttling = false;
      expect((await process(batch())).batchItemFailures).toEqual([]);
      // What the failed attempt wrote before it stopped (pending changes, some profiles) is
      // not applied twice. After some profiles, the redelivery appends the others' changes beside the
      // whole batch's, so the tables match once folded.
      await hotStore(emulators.dynamodb, tableName).foldPending();
      expect(await contents(tableName)).toEqual(expectedFolded);
      client.destroy();
    },
  );
});

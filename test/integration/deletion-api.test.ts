import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { PersonEraser } from '../../src/privacy/port';
import { DynamoDbDeletionRequestStore } from '../../src/privacy/dynamodb/dynamodb-deletion-request-store';
import { DynamoDbSuppressionList } from '../../src/privacy/dynamodb/dynamodb-suppression-list';
import { createServices } from '../../src/services/create-services';
import { DeletionRunner } from '../../src/services/deletion-runner';
import { hotTierPersonEraser } from '../../src/services/hot-tier-person-eraser';
import { schemaRegistryFromConfig } from '../../src/services/schema-files';
import { CachedHotStore } from '../../src/sinks/hot-tier/cached-hot-store';
import { DynamoDbHotStore, ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import type { HotActivity } from '../../src/sinks/hot-tier/port';
import type { EventStreamProducer } from '../../src/stream/port';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';
import { HOT_READER, operationRunner, type OperationRunner } from '../helpers/execute-operation';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(60_000);

const at = (minute: number) => new Date(Date.UTC(2026, 5, 1, 9, minute)).toISOString();

const activity = (n: number, userId: string | null, anonymousId: string | null): HotActivity => ({
  event: 'product_viewed',
  itemIds: ['sku-1'],
  traits: null,
  isBot: false,
  previousId: null,
  mergesUsers: false,
  profileId: userId ?? anonymousId ?? '',
  messageId: `m-${n}`,
  timestamp: at(n),
  receivedAt: at(n),
  shardId: 's-a',
  sequenceNumber: String(n),
  userId,
  anonymousId,
});

/** An eraser for a store with no emulator here: fails while `down`, then erases. */
class FlakyEraser implements PersonEraser {
  readonly store = 'warehouse';
  down = true;
  readonly calls: string[][] = [];

  async erase(ids: readonly string[]) {
    this.calls.push([...ids]);
    if (this.down) throw new Error('warehouse is paused');
    return { removed: 2, detail: 'deleted 2 rows' };
  }
}

const DELETE = `mutation ($id: ID!) {
  deleteUser(id: $id) { id subjectIds status steps { store status removed detail } }
}`;
const REQUEST = `query ($id: ID!) {
  deletionRequest(id: $id) { status completedAt steps { store status removed detail } }
}`;
const USER = 'query ($id: ID!) { user(id: $id) { personId eventCount } }';

describe('deletion over GraphQL, on dynalite', () => {
  let emulators: TestEmulators;
  let api: OperationRunner;
  let runner: DeletionRunner;
  let requests: DynamoDbDeletionRequestStore;
  let warehouse: FlakyEraser;
  const tableName = 'hot';
  const errors: unknown[] = [];

  beforeAll(async () => {
    emulators = await startTestEmulators('tributary-deletion-');
    await ensureHotTable(emulators.dynamodb, tableName);
    const config = testConfig(emulators.dataDir, 'unused-key', { TRIBUTARY_TABLE_NAME: tableName });
    const table = new DynamoDbHotStore({ client: emulators.dynamodb, tableName });
    // The API reads through a cache that never expires: only forgetting what was erased keeps it true.
    const hotReads = new CachedHotStore(table, { ttlMs: Number.POSITIVE_INFINITY, maxEntries: 100 });
    warehouse = new FlakyEraser();
    requests = new DynamoDbDeletionRequestStore({ client: emulators.dynamodb, tableName });
    runner = new DeletionRunner({
      store: requests,
      erasers: [hotTierPersonEraser(table, hotReads), warehouse],
      retry: { baseDelayMs: 50, maxDelayMs: 50 },
      logger: { error: (...args: unknown[]) => errors.push(args) },
    });
    const producer: EventStreamProducer = { putRecords: async () => [] };
    const services = createServices({
      config,
      bootstrapKeys: async () => ({ secretKey: 'unused', writeKey: 'unused', userTokenSecret: 'unused' }),
      producer,
      schemas: schemaRegistryFromConfig(config),
      hotReads,
      dynamoDoc: emulators.dynamodb,
      warehouse: undefined,
      deletionRunner: runner,
    });
    api = await operationRunner(services, errors);

    await table.applyActivity([
      activity(1, null, 'gus-phone'),
      activity(2, 'gus', 'gus-phone'),
      activity(3, null, 'gus-laptop'),
      activity(4, 'gus', 'gus-laptop'),
      activity(5, 'hal', 'hal-phone'),
    ]);
  });

  afterAll(async () => {
    await runner?.close();
    await api?.stop();
    await emulators?.stop();
  });

  it('erases the person from the hot tier, retries the failing store, and suppresses every id', async () => {
    const before = await api.run(USER, { id: 'gus-laptop' }, HOT_READER);
    expect(before.data).toEqual({ user: { personId: 'gus', eventCount: 4 } });

    const asked = await api.run(DELETE, { id: 'gus-laptop' });
    expect(asked.errors).toBeUndefined();
    const request = asked.data?.deleteUser as { id: string; subjectIds: string[]; status: string };
    expect(request.subjectIds.sort()).toEqual(['gus', 'gus-laptop', 'gus-phone']);
    expect(request.status).toBe('PENDING');
    expect(await suppressed(['gus', 'gus-phone', 'gus-laptop', 'hal'])).toEqual(
      new Set(['gus', 'gus-phone', 'gus-laptop']),
    );

    await runner.idle();
    const failed = await api.run(REQUEST, { id: request.id });
    expect(failed.data?.deletionRequest).toEqual({
      status: 'FAILED',
      completedAt: null,
      steps: [
        { store: 'hot-tier', status: 'COMPLETED', removed: expect.any(Number), detail: null },
        { store: 'warehouse', status: 'FAILED', removed: null, detail: 'Error: warehouse is paused' },
      ],
    });
    // Gone from the hot tier and from the API's cache, while Hal is untouched.
    expect((await api.run(USER, { id: 'gus-laptop' }, HOT_READER)).data).toEqual({ user: null });
    expect((await api.run(USER, { id: 'gus' }, HOT_READER)).data).toEqual({ user: null });
    expect((await api.run(USER, { id: 'hal' }, HOT_READER)).data).toEqual({
      user: { personId: 'hal', eventCount: 1 },
    });
    const scan = await emulators.dynamodb.send(new ScanCommand({ TableName: tableName }));
    const userItems = (scan.Items ?? []).filter((item) => String(item.pk).startsWith('USER#'));
    expect(JSON.stringify(userItems)).not.toContain('gus');

    warehouse.down = false;
    await waitFor(async () => {
      const seen = await api.run(REQUEST, { id: request.id });
      return (seen.data?.deletionRequest as { status: string } | null)?.status === 'COMPLETED';
    });
    const done = await api.run(REQUEST, { id: request.id });
    expect(done.data?.deletionRequest).toMatchObject({
      status: 'COMPLETED',
      completedAt: expect.any(String),
      steps: [
        { store: 'hot-tier', status: 'COMPLETED' },
        { store: 'warehouse', status: 'COMPLETED', removed: 2, detail: 'deleted 2 rows' },
      ],
    });
    // The hot-tier step ran once; the warehouse's until it succeeded.
    const stored = await requests.get(request.id);
    expect(stored?.steps[0]?.attempts).toBe(1);
    expect(stored?.steps[1]?.attempts).toBe(warehouse.calls.length);
    expect(warehouse.calls.length).toBeGreaterThanOrEqual(2);

    const lifted = await api.run('mutation { unsuppressUser(id: "gus") }');
    expect((lifted.data?.unsuppressUser as string[]).sort()).toEqual(['gus', 'gus-laptop', 'gus-phone']);
    expect(await suppressed(['gus', 'gus-phone', 'gus-laptop'])).toEqual(new Set());
  });

  /** What the suppression list on the table holds, read as the edge would. */
  const suppressed = (ids: string[]): Promise<Set<string>> =>
    new DynamoDbSuppressionList({ client: emulators.dynamodb, tableName }).suppressed(ids);
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

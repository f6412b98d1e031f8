import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type * as HotFoldHandler from '../../src/handlers/hot-fold';
import { DynamoDbHotStore, ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { PENDING_PARTITION } from '../../src/sinks/hot-tier/dynamodb/hot-store-keys';
import type { HotActivity } from '../../src/sinks/hot-tier/port';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';
import { hotActivity } from '../helpers/hot-activity';

jest.setTimeout(60_000);

const TABLE = 'hot';

/**
 * Recent times, so the trends are current and the profiles are kept, and all in one fixed hour:
 * events on both sides of an hour's start would count in two windows of the HOUR trend.
 */
const HOUR_MS = 3_600_000;
const START = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 50 * 60_000;
const at = (minute: number) => new Date(START + minute * 60_000).toISOString();

/** One event of `userId` on `itemIds`, the n-th of its shard. */
const activity = (n: number, userId: string, event: string, itemIds: string[]): HotActivity =>
  hotActivity({
    event,
    itemIds,
    profileId: userId,
    messageId: `m-${n}`,
    timestamp: at(n),
    shardId: 'shardId-000000000000',
    sequenceNumber: String(1000 + n),
  });

/** Two users who viewed sku-1 and sku-2, one of whom bought sku-2. */
const sessions = (): HotActivity[] => [
  activity(1, 'u1', 'product_viewed', ['sku-1']),
  activity(2, 'u1', 'product_viewed', ['sku-2']),
  activity(3, 'u2', 'product_viewed', ['sku-1']),
  activity(4, 'u2', 'order_completed', ['sku-2']),
];

const savedEnv = { ...process.env };
let emulators: TestEmulators;
let store: DynamoDbHotStore;

beforeAll(async () => {
  emulators = await startTestEmulators('tributary-hot-fold-handler-');
  await ensureHotTable(emulators.dynamodb, TABLE);
  store = new DynamoDbHotStore({ client: emulators.dynamodb, tableName: TABLE });
});

afterAll(async () => {
  process.env = { ...savedEnv };
  await emulators?.stop();
});

/** The handler module as one cold start loads it: it reads its configuration on import. */
function loadHandler(env: Record<string, string> = {}): typeof HotFoldHandler {
  process.env = {
    ...savedEnv,
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    TRIBUTARY_DYNAMODB_ENDPOINT: emulators.dynamodbEndpoint,
    TRIBUTARY_TABLE_NAME: TABLE,
    ...env,
  };
  let loaded: typeof HotFoldHandler | undefined;
  jest.isolateModules(() => {
    loaded = jest.requireActual<typeof HotFoldHandler>('../../src/handlers/hot-fold');
  });
  if (loaded === undefined) throw new Error('handler module did not load');
  return loaded;
}

/** A Lambda context with this much time left. */
const context = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs });

/** How many entries the pending log holds. */
async function pendingCount(): Promise<number> {
  const answer = await emulators.dynamodb.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': PENDING_PARTITION },
      Select: 'COUNT',
    }),
  );
  return answer.Count ?? 0;
}

describe('hot-tier fold function handler', () => {
  let module: typeof HotFoldHandler;
  beforeAll(async () => {
    module = loadHandler();
    await store.applyActivity(sessions());
  });

  it('starts no fold with less than the margin left, and says more may be pending', async () => {
    expect(await pendingCount()).toBeGreaterThan(0);
    const report = await module.handler({}, context(module.FOLD_START_MARGIN_MS - 1));
    expect(report).toEqual({ entries: 0, items: 0, trends: 0, rounds: 0, more: true });
    expect(await pendingCount()).toBeGreaterThan(0);
    // The stream's batch wrote the changes to the log only: the items wait for the fold.
    expect((await store.getItem('sku-1'))?.stats.counts.product_viewed ?? 0).toBe(0);
  });

  it('folds the pending changes into the items and trends and empties the log', async () => {
    const report = await module.handler({}, context(300_000));
    expect(report).toEqual({
      entries: expect.any(Number) as number,
      items: 2,
      trends: expect.any(Number) as number,
      rounds: 1,
      more: false,
    });
    expect(report.entries).toBeGreaterThan(0);
    // product_viewed and order_completed, and every item event, each in both windows.
    expect(report.trends).toBe(6);
    expect(await pendingCount()).toBe(0);

    const sku1 = await store.getItem('sku-1');
    const sku2 = await store.getItem('sku-2');
    expect(sku1?.stats.counts).toEqual({ product_viewed: 2 });
    expect(sku2?.stats.counts).toEqual({ product_viewed: 1, order_completed: 1 });
    // Both users touched both items.
    expect(sku1?.neighbours.map((neighbour) => [neighbour.id, neighbour.co])).toEqual([['sku-2', 2]]);
    const views = await store.getTrend('product_viewed', 'HOUR');
    expect(views?.items.map((item) => [item.id, item.c])).toEqual([
      ['sku-1', 2],
      ['sku-2', 1],
    ]);
    await expect(store.getTrend('order_completed', 'DAY')).resolves.toMatchObject({
      items: [expect.objectContaining({ id: 'sku-2', c: 1 })],
    });
  });

  it('folds nothing again when nothing is pending', async () => {
    const before = await store.getItem('sku-1');
    const report = await module.handler({}, context(300_000));
    expect(report).toEqual({ entries: 0, items: 0, trends: 0, rounds: 1, more: false });
    expect(await store.getItem('sku-1')).toEqual(before);
  });

  it('fails the invocation when a fold fails, so the error alarm sees it', async () => {
    const broken = loadHandler({ TRIBUTARY_TABLE_NAME: 'no-such-table' });
    const failure = broken.handler({}, context(300_000));
    await expect(failure).rejects.toThrow(/^Hot store .* failed \(ResourceNotFoundException/);
    // The module's own HotStoreError class (a registry of its own): matched by name.
    await expect(failure).rejects.toHaveProperty('name', 'HotStoreError');
  });
});

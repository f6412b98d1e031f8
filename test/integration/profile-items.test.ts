import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient } from '../../src/aws/clients';
import { MemoryHotStore } from '../../scripts/eval/memory-hot-store';
import { DynamoDbHotStore, ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { HotStoreError } from '../../src/sinks/hot-tier/errors';
import {
  BASE_EXPIRY_MARGIN_SECONDS,
  HEAD_BUDGET_BYTES,
  itemBytes,
} from '../../src/sinks/hot-tier/dynamodb/profile-items';
import type { HotActivity } from '../../src/sinks/hot-tier/port';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';
import { seededRandom } from '../helpers/seeded-random';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const SHARD_A = 'shardId-000000000000';
const SHARD_B = 'shardId-000000000001';
const SEQ_BASE = 49590338271490256608559692538361571095921575989136588898n;
const DAY0 = Date.UTC(2026, 0, 5, 9);
const DAY_MS = 86_400_000;

/** A returning shopper's events: views and cart adds over a catalogue, a minute or hours apart. */
function shopping(
  profileId: string,
  count: number,
  options: { seed?: number; shardId?: string; from?: number; startAt?: number } = {},
): HotActivity[] {
  const random = seededRandom(options.seed ?? 1);
  const shardId = options.shardId ?? SHARD_A;
  let clock = options.startAt ?? DAY0;
  return Array.from({ length: count }, (_, i) => {
    clock += random() < 0.2 ? 5 * 3_600_000 : 60_000;
    const time = new Date(clock).toISOString();
    const event =
      random() < 0.2 ? 'product_added_to_cart' : random() < 0.05 ? 'order_completed' : 'product_viewed';
    return {
      profileId,
      messageId: randomUUID(),
      event,
      timestamp: time,
      receivedAt: time,
      shardId,
      sequenceNumber: String(SEQ_BASE + BigInt((options.from ?? 0) + i + 1)),
      itemIds: [`sku-${Math.floor(random() * 700)}`],
      traits: i % 40 === 0 ? { plan: random() < 0.5 ? 'pro' : 'free', visits: i } : null,
      userId: profileId,
      anonymousId: null,
      previousId: null,
      mergesUsers: false,
      isBot: false,
    };
  });
}

jest.setTimeout(60_000);

describe('profiles stored as a head and a base', () => {
  let emulators: TestEmulators;
  let raw: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  let tableName: string;
  let tableCounter = 0;

  const storeAt = (now: () => number = () => DAY0) => new DynamoDbHotStore({ client: doc, tableName, now });

  const head = async (id: string) =>
    (await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `USER#${id}`, sk: 'PROFILE' } }))).Item;

  /** The sort keys of every base item of an id, whether its head names it or not. */
  async function bases(id: string): Promise<string[]> {
    const output = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': `USER#${id}`, ':prefix': 'PROFILE#' },
        ConsistentRead: true,
      }),
    );
    return (output.Items ?? []).map((item) => String(item.sk));
  }

  let scratch = 0;

  /** What DynamoDB bills to put this item afresh (under a new key of the same size), as dynalite works it out. */
  async function writeUnits(item: Record<string, unknown>): Promise<number> {
    scratch += 1;
    const output = await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...item, sk: `S${String(scratch).padStart(6, '0')}` },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return output.ConsumedCapacity?.CapacityUnits ?? Number.NaN;
  }

  beforeAll(async () => {
    emulators = await startTestEmulators('profile-items-');
    doc = emulators.dynamodb;
    raw = new DynamoDBClient({
      endpoint: emulators.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  afterAll(async () => {
    raw.destroy();
    await emulators.stop();
  });

  beforeEach(async () => {
    tableName = `profiles-${++tableCounter}`;
    await ensureHotTable(raw, tableName);
  });

  it('writes a returning user one write unit an event, rebases now and then, and reads back the same profile', async () => {
    const id = randomUUID();
    const activity = shopping(id, 240);
    const store = storeAt();
    const memory = new MemoryHotStore();
    const seenBases = new Set<string>();
    const units: number[] = [];
    for (const event of activity) {
      await store.applyActivity([event]);
      await memory.applyActivity([event]);
      const item = (await head(id)) as Record<string, unknown>;
      if (typeof item.b === 'string') seenBases.add(item.b);
      units.push(await writeUnits(item));
      expect(itemBytes(item)).toBeLessThanOrEqual(HEAD_BUDGET_BYTES);
    }
    // Every head fits one write unit as DynamoDB bills it; a base is written every few events (the
    // head gains 45 to 60 compressed bytes an event, this shopper's sessions and purchases included).
    expect(units.every((u) => u === 1)).toBe(true);
    expect(seenBases.size).toBeGreaterThan(activity.length / 20);
    expect(seenBases.size).toBeLessThan(activity.length / 3);
    // Only the base the head names is left.
    const item = (await head(id)) as Record<string, unknown>;
    expect(await bases(id)).toEqual([item.b]);
    const fromMemory = await memory.getUser(id);
    expect(fromMemory?.recentEvents).toHaveLength(50);
    await expect(store.getUser(id)).resolves.toEqual(fromMemory);
    await expect(store.readIds([id])).resolves.toEqual(await memory.readIds([id]));
  });

  it('keeps every event of writers racing on one profile, and no base that lost', async () => {
    const id = 'racer';
    const a = shopping(id, 90, { seed: 2, shardId: SHARD_A });
    const b = shopping(id, 90, { seed: 3, shardId: SHARD_B, from: 1000 });
    const [left, right] = [storeAt(), storeAt()];
    // A batch that loses the race on every attempt fails as a conflict, and its stream hands it
    // over again, as the event source mapping would: what matters is that nothing is lost or
    // counted twice, and no losing base is left.
    let conflicts = 0;
    const apply = async (store: DynamoDbHotStore, event: HotActivity) => {
      for (;;) {
        try {
          return await store.applyActivity([event]);
        } catch (error) {
          if (!(error instanceof HotStoreError && error.code === 'HOT_STORE_CONFLICT') || ++conflicts > 20) {
            throw error;
          }
        }
      }
    };
    await Promise.all([
      (async () => {
        for (const event of a) await apply(left, event);
      })(),
      (async () => {
        for (const event of b) await apply(right, event);
      })(),
    ]);
    const user = await left.getUser(id);
    expect(user?.eventCount).toBe(180);
    const newest = [...a, ...b]
      .sort((x, y) => (x.timestamp < y.timestamp ? 1 : x.timestamp > y.timestamp ? -1 : 0))
      .slice(0, 50)
      .map((event) => event.messageId);
    expect(new Set(user?.recentEvents.map((event) => event.messageId))).toEqual(new Set(newest));
    const item = (await head(id)) as Record<string, unknown>;
    expect(await bases(id)).toEqual([item.b]);
  });

  it('rebases before its base would expire, and deletes the base it leaves', async () => {
    const id = 'weekly';
    let clock = DAY0;
    const store = storeAt(() => clock);
    for (const event of shopping(id, 60)) await store.applyActivity([event]);
    const before = (await head(id)) as Record<string, unknown>;
    expect(typeof before.b).toBe('string');
    const baseTtl = (
      await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `USER#${id}`, sk: before.b } }))
    ).Item?.ttl as number;
    expect(baseTtl).toBe(Number(before.ttl) + BASE_EXPIRY_MARGIN_SECONDS);

    // A week and a day later the head would outlive its base: the write rebases.
    clock += 8 * DAY_MS;
    await store.applyActivity(shopping(id, 1, { from: 500, startAt: clock }));
    const after = (await head(id)) as Record<string, unknown>;
    expect(after.b).not.toBe(before.b);
    expect(await bases(id)).toEqual([after.b]);
    await expect(store.getUser(id)).resolves.toMatchObject({ eventCount: 61 });
  });

  it('starts an id afresh once its profile expired, and deletes the base it had', async () => {
    const id = 'lapsed';
    let clock = DAY0;
    const store = storeAt(() => clock);
    for (const event of shopping(id, 60)) await store.applyActivity([event]);
    expect(await bases(id)).toHaveLength(1);
    clock += 181 * DAY_MS;
    await store.applyActivity(shopping(id, 1, { from: 500, startAt: clock }));
    const user = await store.getUser(id);
    expect(user?.eventCount).toBe(1);
    expect(user?.recentEvents).toHaveLength(1);
    expect(await bases(id)).toEqual([]);
  });

  /** A base's BatchGet as a store sent it: the base keys asked for and whether strongly consistent. */
  interface BaseRead {
    keys: string[];
    consistent: boolean;
  }

  /** Clients the observed stores made, destroyed after each test. */
  const observedClients: DynamoDBDocumentClient[] = [];
  afterEach(() => {
    for (const client of observedClients.splice(0)) client.destroy();
  });

  /**
   * A store on a client of its own (built as every function builds one) that records each
   * BatchGet of base keys and, while `lagging` is set, answers an eventually consistent one as a
   * replica that has not seen the bases yet would: without them.
   */
  function observedStore(): { store: DynamoDbHotStore; baseReads: BaseRead[]; lag: (on: boolean) => void } {
    const client = createDynamoDbDocumentClient({
      aws: { region: 'us-east-1', dynamodbEndpoint: emulators.dynamodbEndpoint },
    });
    observedClients.push(client);
    const baseReads: BaseRead[] = [];
    let lagging = false;
    type Wire = { S?: string };
    type BatchGetWire = {
      RequestItems?: Record<string, { Keys: Array<Record<string, Wire>>; ConsistentRead?: boolean }>;
    };
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'BatchGetItemCommand') return next(args);
        const request = (args.input as BatchGetWire).RequestItems?.[tableName];
        const keys = (request?.Keys ?? [])
          .map((key) => key.sk?.S ?? '')
          .filter((sk) => sk.startsWith('PROFILE#'));
        const consistent = request?.ConsistentRead === true;
        if (keys.length > 0) baseReads.push({ keys, consistent });
        const result = await next(args);
        if (lagging && !consistent) {
          const output = result.output as { Responses?: Record<string, Array<Record<string, unknown>>> };
          const items = output.Responses?.[tableName];
          if (items)
            output.Responses![tableName] = items.filter((item) => !String(item.sk).startsWith('PROFILE#'));
        }
        return result;
      },
      { step: 'build', name: 'observeBaseReads' },
    );
    // The document client shares its middleware stack with the client underneath: the request
    // seen here is marshalled, the answer already unmarshalled.
    const store = new DynamoDbHotStore({ client, tableName, now: () => DAY0 });
    return { store, baseReads, lag: (on) => (lagging = on) };
  }

  it('reads a base eventually consistent once, and joins a base it has read or written without a read', async () => {
    const id = 'returning';
    const activity = shopping(id, 80);
    await storeAt().applyActivity(activity.slice(0, 60));
    const named = (await head(id))?.b as string;
    expect(named).toMatch(/^PROFILE#/);

    const { store, baseReads } = observedStore();
    await store.applyActivity(activity.slice(60, 61));
    // Half the read units of a strong read: a base never changes, so any copy of it is current.
    expect(baseReads).toEqual([{ keys: [named], consistent: false }]);
    for (const event of activity.slice(61)) await store.applyActivity([event]);
    // The rest of the session joins the base it read, then those it wrote, from memory.
    expect(baseReads).toHaveLength(1);
    const user = await storeAt().getUser(id);
    expect(user?.eventCount).toBe(80);
    expect(user?.recentEvents.map((event) => event.messageId)).toEqual(
      activity
        .slice(-50)
        .reverse()
        .map((event) => event.messageId),
    );
  });

  it('reads a base strongly consistent when the eventual read misses it, and loses none of its events', async () => {
    const id = 'lagged';
    const activity = shopping(id, 61);
    await storeAt().applyActivity(activity.slice(0, 60));
    const named = (await head(id))?.b as string;

    const { store, baseReads, lag } = observedStore();
    lag(true);
    await store.applyActivity(activity.slice(60));
    expect(baseReads).toEqual([
      { keys: [named], consistent: false },
      { keys: [named], consistent: true },
    ]);
    const user = await storeAt().getUser(id);
    expect(user?.eventCount).toBe(61);
    expect(user?.recentEvents).toHaveLength(50);
  });

  it('erases the head, its base and any base left behind', async () => {
    const id = 'forget-me';
    const store = storeAt();
    for (const event of shopping(id, 60)) await store.applyActivity([event]);
    // A base a crash left behind: written, never named by a head.
    await doc.send(
      new PutCommand({ TableName: tableName, Item: { pk: `USER#${id}`, sk: 'PROFILE#left-behind', id } }),
    );
    expect(await bases(id)).toHaveLength(2);
    await store.eraseIds([id]);
    expect(await head(id)).toBeUndefined();
    expect(await bases(id)).toEqual([]);
    await expect(store.getUser(id)).resolves.toBeNull();
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createDynamoDbDocumentClient } from '../../src/aws/clients';
import { DynamoDbHotStore, ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { messageClaimKey } from '../../src/sinks/hot-tier/dynamodb/hot-store-keys';
import { DynamoDbTtlSweeper } from '../../src/sinks/hot-tier/dynamodb/dynamodb-ttl-sweeper';
import type { HotActivity } from '../../src/sinks/hot-tier/port';

jest.setTimeout(20_000);

const DAY_MS = 86_400_000;
const IDLE_DAYS = 30;
const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const BASE = 49590338271490256608559692538361571095921575989136588898n;

let sequence = 0;

/** An event of `userId` (and `anonymousId`, which it then links) processed at `at`. */
function activity(at: number, userId: string | null, anonymousId: string | null = null): HotActivity {
  sequence += 1;
  return {
    profileId: (userId ?? anonymousId) as string,
    messageId: `m-${sequence}`,
    event: 'page_viewed',
    timestamp: new Date(at).toISOString(),
    receivedAt: new Date(at).toISOString(),
    shardId: 'shardId-000000000000',
    sequenceNumber: (BASE + BigInt(sequence)).toString(),
    itemIds: [],
    traits: null,
    isBot: false,
    userId,
    anonymousId,
    previousId: null,
    mergesUsers: false,
  };
}

describe('hot-tier retention: profiles and identities expire after the idle limit', () => {
  let server: Server;
  let dataDir: string;
  let doc: DynamoDBDocumentClient;
  let raw: DynamoDBClient;
  let tableName: string;
  let tables = 0;
  let clock: number;
  let store: DynamoDbHotStore;
  let sweeper: DynamoDbTtlSweeper;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'hot-retention-'));
    server = dynalite({ path: dataDir, createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const endpoint = `http://127.0.0.1:${port}`;
    doc = createDynamoDbDocumentClient({ aws: { region: 'us-east-1', dynamodbEndpoint: endpoint } });
    raw = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  afterAll(async () => {
    doc.destroy();
    raw.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    tableName = `retention-${++tables}`;
    await ensureHotTable(raw, tableName);
    clock = T0;
    const now = () => clock;
    store = new DynamoDbHotStore({ client: doc, tableName, profileIdleDays: IDLE_DAYS, now });
    sweeper = new DynamoDbTtlSweeper({ client: doc, tableName, now });
  });

  async function item(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    return (await doc.send(new GetCommand({ TableName: tableName, Key: { pk, sk } }))).Item;
  }

  async function keys(): Promise<string[]> {
    const items = (await doc.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
    return items.map((i) => `${String(i.pk)}/${String(i.sk)}`).sort();
  }

  it('writes ttl = last activity + the idle limit on profiles and identities, and reads them as gone after it', async () => {
    await store.applyActivity([activity(T0, 'alice', 'device-a')]);
    const expiry = Math.floor(T0 / 1000) + IDLE_DAYS * 86_400;
    expect((await item('USER#alice', 'PROFILE'))?.ttl).toBe(expiry);
    expect((await item('USER#alice', 'IDENTITY'))?.ttl).toBe(expiry);
    expect((await item('USER#device-a', 'IDENTITY'))?.ttl).toBe(expiry);

    clock = T0 + 10 * DAY_MS;
    await store.applyActivity([activity(clock, 'bob')]);

    clock = T0 + IDLE_DAYS * DAY_MS - 1000;
    expect(await store.getUser('alice')).toMatchObject({ eventCount: 1 });
    expect([...(await store.readIds(['alice', 'device-a'])).keys()]).toEqual(['alice', 'device-a']);

    clock = T0 + IDLE_DAYS * DAY_MS;
    expect(await store.getUser('alice')).toBeNull();
    expect((await store.readIds(['alice', 'device-a'])).size).toBe(0);
    expect(await store.getUser('bob')).toMatchObject({ eventCount: 1 });
  });

  it('starts a returning id afresh once its profile expired, before anything deleted it', async () => {
    await store.applyActivity([activity(T0, 'alice'), activity(T0 + 1000, 'alice')]);
    clock = T0 + (IDLE_DAYS + 1) * DAY_MS;
    await store.applyActivity([activity(clock, 'alice')]);
    expect(await store.getUser('alice')).toMatchObject({ eventCount: 1 });
    expect((await item('USER#alice', 'PROFILE'))?.ttl).toBe(Math.floor(clock / 1000) + IDLE_DAYS * 86_400);
  });

  it("keeps an active person's identity alive, written again at most once a day", async () => {
    await store.applyActivity([activity(T0, 'alice', 'device-a')]);
    const first = await item('USER#alice', 'IDENTITY');

    // Within the day: the identity is as it was, not written.
    clock = T0 + 3_600_000;
    await store.applyActivity([activity(clock, 'alice', 'device-a')]);
    expect(await item('USER#alice', 'IDENTITY')).toEqual(first);

    // A day on, every identity the batch loads is written again with a later expiry, links intact.
    clock = T0 + DAY_MS + 1000;
    await store.applyActivity([activity(clock, 'alice', 'device-a')]);
    const expiry = Math.floor(clock / 1000) + IDLE_DAYS * 86_400;
    for (const id of ['alice', 'device-a']) {
      expect(await item(`USER#${id}`, 'IDENTITY')).toMatchObject({ ttl: expiry });
    }
    clock = T0 + IDLE_DAYS * DAY_MS + 1000;
    expect((await store.readIds(['device-a'])).get('device-a')?.identity?.earliestClaim).toMatchObject({
      personId: 'alice',
    });
  });

  it('sweeps what dynalite never expires: every item whose ttl passed, and nothing else', async () => {
    await store.applyActivity([activity(T0, 'alice', 'device-a')]);
    clock = T0 + 20 * DAY_MS;
    await store.applyActivity([activity(clock, 'bob')]);
    // An item without a ttl (an item's stats, a deletion request) never expires.
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: 'ITEM#p1', sk: 'ITEM', views: 3 } }));
    // Claims of messageIds, kept a week, as the hot tier wrote them before profiles kept their own.
    for (const [messageId, day] of [
      ['m-old', 0],
      ['m-older', 20],
    ] as const) {
      const ttl = Math.floor((T0 + (day + 7) * DAY_MS) / 1000);
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...messageClaimKey(messageId), owner: 's/1', ttl },
        }),
      );
    }

    clock = T0 + IDLE_DAYS * DAY_MS - 1000;
    await expect(sweeper.sweep()).resolves.toEqual({ items: 2, ids: [] });
    // Both claims went; alice's items stay until their limit.
    expect(await keys()).toEqual([
      'ITEM#p1/ITEM',
      'USER#alice/IDENTITY',
      'USER#alice/PROFILE',
      'USER#bob/IDENTITY',
      'USER#bob/PROFILE',
      'USER#device-a/IDENTITY',
    ]);

    clock = T0 + IDLE_DAYS * DAY_MS;
    const swept = await sweeper.sweep();
    expect(swept.items).toBe(3);
    expect(swept.ids.sort()).toEqual(['alice', 'device-a']);
    expect(await keys()).toEqual(['ITEM#p1/ITEM', 'USER#bob/IDENTITY', 'USER#bob/PROFILE']);
    await expect(sweeper.sweep()).resolves.toEqual({ items: 0, ids: [] });
  });
});

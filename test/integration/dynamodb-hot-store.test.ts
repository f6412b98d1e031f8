import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbHotStore, ensureHotTable, hotTableDefinition } from '../../src/sinks/dynamodb-hot-store';
import { HotStoreError } from '../../src/sinks/dynamodb-errors';
import { padSequenceNumber, userProfileKey, watermarkAttribute } from '../../src/sinks/hot-store-keys';
import type { ProfileActivity } from '../../src/sinks/ports';
import dynalite from 'dynalite';

const SHARD_A = 'shardId-000000000000';
const SHARD_B = 'shardId-000000000001';
const BASE = '49590338271490256608559692538361571095921575989136588898';

/** Realistic 56-digit sequence numbers that differ only at the end. */
function seq(n: number): string {
  return (BigInt(BASE) + BigInt(n)).toString();
}

function at(minute: number): string {
  return new Date(Date.UTC(2025, 0, 1, 12, minute)).toISOString();
}

function activity(
  profileId: string,
  n: number,
  minute: number,
  shardId = SHARD_A,
  event = `e${n}`,
): ProfileActivity {
  return { profileId, event, timestamp: at(minute), shardId, sequenceNumber: seq(n) };
}

describe('DynamoDbHotStore', () => {
  const localClient = () =>
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });

  let server: Server;
  let dataDir: string;
  let endpoint: string;
  let raw: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  let tableCounter = 0;
  let tableName: string;
  let store: DynamoDbHotStore;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'hot-store-'));
    server = dynalite({ path: dataDir, createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    endpoint = `http://127.0.0.1:${port}`;
    raw = localClient();
    doc = DynamoDBDocumentClient.from(raw);
  });

  afterAll(async () => {
    doc.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    tableName = `hot-${++tableCounter}`;
    await ensureHotTable(raw, tableName);
    store = new DynamoDbHotStore({ client: doc, tableName });
  });

  describe('ensureHotTable', () => {
    it('creates the table once and is a no-op afterwards', async () => {
      await ensureHotTable(raw, tableName);
      await Promise.all([ensureHotTable(raw, 'fresh'), ensureHotTable(raw, 'fresh')]);
      const described = await raw.send(new DescribeTableCommand({ TableName: 'fresh' }));
      expect(described.Table?.TableStatus).toBe('ACTIVE');
      expect(described.Table?.KeySchema).toEqual(hotTableDefinition('fresh').KeySchema);
      await raw.send(new DeleteTableCommand({ TableName: 'fresh' }));
    });
  });

  it('returns null for an unknown profile', async () => {
    await expect(store.getUser('nobody')).resolves.toBeNull();
  });

  it('aggregates counts, first/last seen and last event for several profiles and shards', async () => {
    await store.applyProfileActivity([
      activity('u1', 1, 0, SHARD_A, 'page'),
      activity('u2', 2, 1, SHARD_A, 'signup'),
      activity('u1', 3, 5, SHARD_A, 'click'),
      activity('u1', 1, 2, SHARD_B, 'purchase'),
      activity('u2', 2, 9, SHARD_B, 'logout'),
      activity('u3', 3, 4, SHARD_B, 'page'),
    ]);
    await expect(store.getUser('u1')).resolves.toEqual({
      id: 'u1',
      eventCount: 3,
      firstSeen: at(0),
      lastSeen: at(5),
      lastEvent: 'click',
    });
    await expect(store.getUser('u2')).resolves.toEqual({
      id: 'u2',
      eventCount: 2,
      firstSeen: at(1),
      lastSeen: at(9),
      lastEvent: 'logout',
    });
    await expect(store.getUser('u3')).resolves.toMatchObject({ eventCount: 1, lastEvent: 'page' });
  });

  it('changes nothing when the same batch is applied twice', async () => {
    const batch = [activity('u1', 1, 0), activity('u1', 2, 1), activity('u2', 3, 2)];
    await store.applyProfileActivity(batch);
    const before = await Promise.all([store.getUser('u1'), store.getUser('u2')]);
    await store.applyProfileActivity(batch);
    await store.applyProfileActivity([...batch].reverse());
    const after = await Promise.all([store.getUser('u1'), store.getUser('u2')]);
    expect(after).toEqual(before);
    expect(after[0]?.eventCount).toBe(2);
  });

  it('counts each record once when a retry starts in the middle and brings new records', async () => {
    await store.applyProfileActivity([1, 2, 3, 4, 5].map((n) => activity('u1', n, n)));
    await store.applyProfileActivity([3, 4, 5, 6, 7].map((n) => activity('u1', n, n)));
    await expect(store.getUser('u1')).resolves.toMatchObject({
      eventCount: 7,
      lastSeen: at(7),
      lastEvent: 'e7',
    });
    const item = await doc.send(new GetCommand({ TableName: tableName, Key: userProfileKey('u1') }));
    expect(item.Item?.[watermarkAttribute(SHARD_A)]).toBe(padSequenceNumber(seq(7)));
  });

  it('recovers from a crash between two profiles: the applied one is not counted again', async () => {
    // The first attempt only reached u1 before "crashing"; the redelivery carries both.
    await store.applyProfileActivity([activity('u1', 1, 0), activity('u1', 3, 1)]);
    await store.applyProfileActivity([activity('u1', 1, 0), activity('u2', 2, 0), activity('u1', 3, 1)]);
    await expect(store.getUser('u1')).resolves.toMatchObject({ eventCount: 2 });
    await expect(store.getUser('u2')).resolves.toMatchObject({ eventCount: 1 });
  });

  it('counts activity from two shards of one profile separately, with comparable sequence numbers', async () => {
    await store.applyProfileActivity([activity('u1', 10, 0, SHARD_A)]);
    // Shard B's sequence numbers are lower than shard A's watermark, yet they must count.
    await store.applyProfileActivity([activity('u1', 1, 1, SHARD_B), activity('u1', 2, 2, SHARD_B)]);
    await store.applyProfileActivity([activity('u1', 2, 2, SHARD_B), activity('u1', 11, 3, SHARD_A)]);
    await expect(store.getUser('u1')).resolves.toMatchObject({
      eventCount: 4,
      lastSeen: at(3),
      lastEvent: 'e11',
    });
  });

  it('keeps firstSeen earliest and lastEvent latest when events arrive out of order', async () => {
    await store.applyProfileActivity([activity('u1', 1, 30, SHARD_A, 'middle')]);
    // A late event (earlier event time) in a later batch, then an older-than-latest one.
    await store.applyProfileActivity([activity('u1', 2, 10, SHARD_A, 'early')]);
    await store.applyProfileActivity([
      activity('u1', 3, 50, SHARD_B, 'latest'),
      activity('u1', 4, 40, SHARD_B, 'x'),
    ]);
    await store.applyProfileActivity([activity('u1', 5, 20, SHARD_A, 'late')]);
    await expect(store.getUser('u1')).resolves.toEqual({
      id: 'u1',
      eventCount: 5,
      firstSeen: at(10),
      lastSeen: at(50),
      lastEvent: 'latest',
    });
  });

  it('breaks timestamp ties by sequence number, within and across batches', async () => {
    await store.applyProfileActivity([
      activity('u1', 2, 5, SHARD_A, 'second'),
      activity('u1', 1, 5, SHARD_A, 'first'),
    ]);
    await expect(store.getUser('u1')).resolves.toMatchObject({ lastEvent: 'second' });
    await store.applyProfileActivity([activity('u1', 3, 5, SHARD_A, 'third')]);
    await expect(store.getUser('u1')).resolves.toMatchObject({ lastEvent: 'third', eventCount: 3 });
  });

  it('normalises timestamps with offsets so they compare chronologically', async () => {
    await store.applyProfileActivity([
      {
        profileId: 'u1',
        event: 'a',
        timestamp: '2025-01-01T13:00:00+02:00',
        shardId: SHARD_A,
        sequenceNumber: seq(1),
      },
      {
        profileId: 'u1',
        event: 'b',
        timestamp: '2025-01-01T12:00:00Z',
        shardId: SHARD_A,
        sequenceNumber: seq(2),
      },
    ]);
    await expect(store.getUser('u1')).resolves.toMatchObject({
      firstSeen: '2025-01-01T11:00:00.000Z',
      lastSeen: '2025-01-01T12:00:00.000Z',
      lastEvent: 'b',
    });
  });

  it('writes more than 25 profiles in one call', async () => {
    const batch = Array.from({ length: 30 }, (_, i) => [
      activity(`p${i}`, 2 * i, i),
      activity(`p${i}`, 2 * i + 1, i + 1),
    ]).flat();
    await store.applyProfileActivity(batch);
    await store.applyProfileActivity(batch.slice(20));
    const profiles = await Promise.all(Array.from({ length: 30 }, (_, i) => store.getUser(`p${i}`)));
    expect(profiles.map((p) => p?.eventCount)).toEqual(Array(30).fill(2));
    expect(profiles[29]).toMatchObject({ firstSeen: at(29), lastSeen: at(30), lastEvent: 'e59' });
  });

  it('rejects invalid activity before writing anything', async () => {
    const bad = [activity('u1', 1, 0), { ...activity('u2', 2, 0), sequenceNumber: 'abc' }];
    await expect(store.applyProfileActivity(bad)).rejects.toMatchObject({
      name: 'HotStoreError',
      code: 'HOT_STORE_INVALID_ACTIVITY',
    });
    await expect(
      store.applyProfileActivity([{ ...activity('u1', 1, 0), timestamp: 'yesterday' }]),
    ).rejects.toThrow(HotStoreError);
    await expect(store.getUser('u1')).resolves.toBeNull();
  });

  it('stays exact when two calls write the same profile at the same time', async () => {
    const shardA = [1, 2, 3, 4, 5].map((n) => activity('u1', n, 10 + n, SHARD_A, `a${n}`));
    const shardB = [1, 2, 3, 4, 5].map((n) => activity('u1', n, n, SHARD_B, `b${n}`));
    await Promise.all([
      store.applyProfileActivity(shardA),
      store.applyProfileActivity(shardB),
      store.applyProfileActivity(shardA.slice(2)),
      store.applyProfileActivity(shardB.slice(0, 3)),
    ]);
    await expect(store.getUser('u1')).resolves.toEqual({
      id: 'u1',
      eventCount: 10,
      firstSeen: at(1),
      lastSeen: at(15),
      lastEvent: 'a5',
    });
  });

  describe('throttling', () => {
    // dynalite never throttles, so the real client gets a middleware that fails the first calls.
    function throttledStore(failures: number, throttleAttempts: number): DynamoDbHotStore {
      const client = DynamoDBDocumentClient.from(localClient());
      let remaining = failures;
      client.middlewareStack.add(
        (next) => async (args) => {
          if (remaining-- > 0) {
            throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
          }
          return next(args);
        },
        { step: 'initialize' },
      );
      return new DynamoDbHotStore({ client, tableName, throttleAttempts, throttleBaseDelayMs: 1 });
    }

    it('retries throttled calls with backoff', async () => {
      await throttledStore(3, 5).applyProfileActivity([activity('u1', 1, 0)]);
      await expect(store.getUser('u1')).resolves.toMatchObject({ eventCount: 1 });
    });

    it('gives up after the bounded attempts with HOT_STORE_THROTTLED', async () => {
      await expect(throttledStore(10, 3).applyProfileActivity([activity('u1', 1, 0)])).rejects.toMatchObject({
        code: 'HOT_STORE_THROTTLED',
        cause: { name: 'ThrottlingException' },
      });
      await expect(store.getUser('u1')).resolves.toBeNull();
    });
  });

  it('wraps unknown SDK errors with their cause', async () => {
    const missing = new DynamoDbHotStore({ client: doc, tableName: 'no-such-table' });
    const error = await missing.applyProfileActivity([activity('u1', 1, 0)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HotStoreError);
    expect((error as HotStoreError).code).toBe('HOT_STORE_FAILED');
    expect(((error as HotStoreError).cause as Error).name).toBe('ResourceNotFoundException');
  });
});

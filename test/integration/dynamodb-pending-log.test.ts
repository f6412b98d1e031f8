import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientEndpoint } from '../../src/aws/clients';
import type { PendingChanges } from '../../src/realtime/pending-changes';
import { DynamoDbHotStore, ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { DynamoDbPendingLog } from '../../src/sinks/hot-tier/dynamodb/dynamodb-pending-log';
import type { HotActivity } from '../../src/sinks/hot-tier/port';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';
import { hotActivity } from '../helpers/hot-activity';

const SHARD_A = 'shardId-000000000000';
const SHARD_B = 'shardId-000000000001';
const pad = (n: number) => String(n).padStart(129, '0');
const RETRY = { attempts: 3, baseDelayMs: 1 };

/** An entry of `n` touches and pairs over random ids (which gzip cannot shrink much), from `from` on. */
function entry(shardId: string, from: number, n: number): PendingChanges {
  const id = () => Math.random().toString(36).slice(2);
  const touches = Array.from({ length: n }, (_, i) => ({
    itemId: id(),
    event: 'product_viewed',
    weightDelta: 1,
    receivedAt: '2026-01-01T00:00:00.000Z',
    shardId,
    sequence: pad(from + i),
  }));
  const pairs = touches.map((t) => ({
    itemId: t.itemId,
    otherId: id(),
    co: 1,
    shardId,
    sequence: t.sequence,
  }));
  return { shardId, sequence: pad(from), touches, pairs };
}

const activity = (profileId: string, n: number, itemId: string, shardId = SHARD_A): HotActivity =>
  hotActivity({
    profileId,
    messageId: `m-${shardId}-${n}`,
    event: 'product_viewed',
    itemIds: [itemId],
    timestamp: '2026-01-01T12:00:00.000Z',
    shardId,
    sequenceNumber: String(1000 + n),
  });

describe('the hot tier pending log on DynamoDB', () => {
  let emulators: TestEmulators;
  let doc: DynamoDBDocumentClient;
  let raw: DynamoDBClient;
  let tableName: string;
  let counter = 0;

  const scan = async () =>
    ((await doc.send(new ScanCommand({ TableName: tableName }))).Items ?? []).sort((a, b) =>
      `${a.pk}/${a.sk}`.localeCompare(`${b.pk}/${b.sk}`),
    );

  beforeAll(async () => {
    emulators = await startTestEmulators('pending-log-');
    doc = emulators.dynamodb;
    raw = new DynamoDBClient({ ...clientEndpoint(emulators.aws.region, emulators.aws.dynamodbEndpoint) });
  });

  afterAll(async () => {
    raw.destroy();
    await emulators.stop();
  });

  beforeEach(async () => {
    tableName = `pending-${++counter}`;
    await ensureHotTable(raw, tableName);
  });

  it('stores a large entry in parts and reads it back whole, oldest first per shard', async () => {
    const log = new DynamoDbPendingLog(doc, tableName, RETRY, 4096);
    const big = entry(SHARD_B, 1, 400);
    const small = entry(SHARD_A, 7, 2);
    await log.append([big, small]);
    const parts = await scan();
    expect(parts.filter((p) => String(p.sk).startsWith(`${SHARD_B}/`)).length).toBeGreaterThan(2);
    expect(parts.every((p) => (p.d as Uint8Array).length <= 4096)).toBe(true);

    const read = await log.read(Number.POSITIVE_INFINITY);
    expect(read.more).toBe(false);
    expect(read.entries.map((e) => [e.shardId, e.sequence])).toEqual([
      [SHARD_A, small.sequence],
      [SHARD_B, big.sequence],
    ]);
    const { handle: _small, ...readSmall } = read.entries[0] ?? { handle: null };
    const { handle: _big, ...readBig } = read.entries[1] ?? { handle: null };
    expect(readSmall).toEqual(small);
    expect(readBig).toEqual(big);

    // Appending the same entry again (a retried batch) writes the same items.
    await log.append([big]);
    expect(await scan()).toEqual(parts);
    await log.remove(read.entries);
    expect(await scan()).toEqual([]);
  });

  it('leaves an entry with a part missing until it is appended whole', async () => {
    const log = new DynamoDbPendingLog(doc, tableName, RETRY, 4096);
    const big = entry(SHARD_A, 1, 300);
    const later = entry(SHARD_B, 1, 3);
    await log.append([big, later]);
    const [first] = await scan();
    // As a crash in the middle of the append leaves it.
    await doc.send(new DeleteCommand({ TableName: tableName, Key: { pk: first?.pk, sk: first?.sk } }));
    const partial = await log.read(Number.POSITIVE_INFINITY);
    expect(partial.entries.map((e) => e.shardId)).toEqual([SHARD_B]);
    // The redelivery appends it again, whole.
    await log.append([big]);
    const whole = await log.read(Number.POSITIVE_INFINITY);
    expect(whole.entries.map((e) => [e.shardId, e.touches.length])).toEqual([
      [SHARD_A, 300],
      [SHARD_B, 3],
    ]);
  });

  it('reads whole entries up to the budget and says when more are pending', async () => {
    const log = new DynamoDbPendingLog(doc, tableName, RETRY, 2048);
    await log.append([entry(SHARD_A, 1, 100), entry(SHARD_A, 200, 100), entry(SHARD_A, 400, 100)]);
    const sequences: string[] = [];
    for (let round = 0; round < 5; round++) {
      const read = await log.read(1);
      sequences.push(...read.entries.map((e) => e.sequence));
      expect(read.entries).toHaveLength(1);
      await log.remove(read.entries);
      if (!read.more) break;
    }
    expect(sequences).toEqual([pad(1), pad(200), pad(400)]);
    expect(await scan()).toEqual([]);
  });

  it('folds in small rounds to the same items and trends as in one', async () => {
    const batches = Array.from({ length: 6 }, (_, b) =>
      Array.from({ length: 5 }, (_, i) =>
        activity(`u${i}`, b * 10 + i, `sku-${(b + i) % 4}`, i % 2 === 0 ? SHARD_A : SHARD_B),
      ),
    );
    const oneGo = new DynamoDbHotStore({ client: doc, tableName });
    for (const batch of batches) await oneGo.applyActivity(batch);
    await expect(oneGo.foldPending()).resolves.toMatchObject({ entries: 12, items: 4, more: false });
    // Items and trends as they read: each round's write bumps their optimistic version.
    const derived = async () =>
      (await scan())
        .filter((item) => /^(ITEM|TREND)#/.test(String(item.pk)))
        .map(({ rev: _rev, ...item }) => item);
    const expected = await derived();
    expect(expected.length).toBeGreaterThan(4);

    tableName = `pending-${++counter}`;
    await ensureHotTable(raw, tableName);
    const rounds = new DynamoDbHotStore({ client: doc, tableName, foldBudgetBytes: 1 });
    for (const batch of batches) await rounds.applyActivity(batch);
    let folds = 0;
    while ((await rounds.foldPending()).more) folds += 1;
    expect(folds).toBe(11);
    expect(await derived()).toEqual(expected);
    expect((await scan()).filter((item) => item.pk === 'PENDING')).toEqual([]);
    await expect(rounds.foldPending()).resolves.toEqual({ entries: 0, items: 0, trends: 0, more: false });
  });
});

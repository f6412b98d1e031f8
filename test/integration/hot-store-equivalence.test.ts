import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { toActivity } from '../../scripts/eval/evaluate';
import { MemoryHotStore } from '../../scripts/eval/memory-hot-store';
import { generateTraffic } from '../../scripts/simulation/generate';
import { createDynamoDbDocumentClient } from '../../src/aws/clients';
import { loadSchemaRegistry } from '../../src/services/schema-files';
import { TREND_WINDOWS } from '../../src/realtime/hot-batch';
import { DynamoDbHotStore, ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import type { HotActivity, HotStore, HotTierFolder } from '../../src/sinks/hot-tier/port';

const SHARDS = ['shardId-000000000000', 'shardId-000000000001'];
const BATCH = 100;
/** Deliveries between two folds. */
const FOLD_EVERY = 3;

/** Folds until nothing is pending. */
async function foldAll(store: HotTierFolder): Promise<void> {
  while ((await store.foldPending()).more);
}

/** Spreads the activity over two shards by profile, as the edge partitions, numbering each shard. */
function acrossShards(activity: readonly HotActivity[]): HotActivity[] {
  const last = new Map<string, number>();
  return activity.map((a) => {
    const hash = [...a.profileId].reduce((sum, ch) => sum + ch.charCodeAt(0), 0);
    const shardId = SHARDS[hash % SHARDS.length] ?? '';
    const sequence = (last.get(shardId) ?? 0) + 1;
    last.set(shardId, sequence);
    return { ...a, shardId, sequenceNumber: String(sequence) };
  });
}

/**
 * The calls a stream consumer makes: batches in order, each retried once from its middle together
 * with the next batch (the overlap must count once), then a client's resend of a batch's
 * messageIds in new records (which must count nothing), and an identify whose traits hold numbers
 * DynamoDB cannot.
 */
function deliveries(activity: readonly HotActivity[]): HotActivity[][] {
  const calls: HotActivity[][] = [];
  for (let start = 0; start < activity.length; start += BATCH) {
    calls.push(activity.slice(Math.max(0, start - BATCH / 2), start + BATCH));
  }
  const resent = activity.slice(0, BATCH).map((a, i) => ({ ...a, sequenceNumber: String(1_000_000 + i) }));
  const first = activity[0] as HotActivity;
  const identify: HotActivity = {
    ...first,
    messageId: 'identify-with-odd-numbers',
    event: 'identify',
    sequenceNumber: String(2_000_000),
    itemIds: [],
    traits: { plan: 'pro', huge: 1e200, tiny: 1e-200, big: 2 ** 60, nested: { score: 1.5 } },
  };
  return [...calls, resent, [identify]];
}

/** Everything GraphQL can read of the hot tier for these profiles, items and events. */
async function readAll(store: HotStore, profiles: string[], items: string[], events: Array<string | null>) {
  return {
    users: await Promise.all(profiles.map((id) => store.getUser(id))),
    items: await Promise.all(items.map((id) => store.getItem(id))),
    neighbours: [...(await store.getNeighbours(items))].sort(([a], [b]) => (a < b ? -1 : 1)),
    trends: await Promise.all(
      events.flatMap((event) => TREND_WINDOWS.map((window) => store.getTrend(event, window))),
    ),
  };
}

jest.setTimeout(120_000);

describe('the evaluation hot store and DynamoDbHotStore', () => {
  let server: Server;
  let dataDir: string;
  let doc: DynamoDBDocumentClient;
  let raw: DynamoDBClient;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'hot-equivalence-'));
    server = dynalite({ path: dataDir, createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    raw = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    doc = createDynamoDbDocumentClient({ aws: { region: 'us-east-1', dynamodbEndpoint: endpoint } });
  });

  afterAll(async () => {
    doc.destroy();
    raw.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('hold the same hot state after the same deliveries of simulated traffic', async () => {
    const { events } = generateTraffic({
      users: 30,
      events: 1_200,
      items: 40,
      seed: 5,
      end: Date.parse('2026-05-04T12:00:00Z'),
    });
    const activity = acrossShards(toActivity(events, loadSchemaRegistry()));
    await ensureHotTable(raw, 'hot');
    const dynamo = new DynamoDbHotStore({ client: doc, tableName: 'hot' });
    const memory = new MemoryHotStore();
    // A fold scores neighbours against the changes it folds together, so both fold at the same
    // points: every few deliveries, which leaves retried batches straddling a fold, and at the end.
    const foldBoth = async () => {
      await foldAll(dynamo);
      await foldAll(memory);
    };
    const calls = deliveries(activity);
    for (const [i, batch] of calls.entries()) {
      await dynamo.applyActivity(batch);
      await memory.applyActivity(batch);
      if (i % FOLD_EVERY === FOLD_EVERY - 1) await foldBoth();
    }
    await foldBoth();

    const profiles = [...new Set(activity.map((a) => a.profileId))];
    const items = [...new Set(activity.flatMap((a) => a.itemIds))];
    const itemEvents = [...new Set(activity.filter((a) => a.itemIds.length > 0).map((a) => a.event))];
    const fromMemory = await readAll(memory, profiles, items, [null, ...itemEvents]);
    const fromDynamo = await readAll(dynamo, profiles, items, [null, ...itemEvents]);

    // The traffic has to exercise every part of the state for the comparison to mean something.
    expect(itemEvents.length).toBeGreaterThanOrEqual(3);
    expect(fromMemory.users.every((user) => user !== null)).toBe(true);
    expect(fromMemory.items.every((item) => item !== null && item.neighbours.length > 0)).toBe(true);
    expect(fromMemory.trends.every((trend) => trend !== null && trend.items.length > 0)).toBe(true);
    const eventCount = fromMemory.users.reduce((sum, user) => sum + (user?.eventCount ?? 0), 0);
    expect(eventCount).toBe(activity.length + 1);
    expect(fromMemory.users.find((user) => user?.traits.plan === 'pro')?.traits).toMatchObject({
      huge: '1e+200',
      big: '1152921504606847000',
    });

    // Profiles this long are stored as a head joined to a base (profile-items.ts).
    const stored = (await doc.send(new ScanCommand({ TableName: 'hot' }))).Items ?? [];
    expect(stored.filter((item) => String(item.sk).startsWith('PROFILE#')).length).toBeGreaterThan(
      profiles.length / 2,
    );

    expect(fromDynamo).toEqual(fromMemory);
    // Both folded everything they were handed.
    for (const store of [dynamo, memory]) {
      expect(await store.foldPending()).toEqual({ entries: 0, items: 0, trends: 0, more: false });
    }
  });
});

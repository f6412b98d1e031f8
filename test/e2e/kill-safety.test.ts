import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { gql } from '../helpers/graphql-client';
import { startMainProcess, type MainProcess } from '../helpers/main-process';
import { faultSeed, seededRandom } from '../helpers/seeded-random';

jest.setTimeout(120_000);

const API_KEY = 'kill-safety-key-1';
const USERS = 8;
const ITEMS = 12;
const KILLS = 3;
const EVENTS_PER_REQUEST = 10;
const SENDERS = 2;
const SENTINEL = 'kill_safety_sentinel';
// Small batches, a busy loader and a busy fold, so a kill lands in every step: reading,
// delivering to the lake, writing the hot tier, folding items, checkpointing, loading the
// warehouse. No daily cap per user and item, so an item counts every view the stream delivered.
const ENV = {
  TRIBUTARY_POLLER_BATCH_SIZE: '50',
  TRIBUTARY_POLLER_BATCH_WINDOW_MS: '10',
  TRIBUTARY_LAKE_FLUSH_INTERVAL_MS: '10',
  TRIBUTARY_LOADER_INTERVAL_MS: '100',
  TRIBUTARY_HOT_FOLD_INTERVAL_MS: '50',
  TRIBUTARY_ITEM_COUNTS_PER_USER: '1000',
};
const TRACK = `mutation($events: [TrackEventInput!]!) {
  trackEvents(events: $events) { results { messageId status } }
}`;
const USER = `query($id: ID!) { user(id: $id) { eventCount counts { event count } } }`;
const ITEM = `query($id: ID!) { item(id: $id) { stats { total } } }`;

type TrackResponse = { trackEvents: { results: Array<{ messageId: string; status: string }> } };
type UserResponse = { user: { eventCount: number; counts: Array<{ event: string; count: number }> } | null };
type ItemResponse = { item: { stats: { total: number } } | null };
type SentEvent = { event: string; userId: string; messageId: string; properties?: { product_id: string } };

const userIds = Array.from({ length: USERS }, (_, u) => `killed-${u}`);

describe('npm start killed with SIGKILL while it works', () => {
  let dataDir: string;
  let running: MainProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-kill-'));
  });

  afterAll(async () => {
    if (running?.child.exitCode === null) running.child.kill('SIGKILL');
    await running?.exited;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('loses no acknowledged event and counts none twice, in the warehouse and the hot tier', async () => {
    const seed = faultSeed();
    const random = seededRandom(seed);
    /** Every event acknowledged ACCEPTED, by messageId, with its user. */
    const acknowledged = new Map<string, string>();
    let sequence = 0;

    const track = async (url: string, events: SentEvent[]) => {
      const response = await gql<TrackResponse>(url, TRACK, { events }, API_KEY);
      for (const result of response.data?.trackEvents.results ?? []) {
        const sent = events.find((e) => e.messageId === result.messageId);
        if (result.status === 'ACCEPTED' && sent) acknowledged.set(result.messageId, sent.userId);
      }
    };

    for (let kill = 0; kill < KILLS; kill++) {
      running = startMainProcess(dataDir, API_KEY, ENV);
      const url = await running.url;
      let killed = false;
      const sender = async () => {
        while (!killed) {
          const events = Array.from({ length: EVENTS_PER_REQUEST }, () => ({
            event: 'product_viewed',
            userId: userIds[Math.floor(random() * USERS)] ?? 'killed-0',
            messageId: `kill-${seed}-${++sequence}`,
            properties: { product_id: `sku-${Math.floor(random() * ITEMS)}` },
          }));
          // A request the kill cuts short is unacknowledged: its events may or may not be on the stream.
          await track(url, events).catch(() => undefined);
        }
      };
      const senders = Array.from({ length: SENDERS }, sender);
      await sleep(300 + random() * 1000);
      running.child.kill('SIGKILL');
      killed = true;
      expect(await running.exited).toBeNull();
      await Promise.all(senders);
    }
    expect(acknowledged.size).toBeGreaterThan(0);

    // A last event per user, acknowledged after every kill: each user's events share a shard (the
    // user is the partition key), so once a user's sentinel is counted, everything before it on
    // that shard has been processed.
    running = startMainProcess(dataDir, API_KEY, ENV);
    const url = await running.url;
    await track(
      url,
      userIds.map((userId) => ({ event: SENTINEL, userId, messageId: `sentinel-${seed}-${userId}` })),
    );
    for (const userId of userIds) expect(acknowledged.get(`sentinel-${seed}-${userId}`)).toBe(userId);
    const hotCounts = new Map<string, number>();
    for (const userId of userIds) {
      let user: UserResponse['user'] = null;
      for (let attempt = 0; attempt < 300; attempt++) {
        user = (await gql<UserResponse>(url, USER, { id: userId }, API_KEY)).data?.user ?? null;
        if (user?.counts.some((c) => c.event === SENTINEL)) break;
        await sleep(100);
      }
      expect(user?.counts.find((c) => c.event === SENTINEL)?.count).toBe(1);
      hotCounts.set(userId, user?.eventCount ?? 0);
    }
    // Ctrl-C: flushes, checkpoints and loads the warehouse one last time.
    running.child.kill('SIGINT');
    expect(await running.exited).toBe(0);

    const instance = await DuckDBInstance.create(path.join(dataDir, 'warehouse.duckdb'), {
      access_mode: 'READ_ONLY',
    });
    const itemViews = new Map<string, number>();
    try {
      const connection = await instance.connect();
      const reader = await connection.runAndReadAll(
        'SELECT message_id, user_id, item_id, count(*) OVER (PARTITION BY message_id) AS copies FROM events',
      );
      const rows = reader.getRowObjectsJS() as Array<{
        message_id: string;
        user_id: string;
        item_id: string | null;
        copies: bigint;
      }>;
      connection.closeSync();
      for (const row of rows) {
        if (row.item_id !== null) itemViews.set(row.item_id, (itemViews.get(row.item_id) ?? 0) + 1);
      }
      const inWarehouse = new Map(rows.map((row) => [row.message_id, row.user_id]));
      expect(rows.filter((row) => Number(row.copies) !== 1)).toEqual([]);
      const missing = [...acknowledged.keys()].filter((id) => !inWarehouse.has(id));
      expect(missing).toEqual([]);
      // The hot tier counts each delivered event once: the acknowledged ones, and those the stream
      // took from a request the kill cut short.
      for (const userId of userIds) {
        const delivered = [...inWarehouse.values()].filter((id) => id === userId).length;
        expect({ userId, eventCount: hotCounts.get(userId) }).toEqual({ userId, eventCount: delivered });
      }
    } finally {
      instance.closeSync();
    }

    // Items count each delivered view once too, whatever folds the kills cut short: the stack
    // folds what is pending when it starts.
    expect(itemViews.size).toBeGreaterThan(0);
    running = startMainProcess(dataDir, API_KEY, ENV);
    const again = await running.url;
    const itemTotals = async () =>
      new Map(
        await Promise.all(
          [...itemViews.keys()].map(
            async (id) =>
              [
                id,
                (await gql<ItemResponse>(again, ITEM, { id }, API_KEY)).data?.item?.stats.total ?? 0,
              ] as const,
          ),
        ),
      );
    let totals = await itemTotals();
    for (let attempt = 0; attempt < 100 && !sameCounts(totals, itemViews); attempt++) {
      await sleep(100);
      totals = await itemTotals();
    }
    expect(Object.fromEntries(totals)).toEqual(Object.fromEntries(itemViews));
    running.child.kill('SIGINT');
    expect(await running.exited).toBe(0);
  });
});

function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  return a.size === b.size && [...a].every(([key, value]) => b.get(key) === value);
}

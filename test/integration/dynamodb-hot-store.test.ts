import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DeleteTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createDynamoDbDocumentClient } from '../../src/aws/clients';
import {
  DynamoDbHotStore,
  ensureHotTable,
  hotTableDefinition,
} from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { HotStoreError } from '../../src/sinks/hot-tier/errors';
import type { HotActivity, HotTierFailure, UserProfileRecord } from '../../src/sinks/hot-tier/port';

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

interface Options {
  shardId?: string;
  event?: string;
  itemIds?: string[];
  messageId?: string;
  traits?: Record<string, unknown> | null;
}

function activity(profileId: string, n: number, minute: number, options: Options = {}): HotActivity {
  const shardId = options.shardId ?? SHARD_A;
  return {
    profileId,
    messageId: options.messageId ?? `m-${shardId}-${n}`,
    event: options.event ?? `e${n}`,
    timestamp: at(minute),
    receivedAt: at(minute),
    shardId,
    sequenceNumber: seq(n),
    itemIds: options.itemIds ?? [],
    traits: options.traits ?? null,
    userId: profileId,
    anonymousId: null,
    previousId: null,
    mergesUsers: false,
    isBot: false,
  };
}

/**
 * A user's session: each step an event with its item, or with several (an order's products), at
 * consecutive minutes and sequence numbers.
 */
function session(
  profileId: string,
  from: number,
  steps: Array<[string, string | string[]]>,
  shardId = SHARD_A,
) {
  return steps.map(([event, items], i) =>
    activity(profileId, from + i, i, {
      event,
      itemIds: typeof items === 'string' ? [items] : items,
      shardId,
    }),
  );
}

jest.setTimeout(20_000);

describe('DynamoDbHotStore', () => {
  let server: Server;
  let dataDir: string;
  let endpoint: string;
  let raw: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  let tableCounter = 0;
  let tableName: string;
  let store: DynamoDbHotStore;

  const localDoc = () =>
    DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );

  /**
   * Everything in the table except the TTLs of claims, profiles and identities, which depend on the
   * clock: the state to compare.
   */
  async function snapshot(): Promise<unknown[]> {
    const items = (await doc.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
    return items
      .map((item) => (/^(MSG|USER)#/.test(String(item.pk)) ? { ...item, ttl: undefined } : item))
      .sort((a, b) => `${a.pk}/${a.sk}`.localeCompare(`${b.pk}/${b.sk}`));
  }

  /** Folds everything pending, as the scheduled fold would by the time anyone reads. */
  async function foldAll(target: DynamoDbHotStore = store): Promise<void> {
    while ((await target.foldPending()).more);
  }

  /** Applies a batch and folds its item and trend changes in. */
  async function settle(batch: HotActivity[], target: DynamoDbHotStore = store): Promise<void> {
    await target.applyActivity(batch);
    await foldAll(target);
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'hot-store-'));
    server = dynalite({ path: dataDir, createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    endpoint = `http://127.0.0.1:${port}`;
    raw = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    // The document client the stack and the Lambdas use, with their marshalling options.
    doc = createDynamoDbDocumentClient({ aws: { region: 'us-east-1', dynamodbEndpoint: endpoint } });
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

  describe('profiles', () => {
    it('returns null for an unknown profile', async () => {
      await expect(store.getUser('nobody')).resolves.toBeNull();
    });

    it('aggregates counts, first/last seen, last event and traits over profiles and shards', async () => {
      await store.applyActivity([
        activity('u1', 1, 0, { event: 'page' }),
        activity('u2', 2, 1, { event: 'signup' }),
        activity('u1', 3, 5, { event: 'click' }),
        activity('u1', 1, 2, { shardId: SHARD_B, event: 'identify', traits: { plan: 'pro', age: 41 } }),
        activity('u2', 2, 9, { shardId: SHARD_B, event: 'logout' }),
      ]);
      await expect(store.getUser('u1')).resolves.toMatchObject({
        id: 'u1',
        eventCount: 3,
        counts: { page: 1, click: 1, identify: 1 },
        firstSeen: at(0),
        lastSeen: at(5),
        lastEvent: 'click',
        traits: { plan: 'pro', age: 41 },
      });
      await expect(store.getUser('u2')).resolves.toMatchObject({ eventCount: 2, lastEvent: 'logout' });
    });

    it('reads profiles in the layouts written before heads, and writes a head at their next write', async () => {
      const key = { pk: 'USER#u1', sk: 'PROFILE' };
      const read = async () =>
        (await doc.send(new GetCommand({ TableName: tableName, Key: key }))).Item ?? {};
      await store.applyActivity([activity('u1', 1, 0, { event: 'page' })]);
      const { h, ...meta } = await read();
      expect(h).toBeInstanceOf(Uint8Array);
      const { wm } = JSON.parse(gunzipSync(h as Uint8Array).toString('utf8')) as {
        wm: Record<string, string>;
      };
      const { id: _id, ...state } = (await store.getUser('u1')) as UserProfileRecord;
      const layouts = {
        // The state gzip'd whole in `s`, watermarks beside it.
        packed: { ...meta, wm, s: gzipSync(JSON.stringify(state)) },
        // Before that: the state's fields as the item's own attributes.
        attributes: { ...meta, wm, ...state },
      };
      let n = 1;
      for (const earlier of Object.values(layouts)) {
        await doc.send(new PutCommand({ TableName: tableName, Item: earlier }));
        await expect(store.getUser('u1')).resolves.toEqual({ ...state, id: 'u1' });
        n += 1;
        await store.applyActivity([activity('u1', n, n, { event: 'page' })]);
        const rewritten = await read();
        expect(rewritten.h).toBeInstanceOf(Uint8Array);
        expect(rewritten.s).toBeUndefined();
        expect(rewritten.eventCount).toBeUndefined();
        await expect(store.getUser('u1')).resolves.toMatchObject({ eventCount: 2, counts: { page: 2 } });
      }
    });

    it('stores names of Object.prototype members, and trait numbers DynamoDB cannot hold as text', async () => {
      await store.applyActivity([
        activity('u1', 1, 0, { event: 'constructor', itemIds: ['i1'] }),
        activity('u1', 2, 0, { event: 'toString', itemIds: ['i1'] }),
        activity('u1', 3, 1, {
          event: 'identify',
          traits: { constructor: 'x', plan: 'pro', score: 1.5, big: 2 ** 60, huge: 1e200, tiny: 1e-200 },
        }),
      ]);
      await foldAll();
      const user = await store.getUser('u1');
      expect(user?.counts).toEqual({ constructor: 1, toString: 1, identify: 1 });
      expect(user?.traits).toEqual({
        constructor: 'x',
        plan: 'pro',
        score: 1.5,
        big: '1152921504606847000',
        huge: '1e+200',
        tiny: '1e-200',
      });
      expect((await store.getItem('i1'))?.stats.counts).toEqual({ constructor: 1, toString: 1 });
    });

    it('fails in a way the stream processor knows not to retry when DynamoDB refuses the data', async () => {
      // A profile id past DynamoDB's 2 KB partition key: no retry can ever write it.
      const huge = activity('x'.repeat(3000), 1, 0, { event: 'product_viewed' });
      const error: unknown = await store.applyActivity([huge]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HotStoreError);
      expect(error).toMatchObject({ code: 'HOT_STORE_REFUSED_DATA', cause: { name: 'ValidationException' } });
    });

    it('refuses an item id no fold could key before writing anything', async () => {
      // Items are written by the fold, after the batch: an id DynamoDB cannot key must not get that far.
      const huge = activity('u1', 1, 0, { event: 'product_viewed', itemIds: ['x'.repeat(1025)] });
      await expect(store.applyActivity([huge])).rejects.toMatchObject({ code: 'HOT_STORE_INVALID_ACTIVITY' });
      expect(await snapshot()).toEqual([]);
      // 1,024 bytes is taken, in multi-byte characters too.
      await settle([activity('u1', 2, 0, { event: 'product_viewed', itemIds: ['é'.repeat(512)] })]);
      await expect(store.getItem('é'.repeat(512))).resolves.toMatchObject({ stats: { weight: 1 } });
    });

    describe('at its trait caps', () => {
      /** 23 identifies of 20 new traits of 900 bytes each: about 414 KB of traits in all. */
      const identifies = () =>
        Array.from({ length: 23 }, (_, round) =>
          activity('u1', round + 1, round, {
            event: 'identify',
            traits: Object.fromEntries(
              Array.from({ length: 20 }, (_, k) => [`t${round}_${k}`, 'v'.repeat(900)]),
            ),
          }),
        );

      it('stays under the caps, counts every identify and reports the traits it dropped', async () => {
        const reported: HotTierFailure[] = [];
        const report = async (failures: readonly HotTierFailure[]) => {
          reported.push(...failures);
        };
        for (const identify of identifies()) await store.applyActivity([identify], report);
        await store.applyActivity([{ ...activity('u1', 24, 30), event: 'page_viewed' }], report);
        // A redelivery changes and reports nothing.
        await store.applyActivity(identifies(), report);

        const user = await store.getUser('u1');
        expect(user?.eventCount).toBe(24);
        expect(user?.counts).toEqual({ identify: 23, page_viewed: 1 });
        expect(Buffer.byteLength(JSON.stringify(user?.traits))).toBeLessThanOrEqual(16 * 1024);
        expect(Object.keys(user?.traits ?? {})).toHaveLength(17);
        expect(reported.map((f) => f.messageId)).toEqual(identifies().map((a) => a.messageId));
        expect(reported.every((f) => f.failureType === 'profile_limit')).toBe(true);
        expect(reported[1]?.errors.map((e) => e.message)).toContain(
          'trait "t1_0" not kept: the profile keeps 16384 bytes of traits',
        );
      });

      it('takes configured caps, and without caps the same identifies outgrow the item', async () => {
        const small = new DynamoDbHotStore({ client: doc, tableName, profileLimits: { traitKeys: 5 } });
        await small.applyActivity(identifies().slice(0, 2));
        expect(Object.keys((await small.getUser('u1'))?.traits ?? {})).toEqual([
          't0_0',
          't0_1',
          't0_2',
          't0_3',
          't0_4',
        ]);

        const uncapped = new DynamoDbHotStore({
          client: doc,
          tableName,
          profileLimits: { traitKeys: 1e6, traitBytes: 1e9 },
        });
        // Random values, which gzip cannot shrink much: the stored state is compressed.
        const other = identifies().map((a) => ({
          ...a,
          profileId: 'u2',
          messageId: `u2-${a.messageId}`,
          traits: Object.fromEntries(
            Object.keys(a.traits ?? {}).map((k) => [k, randomBytes(1350).toString('base64')]),
          ),
        }));
        const error: unknown = await (async () => {
          for (const identify of other) await uncapped.applyActivity([identify]);
        })().catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'HOT_STORE_REFUSED_DATA' });
      });
    });

    it('splits sessions after 30 minutes of inactivity and joins them when a late event bridges the gap', async () => {
      await store.applyActivity([activity('u1', 1, 0), activity('u1', 2, 20), activity('u1', 3, 70)]);
      const before = await store.getUser('u1');
      expect(before?.sessionCount).toBe(2);
      expect(before?.sessions).toEqual([
        { start: at(0), end: at(20), events: 2 },
        { start: at(70), end: at(70), events: 1 },
      ]);
      await store.applyActivity([activity('u1', 4, 45)]);
      const after = await store.getUser('u1');
      expect(after?.sessionCount).toBe(1);
      expect(after?.sessions).toEqual([{ start: at(0), end: at(70), events: 4 }]);
    });

    it('keeps recent events newest first, by event time', async () => {
      await store.applyActivity([activity('u1', 1, 30), activity('u1', 2, 10, { itemIds: ['i1'] })]);
      await store.applyActivity([activity('u1', 3, 20)]);
      const user = await store.getUser('u1');
      expect(user?.recentEvents.map((e) => [e.event, e.itemId, e.timestamp])).toEqual([
        ['e1', null, at(30)],
        ['e3', null, at(20)],
        ['e2', 'i1', at(10)],
      ]);
      expect(user).toMatchObject({ firstSeen: at(10), lastSeen: at(30), lastEvent: 'e1' });
    });

    it('rejects invalid activity before writing anything', async () => {
      const bad = [activity('u1', 1, 0), { ...activity('u2', 2, 0), sequenceNumber: 'abc' }];
      await expect(store.applyActivity(bad)).rejects.toMatchObject({
        name: 'HotStoreError',
        code: 'HOT_STORE_INVALID_ACTIVITY',
      });
      await expect(
        store.applyActivity([{ ...activity('u1', 1, 0), timestamp: 'yesterday' }]),
      ).rejects.toThrow(HotStoreError);
      expect(await snapshot()).toEqual([]);
    });
  });

  describe('items, neighbours and trending', () => {
    it('counts item events, weights purchases above views and finds co-occurring items', async () => {
      await settle([
        ...session('u1', 1, [
          ['product_viewed', 'a'],
          ['product_viewed', 'b'],
          ['order_completed', 'b'],
        ]),
        ...session('u2', 10, [
          ['product_viewed', 'a'],
          ['product_added_to_cart', 'b'],
          ['product_viewed', 'c'],
        ]),
      ]);
      const a = await store.getItem('a');
      expect(a?.stats).toEqual({ counts: { product_viewed: 2 }, weight: 2 });
      const b = await store.getItem('b');
      // u1 bought b (weight 5), u2 carted it (weight 3); the view is absorbed by the purchase.
      expect(b?.stats).toEqual({
        counts: { product_viewed: 1, order_completed: 1, product_added_to_cart: 1 },
        weight: 8,
      });
      expect(a?.neighbours.map((n) => [n.id, n.co])).toEqual([
        ['b', 2],
        ['c', 1],
      ]);
      expect(a?.neighbours[0]?.score).toBeGreaterThan(a?.neighbours[1]?.score ?? Infinity);
      const neighbours = await store.getNeighbours(['a', 'c', 'unknown']);
      expect([...neighbours.keys()].sort()).toEqual(['a', 'c']);
      await expect(store.getItem('unknown')).resolves.toBeNull();
    });

    it('keeps a trend per event and for every item event, in both windows', async () => {
      await settle([
        ...session('u1', 1, [
          ['product_viewed', 'a'],
          ['product_viewed', 'b'],
          ['order_completed', 'b'],
        ]),
        activity('u2', 10, 1, { event: 'product_viewed', itemIds: ['b'] }),
      ]);
      const views = await store.getTrend('product_viewed', 'HOUR');
      expect(views?.items.map((i) => [i.id, i.c])).toEqual([
        ['b', 2],
        ['a', 1],
      ]);
      const all = await store.getTrend(null, 'DAY');
      expect(all?.items.map((i) => [i.id, i.c])).toEqual([
        ['b', 3],
        ['a', 1],
      ]);
      await expect(store.getTrend('order_completed', 'HOUR')).resolves.toMatchObject({
        items: [expect.objectContaining({ id: 'b', c: 1 })],
      });
    });
  });

  describe('an order listing several products', () => {
    // u1 viewed a, then ordered a and b (b on two lines); u2 bought b on its own.
    const orders = (): HotActivity[] => [
      ...session('u1', 1, [
        ['product_viewed', 'a'],
        ['order_completed', ['a', 'b', 'b']],
      ]),
      activity('u2', 1, 3, { shardId: SHARD_B, event: 'product_purchased', itemIds: ['b'] }),
    ];

    it('is one event for the profile and a purchase of each product', async () => {
      await settle(orders());
      const u1 = await store.getUser('u1');
      expect(u1).toMatchObject({
        eventCount: 2,
        counts: { product_viewed: 1, order_completed: 1 },
        sessionCount: 1,
        sessions: [{ start: at(0), end: at(1), events: 2 }],
        lastEvent: 'order_completed',
      });
      expect(u1?.recentEvents.map((e) => [e.event, e.itemId])).toEqual([
        ['order_completed', null],
        ['product_viewed', 'a'],
      ]);
      expect([...(u1?.purchased ?? [])].sort()).toEqual(['a', 'b']);
      expect(u1?.recentItems.map((i) => [i.id, i.weight]).sort()).toEqual([
        ['a', 5],
        ['b', 5],
      ]);

      const a = await store.getItem('a');
      const b = await store.getItem('b');
      expect(a?.stats).toEqual({ counts: { product_viewed: 1, order_completed: 1 }, weight: 5 });
      // Two lines of b in one order are one purchase; u2's purchase is another.
      expect(b?.stats).toEqual({ counts: { order_completed: 1, product_purchased: 1 }, weight: 10 });
      expect(a?.neighbours).toEqual([expect.objectContaining({ id: 'b', co: 5 })]);
      expect(b?.neighbours).toEqual([expect.objectContaining({ id: 'a', co: 5 })]);

      const ordered = await store.getTrend('order_completed', 'HOUR');
      expect(ordered?.items.map((i) => [i.id, i.c]).sort()).toEqual([
        ['a', 1],
        ['b', 1],
      ]);
      const all = await store.getTrend(null, 'DAY');
      expect(all?.items.map((i) => [i.id, i.c]).sort()).toEqual([
        ['a', 2],
        ['b', 2],
      ]);
    });

    it('changes nothing when the batch is replayed or its messageIds are resent later', async () => {
      await settle(orders());
      const before = await snapshot();
      await settle(orders());
      await settle(orders().slice(1));
      expect(await snapshot()).toEqual(before);
      const resent = orders().map((a, i) => ({ ...a, sequenceNumber: seq(100 + i) }));
      await settle(resent);
      expect(await snapshot()).toEqual(before);
      await expect(store.getUser('u1')).resolves.toMatchObject({ eventCount: 2 });
    });
  });

  describe('idempotency', () => {
    // u1's order lists two products, so one record writes several item keys and trend entries.
    const traffic = (): HotActivity[] => [
      ...session('u1', 1, [
        ['product_viewed', 'a'],
        ['product_viewed', 'b'],
        ['order_completed', ['b', 'c']],
      ]),
      ...session(
        'u2',
        1,
        [
          ['product_viewed', 'a'],
          ['product_added_to_cart', 'b'],
          ['identify', []],
        ],
        SHARD_B,
      ).map((a) => (a.event === 'identify' ? { ...a, traits: { vip: true } } : a)),
    ];

    it('changes nothing when the same batch is applied twice, in any order', async () => {
      await settle(traffic());
      const before = await snapshot();
      await settle(traffic());
      await settle(traffic().reverse());
      expect(await snapshot()).toEqual(before);
      // Replayed before the first was folded: the fold takes each change once.
      tableName = `hot-${++tableCounter}`;
      await ensureHotTable(raw, tableName);
      const twice = new DynamoDbHotStore({ client: doc, tableName });
      await twice.applyActivity(traffic());
      await twice.applyActivity(traffic());
      await foldAll(twice);
      expect(await snapshot()).toEqual(before);
    });

    it('counts each record once when a retry starts in the middle and brings new records', async () => {
      const all = session('u1', 1, [
        ['product_viewed', 'a'],
        ['product_viewed', 'b'],
        ['product_viewed', 'c'],
        ['product_viewed', 'd'],
      ]);
      await store.applyActivity(all);
      const reference = await snapshot();
      await store.applyActivity(all.slice(0, 2).map((a) => ({ ...a, profileId: 'u9' })));
      // Same records for u9, delivered in two overlapping batches.
      await store.applyActivity(all.slice(1).map((a) => ({ ...a, profileId: 'u9' })));
      const u1 = await store.getUser('u1');
      const u9 = await store.getUser('u9');
      expect({ ...u9, id: 'u1' }).toEqual(u1);
      expect(reference.length).toBeGreaterThan(0);
    });

    it('drops a resent messageId carried by a new stream record, but not a redelivery of the original', async () => {
      await settle(traffic());
      const before = await snapshot();
      // A client resend: same messageIds, new records further down the stream.
      const resend = traffic().map((a) => ({
        ...a,
        sequenceNumber: seq(Number(a.sequenceNumber.slice(-3)) + 500),
      }));
      await settle(resend);
      expect(await snapshot()).toEqual(before);
      await expect(store.getUser('u1')).resolves.toMatchObject({ eventCount: 3 });
    });

    /** A client whose process "crashes" at the `after`+1-th call of one of `commands`. */
    function crashingClient(commands: readonly string[], after: number): DynamoDBDocumentClient {
      const client = localDoc();
      let remaining = after;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (commands.includes(context.commandName ?? '') && remaining-- <= 0) {
            throw Object.assign(new Error('process crashed'), { name: 'InjectedCrash' });
          }
          return next(args);
        },
        { step: 'build' },
      );
      return client;
    }

    async function referenceSnapshot(): Promise<unknown[]> {
      await settle(traffic(), new DynamoDbHotStore({ client: doc, tableName }));
      const expected = await snapshot();
      tableName = `hot-${++tableCounter}`;
      await ensureHotTable(raw, tableName);
      return expected;
    }

    // The batch: a BatchWriteItem of the pending log, then a PutItem per profile and identity (4): a
    // crash after 2 leaves some profiles written, and the redelivery appends only the others'
    // changes, beside the whole batch's.
    describe.each([
      ['folded before the redelivery', true],
      ['still pending at the redelivery', false],
    ])('with what the crashed batch appended %s', (_, foldFirst) => {
      it.each([0, 1, 2, 3, 4])(
        'recovers exactly from a crash in the batch after %i writes',
        async (calls) => {
          const expected = await referenceSnapshot();
          const client = crashingClient(['BatchWriteItemCommand', 'PutItemCommand'], calls);
          const crashing = new DynamoDbHotStore({ client, tableName, concurrency: 1 });
          await expect(crashing.applyActivity(traffic())).rejects.toThrow(HotStoreError);
          client.destroy();
          if (foldFirst) await foldAll(new DynamoDbHotStore({ client: doc, tableName }));
          await settle(traffic(), new DynamoDbHotStore({ client: doc, tableName }));
          expect(await snapshot()).toEqual(expected);
        },
      );
    });

    it('takes each change once when a redelivery appends part of a batch beside the whole', async () => {
      // One shard, as a Lambda batch is: the crash leaves u1's profile written, so the redelivery's
      // entry holds only u2's changes, at the same position as the whole batch's entry.
      const oneShard = traffic().map((a) =>
        a.shardId === SHARD_B
          ? { ...a, shardId: SHARD_A, sequenceNumber: seq(Number(a.sequenceNumber.slice(-2)) + 10) }
          : a,
      );
      await settle(oneShard, new DynamoDbHotStore({ client: doc, tableName }));
      const expected = await snapshot();
      tableName = `hot-${++tableCounter}`;
      await ensureHotTable(raw, tableName);

      const client = crashingClient(['BatchWriteItemCommand', 'PutItemCommand'], 2);
      await expect(
        new DynamoDbHotStore({ client, tableName, concurrency: 1 }).applyActivity(oneShard),
      ).rejects.toThrow(HotStoreError);
      client.destroy();
      const recovered = new DynamoDbHotStore({ client: doc, tableName });
      await recovered.applyActivity(oneShard);
      const pending = (await snapshot()).filter((item) => (item as { pk: string }).pk === 'PENDING');
      expect(pending).toHaveLength(2);
      await foldAll(recovered);
      expect(await snapshot()).toEqual(expected);
    });

    // The fold: 11 PutItems (items a, b, c; 8 trends: 3 events and every item event, 2 windows),
    // then a BatchWriteItem removing the folded entries.
    it.each([0, 3, 6, 10, 11])(
      'recovers exactly from a crash in the fold after %i of its writes',
      async (writes) => {
        const expected = await referenceSnapshot();
        await new DynamoDbHotStore({ client: doc, tableName }).applyActivity(traffic());
        const client = crashingClient(['PutItemCommand', 'BatchWriteItemCommand'], writes);
        const crashing = new DynamoDbHotStore({ client, tableName, concurrency: 1 });
        await expect(crashing.foldPending()).rejects.toThrow(HotStoreError);
        client.destroy();
        // The batch may be redelivered too, before the fold runs again.
        await settle(traffic(), new DynamoDbHotStore({ client: doc, tableName }));
        expect(await snapshot()).toEqual(expected);
      },
    );

    it('stays exact when shards and their redeliveries write the same keys at the same time', async () => {
      const shardA = session('u1', 1, [
        ['product_viewed', 'a'],
        ['product_viewed', 'b'],
      ]);
      const shardB = session(
        'u2',
        1,
        [
          ['product_viewed', 'a'],
          ['product_viewed', 'b'],
        ],
        SHARD_B,
      );
      await Promise.all([
        store.applyActivity(shardA),
        store.applyActivity(shardB),
        store.applyActivity(shardA),
        store.applyActivity(shardB),
      ]);
      // Two folds at once, as a slow scheduled fold and the next one might.
      await Promise.all([
        store.foldPending(),
        new DynamoDbHotStore({ client: doc, tableName }).foldPending(),
      ]);
      await foldAll();
      const a = await store.getItem('a');
      expect(a?.stats).toEqual({ counts: { product_viewed: 2 }, weight: 2 });
      expect(a?.neighbours).toEqual([expect.objectContaining({ id: 'b', co: 2 })]);
      await expect(store.getTrend(null, 'HOUR')).resolves.toMatchObject({
        items: expect.arrayContaining([expect.objectContaining({ id: 'a', c: 2 })]),
      });
    });
  });

  describe('DynamoDB limits', () => {
    it('reads and writes more than 100 keys in one call', async () => {
      // 130 claims and profiles: two BatchGets of claims and profiles, six BatchWrites of claims.
      const batch = Array.from({ length: 130 }, (_, i) =>
        activity(`p${i}`, i, i % 50, { event: 'product_viewed', itemIds: [`sku-${i % 3}`] }),
      );
      await store.applyActivity(batch);
      await store.applyActivity(batch.slice(100));
      await foldAll();
      const profiles = await Promise.all(batch.map((a) => store.getUser(a.profileId)));
      expect(profiles.map((p) => p?.eventCount)).toEqual(Array(130).fill(1));
      const item = await store.getItem('sku-1');
      expect(item?.stats).toEqual({ counts: { product_viewed: 43 }, weight: 43 });
      const ids = Array.from({ length: 120 }, (_, i) => `sku-${i}`);
      expect([...(await store.getNeighbours(ids)).keys()].sort()).toEqual(['sku-0', 'sku-1', 'sku-2']);
    });

    it('retries keys and items that DynamoDB leaves unprocessed', async () => {
      const client = localDoc();
      let injected = 0;
      // dynalite processes every key, so half of each batch request is sent and the rest is handed
      // back as unprocessed, the way DynamoDB does under load.
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { RequestItems?: Record<string, { Keys: unknown[] } | unknown[]> };
          const requests = input.RequestItems?.[tableName];
          const list = Array.isArray(requests) ? requests : requests?.Keys;
          if (
            !context.commandName?.startsWith('Batch') ||
            requests === undefined ||
            !list ||
            list.length < 2
          ) {
            return next(args);
          }
          injected++;
          const half = Math.ceil(list.length / 2);
          const part = (items: unknown[]) => (Array.isArray(requests) ? items : { ...requests, Keys: items });
          const result = await next({
            ...args,
            input: { RequestItems: { [tableName]: part(list.slice(0, half)) } },
          });
          const output = result.output as Record<string, unknown>;
          output[Array.isArray(requests) ? 'UnprocessedItems' : 'UnprocessedKeys'] = {
            [tableName]: part(list.slice(half)),
          };
          return result;
        },
        { step: 'serialize', priority: 'high' },
      );
      const flaky = new DynamoDbHotStore({ client, tableName, throttleAttempts: 10, throttleBaseDelayMs: 1 });
      const batch = Array.from({ length: 40 }, (_, i) =>
        activity(`p${i}`, i, 0, { itemIds: [`sku-${i % 7}`] }),
      );
      await flaky.applyActivity(batch);
      await foldAll(flaky);
      expect(injected).toBeGreaterThan(2);
      const profiles = await Promise.all(batch.map((a) => flaky.getUser(a.profileId)));
      expect(profiles.every((p) => p?.eventCount === 1)).toBe(true);
      const all = await store.getTrend(null, 'HOUR');
      expect(all?.items.reduce((sum, i) => sum + i.c, 0)).toBe(40);
      client.destroy();
    });
  });

  describe('throttling', () => {
    // dynalite never throttles, so the real client gets a middleware that fails the first calls.
    function throttledStore(failures: number, throttleAttempts: number): DynamoDbHotStore {
      const client = localDoc();
      let remaining = failures;
      client.middlewareStack.add(
        (next) => async (args) => {
          if (remaining-- > 0)
            throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
          return next(args);
        },
        { step: 'initialize' },
      );
      return new DynamoDbHotStore({ client, tableName, throttleAttempts, throttleBaseDelayMs: 1 });
    }

    it('retries throttled calls with backoff', async () => {
      await throttledStore(3, 5).applyActivity([activity('u1', 1, 0)]);
      await expect(store.getUser('u1')).resolves.toMatchObject({ eventCount: 1 });
    });

    it('gives up after the bounded attempts with HOT_STORE_THROTTLED', async () => {
      await expect(throttledStore(10, 3).applyActivity([activity('u1', 1, 0)])).rejects.toMatchObject({
        code: 'HOT_STORE_THROTTLED',
        cause: { name: 'ThrottlingException' },
      });
      await expect(store.getUser('u1')).resolves.toBeNull();
    });
  });

  it('wraps unknown SDK errors with their cause', async () => {
    const missing = new DynamoDbHotStore({ client: doc, tableName: 'no-such-table' });
    const error = await missing.applyActivity([activity('u1', 1, 0)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HotStoreError);
    expect((error as HotStoreError).code).toBe('HOT_STORE_FAILED');
    expect(((error as HotStoreError).cause as Error).name).toBe('ResourceNotFoundException');
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FailedEvent, StoredEvent } from '../../src/events/types';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb/duckdb-warehouse';
import { WarehousePersonEraser } from '../../src/sinks/warehouse/warehouse-person-eraser';
import {
  LakeWriter,
  analyticsOf,
  lakeEvent as ev,
  lakeFailedEvent as failed,
  warehouseTables,
} from '../helpers/warehouse-lake';

// Two warehouses are loaded, read and reopened per test; a shared machine can be slow.
jest.setTimeout(60_000);

const FROM = new Date('2024-05-01T00:00:00.000Z');
const TO = new Date('2024-05-08T00:00:00.000Z');
const FUNNEL = { steps: ['page_viewed', 'product_viewed', 'order_completed'], windowHours: 72 };

/** Every id of Alice, the person erased: her userId, her device, an id she aliased, an old Latin-1 one. */
const ALICE = ['alice', 'device-a', 'alice-old', 'zoë'];

const day = (d: number, hour = 10) => `2024-05-0${d}T${String(hour).padStart(2, '0')}:00:00.000Z`;

/** Alice's events, every way an event can name her. */
const aliceEvents: StoredEvent[] = [
  ev('a1', day(1), { anonymousId: 'device-a' }),
  ev('a2', day(2), { userId: 'alice', anonymousId: 'device-a' }),
  ev('a3', day(2, 11), {
    event: 'alias',
    userId: 'alice',
    anonymousId: 'device-a',
    properties: { previous_id: 'alice-old' },
  }),
  ev('a4', day(3), { userId: 'alice', event: 'product_viewed' }),
  ev('a5', day(3, 11), { userId: 'alice', event: 'order_completed' }),
  // Dave on Alice's device: the event names her device, so it goes too. It also aliases dave-old,
  // earlier than Dave's own alias below, which must then carry that link alone.
  ev('x1', day(1, 12), {
    event: 'alias',
    userId: 'dave',
    anonymousId: 'device-a',
    properties: { previous_id: 'dave-old' },
  }),
];

/** Everyone else's events: what must be left exactly as a warehouse that never saw Alice holds it. */
const othersByDay: StoredEvent[][] = [
  [
    ev('b1', day(1), { anonymousId: 'device-b' }),
    ev('c1', day(1, 9), { anonymousId: 'device-c' }),
    ev('c2', day(1, 10), { anonymousId: 'device-c', event: 'product_viewed' }),
    ev('d1', day(1, 8), { userId: 'dave' }),
  ],
  [
    ev('b2', day(2), { userId: 'bob', anonymousId: 'device-b' }),
    ev('b3', day(2, 12), { userId: 'bob', event: 'product_viewed' }),
    // Names "alice" in a property no rule reads: Bob's event stays.
    ev('b4', day(2, 13), { userId: 'bob', properties: { referrer_name: 'alice' } }),
    ev('c3', day(2, 9), { anonymousId: 'device-c' }),
  ],
  [
    ev('b5', day(3), { userId: 'bob', event: 'order_completed' }),
    ev('d2', day(3, 9), { event: 'alias', userId: 'dave', properties: { previous_id: 'dave-old' } }),
    ev('d3', day(3, 10), { userId: 'dave', event: 'product_viewed' }),
  ],
];

const aliceFailed: FailedEvent[] = [
  failed('fa1', JSON.stringify({ messageId: 'fa1', event: 'page_viewed', userId: 'alice' }), day(2)),
  failed(null, 'broken record from device-a', day(2, 11)),
  failed(
    'fa3',
    JSON.stringify({ event: 'alias', userId: 'someone', properties: { previous_id: 'alice-old' } }),
    day(2, 12),
  ),
  // Not UTF-8: kept as the Latin-1 bytes it was read as, in base64.
  failed(null, Buffer.from('\xff{"userId":"zoë"', 'latin1').toString('base64'), day(3), 'base64'),
];

const othersFailed: FailedEvent[] = [
  failed('fb1', JSON.stringify({ messageId: 'fb1', event: 'page_viewed', userId: 'bob' }), day(2)),
  failed(null, 'broken record from device-b', day(2, 11)),
  // A JSON object is matched by its ids, not its text: "alice" here is only a property.
  failed('fb3', JSON.stringify({ userId: 'bob', properties: { friend: 'alice' } }), day(3)),
  failed(null, Buffer.from('\xff{"userId":"bob"', 'latin1').toString('base64'), day(3, 11), 'base64'),
];

describe('erasing a person from the DuckDB warehouse', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tributary-erasure-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A warehouse of its own lake, loaded with the given files (each a list of events). */
  async function warehouseOf(
    name: string,
    eventFiles: StoredEvent[][],
    failedEvents: FailedEvent[],
  ): Promise<{ warehouse: DuckDbWarehouse; databasePath: string }> {
    const lake = new LakeWriter(path.join(dir, name, 'lake'));
    for (const records of eventFiles) await lake.events(records);
    await lake.failed(failedEvents);
    const databasePath = path.join(dir, name, 'warehouse.duckdb');
    const warehouse = await DuckDbWarehouse.open({ databasePath, lakeDir: lake.lakeDir });
    await warehouse.loadNew();
    return { warehouse, databasePath };
  }

  it('leaves exactly what a warehouse that never saw the person holds, in every table and every number', async () => {
    const never = await warehouseOf('never', othersByDay, othersFailed);
    const expectedAnalytics = await analyticsOf(never.warehouse, FROM, TO, FUNNEL);
    await never.warehouse.close();
    const expectedTables = await warehouseTables(never.databasePath);

    // The same events, Alice's in the same files as everyone else's, as the lake holds them.
    const erased = await warehouseOf(
      'erased',
      othersByDay.map((records, i) => [
        ...records,
        ...aliceEvents.filter((e) => e.timestamp.startsWith(`2024-05-0${i + 1}`)),
      ]),
      [...aliceFailed, ...othersFailed],
    );
    const before = await analyticsOf(erased.warehouse, FROM, TO, FUNNEL);
    expect(before).not.toEqual(expectedAnalytics);

    const eraser = new WarehousePersonEraser(erased.warehouse);
    const result = await eraser.erase(ALICE);
    expect(eraser.store).toBe('warehouse');
    expect(result.detail).toBe(
      // Claims: device-a by Alice and by Dave (x1), alice-old by Alice; device-a and alice-old were
      // linked (device-a to Dave, whose claim came first). User keys: alice, device-a.
      'events 6, failed_events 4, identity_claims 3, user_ids 1, identities 2, user_numbers 2',
    );
    expect(result.removed).toBe(6 + 4 + 3 + 1 + 2 + 2);
    expect(await analyticsOf(erased.warehouse, FROM, TO, FUNNEL)).toEqual(expectedAnalytics);

    // Idempotent: nothing is left to remove.
    await expect(eraser.erase(ALICE)).resolves.toEqual({
      removed: 0,
      detail: 'events 0, failed_events 0, identity_claims 0, user_ids 0, identities 0, user_numbers 0',
    });
    await erased.warehouse.close();

    const tables = await warehouseTables(erased.databasePath);
    expect(tables).toEqual(expectedTables);
    // Dave's link to dave-old survives the event that made it first, through his own alias.
    expect(tables.identity_claims).toContainEqual(
      expect.objectContaining({ person: 'dave', id: 'dave-old', message_id: 'd2' }),
    );
    const text = JSON.stringify(tables, (_key, value: unknown) =>
      typeof value === 'bigint' ? String(value) : value,
    );
    for (const id of ALICE) expect(text).not.toContain(`"${id}"`);
    expect(
      (tables.event_user_days ?? []).filter((row) => row.user_key === null && row.no_user === false),
    ).toEqual([]);
  });

  it('waits for a load in progress and deletes what it brought, and loads after it without the person', async () => {
    const lake = new LakeWriter(path.join(dir, 'lake'));
    await lake.events([...othersByDay[0]!, ...aliceEvents.slice(0, 2)]);
    const warehouse = await DuckDbWarehouse.open({
      databasePath: path.join(dir, 'warehouse.duckdb'),
      lakeDir: lake.lakeDir,
    });
    try {
      // Not awaited: the erasure is asked while the load reads the file that still names her.
      const load = warehouse.loadNew();
      const erasure = warehouse.erasePerson(ALICE);
      await expect(load).resolves.toMatchObject({ rows: othersByDay[0]!.length + 2 });
      await expect(erasure).resolves.toMatchObject({ events: 2 });
      // device-b, device-c and dave.
      await expect(warehouse.uniqueUsers({ from: FROM, to: TO, identity: 'RAW_ID' })).resolves.toBe(3);

      // What the lake gets later, once rewritten, has nothing of her.
      await lake.events(othersByDay[1]!);
      await warehouse.loadNew();
      await expect(warehouse.erasePerson(ALICE)).resolves.toMatchObject({ events: 0 });
    } finally {
      await warehouse.close();
    }
  });

  it('runs work that rewrites lake files between loads, never during one', async () => {
    const { warehouse } = await warehouseOf('between', [othersByDay[0]!], []);
    const lake = new LakeWriter(path.join(dir, 'between', 'lake'));
    try {
      await lake.events(othersByDay[1]!, '2024-05-02T00:00:00.000Z');
      const order: string[] = [];
      const load = warehouse.loadNew().then(() => order.push('load'));
      const work = warehouse.betweenLoads(async () => {
        order.push('work starts');
        await new Promise((resolve) => setTimeout(resolve, 50));
        order.push('work ends');
      });
      const next = warehouse.loadNew().then(() => order.push('next load'));
      await Promise.all([load, work, next]);
      expect(order).toEqual(['load', 'work starts', 'work ends', 'next load']);
    } finally {
      await warehouse.close();
    }
  });

  it('tells analytics caches that the data changed, only when rows went', async () => {
    const { warehouse } = await warehouseOf('cache', [[...othersByDay[0]!, aliceEvents[0]!]], []);
    try {
      const version = warehouse.dataVersion();
      await warehouse.erasePerson(['nobody-we-know']);
      expect(warehouse.dataVersion()).toBe(version);
      await warehouse.erasePerson(ALICE);
      expect(warehouse.dataVersion()).toBe(version + 1);
    } finally {
      await warehouse.close();
    }
  });
});

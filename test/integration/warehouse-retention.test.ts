import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FailedEvent, StoredEvent } from '../../src/events/types';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb/duckdb-warehouse';
import type { WarehouseRetention } from '../../src/sinks/warehouse/port';
import { purgeCutoffs } from '../../src/sinks/warehouse/retention-purge';
import {
  LakeWriter,
  analyticsOf,
  lakeEvent as ev,
  lakeFailedEvent as failed,
  warehouseTables,
} from '../helpers/warehouse-lake';

jest.setTimeout(60_000);

/** The clock the purge runs at, and the limits it applies: 30 days of events, 7 of failed events. */
const NOW = new Date('2025-06-10T15:00:00.000Z');
const RETENTION: WarehouseRetention = { eventsDays: 30, failedEventsDays: 7 };
const FROM = new Date('2025-05-01T00:00:00.000Z');
const TO = new Date('2025-06-11T00:00:00.000Z');
const FUNNEL = { steps: ['page_viewed', 'product_viewed'], windowHours: 24 * 30 };

/** Events whose time is before 2025-05-11, 30 days before the start of NOW's day. */
const expired: StoredEvent[] = [
  ev('x1', '2025-05-09T10:00:00.000Z', { userId: 'bob' }),
  ev('x2', '2025-05-10T23:59:59.999Z', { userId: 'bob', event: 'product_viewed' }),
  // Alice links her device on an expired day, and again on a kept one (k2): the link stays.
  ev('x3', '2025-05-10T08:00:00.000Z', { userId: 'alice', anonymousId: 'device-a' }),
  // Carol links hers only on an expired day: the link goes, her device's later events stay its own.
  ev('x4', '2025-05-02T08:00:00.000Z', { userId: 'carol', anonymousId: 'device-c' }),
  // No time the warehouse can read: it goes by when it arrived.
  ev('x5', 'not a time', { anonymousId: 'device-c', receivedAt: '2025-05-10T12:00:00.000Z' }),
];

const kept: StoredEvent[] = [
  ev('k1', '2025-05-11T00:00:00.000Z', { userId: 'bob' }),
  ev('k2', '2025-05-20T08:00:00.000Z', { userId: 'alice', anonymousId: 'device-a' }),
  ev('k3', '2025-05-21T08:00:00.000Z', { anonymousId: 'device-a', event: 'product_viewed' }),
  ev('k4', '2025-06-01T08:00:00.000Z', { anonymousId: 'device-c' }),
  ev('k5', '2025-06-10T14:00:00.000Z', { anonymousId: 'device-c', event: 'product_viewed' }),
  ev('k6', 'not a time', { anonymousId: 'device-d', receivedAt: '2025-05-12T12:00:00.000Z' }),
];

const expiredFailed: FailedEvent[] = [
  failed('fx1', '{"userId":"bob"}', '2025-05-01T00:00:00.000Z'),
  failed('fx2', '{"userId":"alice"}', '2025-06-02T23:59:59.999Z'),
];
const keptFailed: FailedEvent[] = [
  failed('fk1', '{"userId":"bob"}', '2025-06-03T00:00:00.000Z'),
  failed('fk2', 'not json', '2025-06-10T14:00:00.000Z'),
];

describe('the DuckDB warehouse retention purge', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tributary-retention-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function warehouseOf(
    name: string,
    events: StoredEvent[],
    failedEvents: FailedEvent[],
  ): Promise<{ warehouse: DuckDbWarehouse; databasePath: string }> {
    const lake = new LakeWriter(path.join(dir, name, 'lake'));
    await lake.events(events);
    await lake.failed(failedEvents);
    const databasePath = path.join(dir, name, 'warehouse.duckdb');
    const warehouse = await DuckDbWarehouse.open({ databasePath, lakeDir: lake.lakeDir });
    await warehouse.loadNew();
    return { warehouse, databasePath };
  }

  it('cuts at whole UTC days before the start of today', () => {
    expect(purgeCutoffs(RETENTION, NOW)).toEqual({
      eventsBefore: new Date('2025-05-11T00:00:00.000Z'),
      failedEventsBefore: new Date('2025-06-03T00:00:00.000Z'),
    });
    expect(() => purgeCutoffs({ eventsDays: 0, failedEventsDays: 7 }, NOW)).toThrow(RangeError);
  });

  it('removes what is past each limit and leaves exactly what a warehouse of the rest holds', async () => {
    const rest = await warehouseOf('rest', kept, keptFailed);
    const expectedAnalytics = await analyticsOf(rest.warehouse, FROM, TO, FUNNEL);
    await rest.warehouse.close();
    const expectedTables = await warehouseTables(rest.databasePath);

    const purged = await warehouseOf('purged', [...expired, ...kept], [...expiredFailed, ...keptFailed]);
    expect(await analyticsOf(purged.warehouse, FROM, TO, FUNNEL)).not.toEqual(expectedAnalytics);

    const version = purged.warehouse.dataVersion();
    await expect(purged.warehouse.purge(RETENTION, NOW)).resolves.toEqual({ events: 5, failedEvents: 2 });
    expect(purged.warehouse.dataVersion()).toBe(version + 1);
    expect(await analyticsOf(purged.warehouse, FROM, TO, FUNNEL)).toEqual(expectedAnalytics);

    // Again at the same time: nothing more has expired, and nothing changes.
    await expect(purged.warehouse.purge(RETENTION, NOW)).resolves.toEqual({ events: 0, failedEvents: 0 });
    expect(purged.warehouse.dataVersion()).toBe(version + 1);
    await purged.warehouse.close();

    const tables = await warehouseTables(purged.databasePath);
    expect(tables).toEqual(expectedTables);
    expect(tables.identities).toEqual([expect.objectContaining({ id: 'device-a', person_id: 'alice' })]);
    expect(tables.user_ids).toEqual([{ user_id: 'alice' }, { user_id: 'bob' }]);
  });

  it('keeps everything a day later than the limit, and removes the next day a day later', async () => {
    const { warehouse } = await warehouseOf('days', kept, keptFailed);
    try {
      await expect(warehouse.purge(RETENTION, NOW)).resolves.toEqual({ events: 0, failedEvents: 0 });
      // k1 (2025-05-11) and fk1 (received 2025-06-03) are on the oldest days kept; a day on, they go.
      const dayLater = new Date(NOW.getTime() + 86_400_000);
      await expect(warehouse.purge(RETENTION, dayLater)).resolves.toEqual({ events: 1, failedEvents: 1 });
      await expect(warehouse.rowCount()).resolves.toBe(kept.length - 1);
    } finally {
      await warehouse.close();
    }
  });
});

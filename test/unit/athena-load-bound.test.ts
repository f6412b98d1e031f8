import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import { boundedBy } from '../../src/sinks/warehouse/athena/athena-sql';
import { MARGIN_MS, loadBoundOf } from '../../src/sinks/warehouse/athena/load-bound';

/**
 * The bound of the Athena load's MERGE: its ranges, and its condition run by a real SQL engine.
 * DuckDB reads the condition's SQL (timestamp literals, IS NULL, AND/OR) as Trino does, and runs
 * MERGE with the same NOT MATCHED rule, so a load is played as the engine plays it: the batch's
 * days make the bound, and the merge matches a held messageId only within it.
 */

describe('loadBoundOf', () => {
  it('widens each day by the margin and joins days that meet, leaving stragglers on their own', () => {
    expect(MARGIN_MS).toBe(3_600_000);
    expect(loadBoundOf(['2026-03-10', '2025-06-01', '2026-03-09', '2026-03-10'])).toEqual({
      ranges: [
        { from: new Date('2025-05-31T23:00:00Z'), to: new Date('2025-06-02T01:00:00Z') },
        { from: new Date('2026-03-08T23:00:00Z'), to: new Date('2026-03-11T01:00:00Z') },
      ],
      nulls: false,
    });
    // Two days apart: the margins do not meet, so the day between is not read.
    expect(loadBoundOf(['2026-03-08', '2026-03-10'])?.ranges).toHaveLength(2);
  });

  it('keeps rows without a time, and has no bound for a batch with no row', () => {
    expect(loadBoundOf([null])).toEqual({ ranges: [], nulls: true });
    expect(loadBoundOf([])).toBeUndefined();
    expect(() => loadBoundOf(['2026-3-10'])).toThrow('not a UTC day');
    expect(() => loadBoundOf(['2026-02-30x'])).toThrow('not a UTC day');
  });
});

describe('boundedBy in a MERGE', () => {
  let instance: DuckDBInstance;
  let db: DuckDBConnection;

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
  });

  afterAll(() => {
    db.closeSync();
    instance.closeSync();
  });

  beforeEach(async () => {
    await db.run('CREATE OR REPLACE TABLE events (message_id VARCHAR, event_time TIMESTAMP)');
  });

  type Row = [string, string | null];

  /** A load: the bound of its rows' days, then the merge by messageId within it. */
  async function load(rows: Row[]): Promise<void> {
    const bound = loadBoundOf(rows.map(([, at]) => (at === null ? null : at.slice(0, 10))));
    if (bound === undefined) return;
    const values = rows
      .map(([id, at]) => `('${id}', ${at === null ? 'NULL' : `TIMESTAMP '${at}'`})`)
      .join(', ');
    await db.run(`MERGE INTO events t
      USING (SELECT * FROM (VALUES ${values}) v(message_id, event_time)) s
      ON t.message_id = s.message_id AND ${boundedBy('t.event_time', bound)}
      WHEN NOT MATCHED THEN INSERT (message_id, event_time) VALUES (s.message_id, s.event_time)`);
  }

  async function held(): Promise<Array<[string, number]>> {
    const reader = await db.runAndReadAll(
      'SELECT message_id, count(*)::INTEGER AS n FROM events GROUP BY message_id ORDER BY message_id',
    );
    return reader.getRows().map(([id, n]) => [String(id), Number(n)]);
  }

  it('lands a record redelivered in a later load once, beside a straggler and a row without a time', async () => {
    await load([
      ['m1', '2026-03-09 23:59:59.500'],
      ['m2', '2026-03-10 10:00:00'],
      ['m4', null],
    ]);
    await load([
      ['m1', '2026-03-09 23:59:59.500'],
      ['m3', '2025-06-01 12:00:00'],
      ['m4', null],
    ]);
    await load([['m2', '2026-03-10 10:00:00']]);
    expect(await held()).toEqual([
      ['m1', 1],
      ['m2', 1],
      ['m3', 1],
      ['m4', 1],
    ]);
  });

  it("lands a client's resend once when its corrected time crosses midnight", async () => {
    await load([['m1', '2026-03-09 23:59:59.500']]);
    // Stamped again by the edge: a second later by the latencies, and on the next day.
    await load([['m1', '2026-03-10 00:00:00.700']]);
    expect(await held()).toEqual([['m1', 1]]);
  });

  it('reads no held key outside the bound: a copy days away is not matched', async () => {
    await load([['m1', '2026-03-01 12:00:00']]);
    await load([['m1', '2026-03-10 12:00:00']]);
    expect(await held()).toEqual([['m1', 2]]);
  });
});

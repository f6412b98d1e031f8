import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { StoredEvent } from '../src/events/types';
import { DuckDbWarehouse } from '../src/sinks/warehouse/duckdb/duckdb-warehouse';
import { EventsParquetFormat, sqlPath } from '../src/sinks/lake/file-format';
import { LocalLakeDelivery } from '../src/sinks/lake/local/local-lake-delivery';
import type { DeliveryResult } from '../src/sinks/lake/port';
import { fmt, ratio, timed } from './harness';
import { copyIntoLake, eventsHourFolder } from './lake-files';
import { seededRandom } from '../scripts/simulation/random';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.parse('2024-05-01T00:00:00.000Z');
const DAYS = 28;
const ROWS_PER_FILE = 100_000;
const EVENTS = ['page_viewed', 'product_viewed', 'product_added_to_cart', 'order_completed'];
const SOURCES = [null, 'newsletter', 'google', 'facebook'];
const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Edge'];

/** BENCH_WAREHOUSE_ROWS picks the size (default 10 million), e.g. for a quick run on a busy machine. */
export function warehouseRows(): number {
  const value = Number(process.env.BENCH_WAREHOUSE_ROWS ?? '10000000');
  return Number.isInteger(value) && value > 0 ? value : 10_000_000;
}

/** The simulator's seeded generator: the same data on every run. */
const random = (seed: number): (() => number) => seededRandom(seed).next;

/**
 * Writes `rows` events shaped like the stream processor's (enrichment, properties, context) into the
 * lake: the first million with the local lake delivery, so the files are exactly what the embedded
 * stack writes, the rest derived from those files (deriveFiles). Users act in short sessions that
 * walk down the funnel, so funnels and retention have real work to do. Each file's records arrive in
 * their own hour (a backfill), one file per hour.
 */
export async function writeLake(lakeDir: string, rows: number): Promise<number> {
  const users = lakeUsers(rows);
  const seedRows = Math.min(rows, SEED_FILES * ROWS_PER_FILE);
  const seeds = await writeSeedFiles(lakeDir, seedRows, users);
  if (seedRows === rows) return seeds;
  return seeds + (await deriveFiles(lakeDir, rows - seedRows, seeds, users));
}

/** Users in a lake of `rows` events: about 50 events each. */
const lakeUsers = (rows: number): number => Math.max(1_000, Math.floor(rows / 50));

/**
 * Files written through the lake delivery (JSON records, gzip, DuckDB's Parquet conversion: about a
 * second of CPU per 100,000 events); the rest of a large lake is derived from them.
 */
const SEED_FILES = 10;

/**
 * The rest of the lake, derived from the delivery's own files by DuckDB: each new file is a seed
 * file with its messageIds and sessionIds made new and its users moved to other ids, so its layout
 * is the delivery's, every event is distinct, and users, sessions and funnels keep their shape, at a
 * fraction of the cost of writing every event through the delivery. Each arrives in an hour of its
 * own, after the seeds'.
 */
async function deriveFiles(lakeDir: string, rows: number, seeds: number, users: number): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const files = Math.ceil(rows / ROWS_PER_FILE);
  try {
    for (let file = 0; file < files; file += 1) {
      const copy = seeds + file;
      // The seed file alone in its hour: the delivery wrote seed k in hour k.
      const seed = path.join(eventsHourFolder(lakeDir, new Date(START + (file % seeds) * HOUR)), '*.parquet');
      const shift = (copy * 7_919) % users;
      const moved = (column: string, prefix: string) =>
        `CASE WHEN ${column} IS NULL THEN NULL ELSE '${prefix}' || ((CAST(substr(${column}, 3) AS BIGINT) + ${shift}) % ${users}) END AS ${column}`;
      const limit = Math.min(ROWS_PER_FILE, rows - file * ROWS_PER_FILE);
      await copyIntoLake(
        connection,
        `SELECT * REPLACE (message_id || '.${copy}' AS message_id, session_id || '.${copy}' AS session_id, ` +
          `${moved('user_id', 'u-')}, ${moved('anonymous_id', 'a-')}) ` +
          `FROM read_parquet(${sqlPath(seed)}, hive_partitioning = false) LIMIT ${limit}`,
        lakeDir,
        new Date(START + copy * HOUR),
      );
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return files;
}

async function writeSeedFiles(lakeDir: string, rows: number, users: number): Promise<number> {
  const rand = random(7);
  let arrival = START;
  const delivery = new LocalLakeDelivery<StoredEvent>({
    rootDir: lakeDir,
    prefix: 'events',
    format: new EventsParquetFormat(),
    // Every deliver() call below is one file.
    flushBytes: 1,
    flushIntervalMs: 60_000,
    timeOf: () => new Date(arrival),
  });
  let time = 0;
  let user = 0;
  let files = 0;
  let pending: Promise<DeliveryResult> | undefined;
  const settle = async (result: Promise<DeliveryResult> | undefined) => {
    const failed = (await result)?.failed ?? [];
    if (failed.length > 0) throw new Error(`lake write failed: ${String(failed[0]?.error)}`);
  };
  try {
    for (let first = 0; first < rows; first += ROWS_PER_FILE) {
      const batch: StoredEvent[] = [];
      for (let i = first; i < Math.min(rows, first + ROWS_PER_FILE); i += 1) {
        // A new session every few events: a random user at a random time; then the same user's
        // events, seconds to minutes apart.
        if (i % 5 === 0) {
          time = START + Math.floor(rand() * DAYS * DAY);
          user = Math.floor(rand() * users);
        } else time += Math.floor(rand() * 600_000);
        const step = i % 5 === 0 ? 0 : Math.min(3, Math.floor(rand() * 4));
        const item = step === 0 ? null : `sku-${Math.floor(rand() * rand() * 5_000)}`;
        const ts = new Date(time).toISOString();
        batch.push({
          messageId: `m-${i}`,
          event: EVENTS[step] as string,
          userId: user % 4 === 0 ? null : `u-${user}`,
          anonymousId: `a-${user}`,
          sessionId: `s-${Math.floor(i / 5)}`,
          timestamp: ts,
          sentAt: ts,
          receivedAt: new Date(time + 800).toISOString(),
          source: 'graphql',
          properties: { product_id: item, price: 19.9 },
          context: { page: { url: 'https://shop.example/p' }, locale: 'en-GB' },
          processorVersion: 'bench',
          schemaVersion: '1-0-0',
          itemId: item,
          originalTimestamp: ts,
          enrichment: {
            browser: BROWSERS[user % 4] as string,
            browserVersion: '126.0',
            os: 'Linux',
            osVersion: null,
            deviceType: 'desktop',
            isBot: false,
            utmSource: SOURCES[i % 4] ?? null,
            utmMedium: null,
            utmCampaign: null,
            utmTerm: null,
            utmContent: null,
            referrerClass: 'search',
            referrerHost: 'google.com',
            clockSkewMs: 0,
            timeFlag: null,
          },
        });
      }
      // One file converting while the next is generated: the two cores both work.
      await settle(pending);
      pending = delivery.deliver(batch);
      files += 1;
      arrival += HOUR;
    }
    await settle(pending);
  } finally {
    await delivery.close();
  }
  return files;
}

/** An in-memory DuckDB running one statement, timed. */
async function timedInMemory(sql: string): Promise<{ ms: number; cpuMs: number }> {
  const instance = await DuckDBInstance.create(':memory:', { preserve_insertion_order: 'false' });
  const connection = await instance.connect();
  try {
    return await timed(() => connection.run(sql));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * The floors for any load, measured in the same run: DuckDB only reading every column of the lake
 * files (into memory), and DuckDB copying them as they are into a table of a database file, with no
 * deduplication, casts or checks: compressed as DuckDB chooses, and uncompressed, the cheapest
 * write a database file takes.
 */
async function loadBaselines(
  lakeDir: string,
  dir: string,
): Promise<Record<'read' | 'copy' | 'rawCopy', { ms: number; cpuMs: number }>> {
  const glob = `'${path.join(lakeDir, 'events', '**', '*.parquet').replace(/'/g, "''")}'`;
  const read = await timedInMemory(
    `CREATE TEMP TABLE lake AS SELECT * FROM read_parquet(${glob}, hive_partitioning = false)`,
  );
  const copyDb = path.join(dir, 'copy.duckdb');
  const copyInto = async (settings: string) => {
    try {
      return await timedInMemory(
        `${settings}ATTACH '${copyDb.replace(/'/g, "''")}' AS copy_db; CREATE TABLE copy_db.lake AS SELECT * FROM read_parquet(${glob}, hive_partitioning = false); DETACH copy_db`,
      );
    } finally {
      await rm(copyDb, { force: true });
    }
  };
  const copy = await copyInto('');
  const rawCopy = await copyInto(`SET force_compression = 'uncompressed'; `);
  return { read, copy, rawCopy };
}

/** Load rate from the lake and analytics latency on the embedded warehouse (DuckDB, database file). */
export async function warehouseBenchmark(): Promise<string> {
  const rows = warehouseRows();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tributary-bench-wh-'));
  const lakeDir = path.join(dir, 'lake');
  try {
    console.log(`writing ${fmt(rows)} synthetic events to ${lakeDir}…`);
    const written = await timed(() => writeLake(lakeDir, rows));
    const files = written.value;
    console.log(`written in ${fmt(written.ms / 1000, 1)} s; measuring the baselines…`);
    const baseline = await loadBaselines(lakeDir, dir);
    const warehouse = await DuckDbWarehouse.open({
      databasePath: path.join(dir, 'warehouse.duckdb'),
      lakeDir,
    });
    try {
      const load = await timed(() => warehouse.loadNew());
      if (load.value.rows !== rows) throw new Error(`loaded ${load.value.rows} rows, expected ${rows}`);
      const range = { from: new Date(START), to: new Date(START + DAYS * DAY) };
      const scan = await timed(() => warehouse.uniqueUsers({ ...range, event: 'no_such_event' }));
      const queries: Array<[string, number, () => Promise<unknown>]> = [
        ['eventCounts by day', 1000, () => warehouse.eventCounts({ ...range, granularity: 'DAY' })],
        [
          'eventCounts by day, from 07:13 to 17:00 (partial first and last days)',
          1000,
          () =>
            warehouse.eventCounts({
              from: new Date(START + 7 * HOUR + 13 * 60_000),
              to: new Date(START + (DAYS - 1) * DAY + 17 * HOUR),
              granularity: 'DAY',
            }),
        ],
        [
          'eventCounts by day, without users',
          1000,
          () => warehouse.eventCounts({ ...range, granularity: 'DAY', users: false }),
        ],
        [
          'eventCounts by week × utm source × browser',
          1000,
          () => warehouse.eventCounts({ ...range, granularity: 'WEEK', groupBy: ['UTM_SOURCE', 'BROWSER'] }),
        ],
        ['uniqueUsers', 1000, () => warehouse.uniqueUsers(range)],
        [
          'funnel, 3 steps, 24 h',
          3000,
          () =>
            warehouse.funnel({
              ...range,
              steps: ['product_viewed', 'product_added_to_cart', 'order_completed'],
              windowHours: 24,
            }),
        ],
        [
          'retention by day',
          1000,
          () =>
            warehouse.retention({
              ...range,
              startEvent: 'page_viewed',
              returnEvent: 'order_completed',
              period: 'DAY',
            }),
        ],
        ['topItems (10)', 1000, () => warehouse.topItems({ ...range, event: 'product_viewed', limit: 10 })],
      ];
      const perSec = (ms: number) => fmt(rows / (ms / 1000));
      const loadTarget = 500_000;
      const secs = (t: { ms: number; cpuMs: number }) =>
        `${fmt(t.ms / 1000, 1)} s (${fmt(t.cpuMs / 1000, 1)} s)`;
      const lines = [
        `${fmt(rows)} events in ${fmt(files)} Parquet lake files, ${fmt(Math.min(files, SEED_FILES))} written by the local lake ` +
          'delivery and the others derived from them (new messageIds and sessionIds, users moved to other ids); DuckDB ' +
          `database file; ${os.cpus().length} cores. Baselines measured in the same run: for the load, DuckDB ` +
          'only reading every column of the lake files into memory (read), and copying them as they are into a ' +
          'table of a database file with no deduplication, compressed as DuckDB chooses (copy) and uncompressed ' +
          '(uncompressed copy, the cheapest write to a database file); for the queries, a filtered count over the ' +
          'range that matches nothing (scan). CPU time is the whole process, DuckDB threads included.',
        '',
        '| step | wall | CPU | rows/s (wall) | rows/s per CPU-second | target | baseline wall (CPU) | wall vs baseline |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        `| load from the lake | ${fmt(load.ms / 1000, 1)} s | ${fmt(load.cpuMs / 1000, 1)} s | ${perSec(load.ms)} | ${perSec(load.cpuMs)} | ≥ ${fmt(loadTarget)} rows/s${rows / (load.ms / 1000) < loadTarget ? ' ✗' : ' ✓'} | read ${secs(baseline.read)}; copy ${secs(baseline.copy)} (${perSec(baseline.copy.ms)} rows/s); uncompressed copy ${secs(baseline.rawCopy)} (${perSec(baseline.rawCopy.ms)} rows/s) | ${ratio(load.ms, baseline.read.ms)} read; ${ratio(load.ms, baseline.copy.ms)} copy; ${ratio(load.ms, baseline.rawCopy.ms)} uncompressed copy |`,
      ];
      for (const [name, target, run] of queries) {
        const { ms, cpuMs } = await timed(run);
        lines.push(
          `| ${name} | ${fmt(ms)} ms | ${fmt(cpuMs)} ms |  |  | ≤ ${fmt(target)} ms${ms > target ? ' ✗' : ' ✓'} | ${fmt(scan.ms)} ms (${fmt(scan.cpuMs)} ms) scan | ${ratio(ms, scan.ms)} |`,
        );
      }
      return lines.join('\n');
    } finally {
      await warehouse.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

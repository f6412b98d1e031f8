import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbWarehouse } from '../src/sinks/duckdb-warehouse';
import { fmt, ratio } from './harness';
import { seededRandom } from '../scripts/simulation/random';

const DAY = 86_400_000;
const START = Date.parse('2024-05-01T00:00:00.000Z');
const DAYS = 28;
const ROWS_PER_FILE = 100_000;
const EVENTS = ['page_viewed', 'product_viewed', 'product_added_to_cart', 'order_completed'];
const SOURCES = ['null', '"newsletter"', '"google"', '"facebook"'];
const BROWSERS = ['"Chrome"', '"Firefox"', '"Safari"', '"Edge"'];

/** BENCH_WAREHOUSE_ROWS picks the size (default 10 million), e.g. for a quick run on a busy machine. */
export function warehouseRows(): number {
  const value = Number(process.env.BENCH_WAREHOUSE_ROWS ?? '10000000');
  return Number.isInteger(value) && value > 0 ? value : 10_000_000;
}

/** The simulator's seeded generator: the same data on every run. */
const random = (seed: number): (() => number) => seededRandom(seed).next;

/**
 * Writes `rows` lake records shaped like the stream processor's (enrichment, properties, context)
 * as gzip NDJSON files in Firehose's layout. Users act in short sessions that walk down the funnel,
 * so funnels and retention have real work to do.
 */
export async function writeLake(lakeDir: string, rows: number): Promise<number> {
  const rand = random(7);
  const users = Math.max(1_000, Math.floor(rows / 50));
  let lines: string[] = [];
  let files = 0;
  let time = 0;
  const flush = async () => {
    const dir = path.join(
      lakeDir,
      'events',
      'year=2024',
      'month=05',
      `day=${String(files % 28).padStart(2, '0')}`,
    );
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, `events-${String(files).padStart(6, '0')}.json.gz`),
      gzipSync(lines.join(''), { level: 1 }),
    );
    files += 1;
    lines = [];
  };
  for (let i = 0; i < rows; i += 1) {
    // A new session every few events: a random user at a random time; then seconds to minutes apart.
    if (i % 5 === 0) time = START + Math.floor(rand() * DAYS * DAY);
    else time += Math.floor(rand() * 600_000);
    const user = Math.floor(rand() * users);
    const step = i % 5 === 0 ? 0 : Math.min(3, Math.floor(rand() * 4));
    const event = EVENTS[step] as string;
    const item = step === 0 ? 'null' : `"sku-${Math.floor(rand() * rand() * 5_000)}"`;
    const ts = new Date(time).toISOString();
    const received = new Date(time + 800).toISOString();
    lines.push(
      `{"messageId":"m-${i}","event":"${event}","userId":${user % 4 === 0 ? 'null' : `"u-${user}"`},` +
        `"anonymousId":"a-${user}","sessionId":"s-${Math.floor(i / 5)}","timestamp":"${ts}","sentAt":"${ts}",` +
        `"receivedAt":"${received}","source":"graphql","properties":{"product_id":${item},"price":19.9},` +
        `"context":{"page":{"url":"https://shop.example/p"},"locale":"en-GB"},"processorVersion":"bench",` +
        `"schemaVersion":"1-0-0","itemId":${item},"originalTimestamp":"${ts}","enrichment":{` +
        `"browser":${BROWSERS[user % 4]},"browserVersion":"126.0","os":"Linux","osVersion":null,` +
        `"deviceType":"desktop","isBot":false,"utmSource":${SOURCES[i % 4]},"utmMedium":null,` +
        `"utmCampaign":null,"utmTerm":null,"utmContent":null,"referrerClass":"search",` +
        `"referrerHost":"google.com","clockSkewMs":0,"timeFlag":null}}\n`,
    );
    if (lines.length === ROWS_PER_FILE) await flush();
  }
  if (lines.length > 0) await flush();
  return files;
}

/**
 * Wall time, and CPU time of the whole process (DuckDB's worker threads included): on a shared,
 * loaded machine the CPU time says what the work costs, the wall time what this run got.
 */
async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await run();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, value };
}

/** The time DuckDB takes just to read and count the lake files: the floor for any load. */
async function readOnlyBaseline(lakeDir: string): Promise<{ ms: number; cpuMs: number }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const glob = path.join(lakeDir, 'events', '**', '*.json.gz');
    return await timed(() =>
      connection.run(
        `SELECT count(*) FROM read_json(${`'${glob.replace(/'/g, "''")}'`}, format = 'newline_delimited', compression = 'gzip', columns = {messageId: 'VARCHAR'})`,
      ),
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Load rate from the lake and analytics latency on the embedded warehouse (DuckDB, database file). */
export async function warehouseBenchmark(): Promise<string> {
  const rows = warehouseRows();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tributary-bench-wh-'));
  const lakeDir = path.join(dir, 'lake');
  try {
    console.log(`writing ${fmt(rows)} synthetic events to ${lakeDir}…`);
    const files = await writeLake(lakeDir, rows);
    const baseline = await readOnlyBaseline(lakeDir);
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
      const lines = [
        `${fmt(rows)} events in ${fmt(files)} gzip NDJSON lake files; DuckDB database file; ${os.cpus().length} cores. ` +
          'Baselines measured in the same run: DuckDB only reading the lake files (for the load), and a filtered ' +
          'count over the range that matches nothing (for the queries). CPU time is the whole process, DuckDB ' +
          'threads included.',
        '',
        '| step | wall | CPU | rows/s (wall) | rows/s per CPU-second | target | baseline wall (CPU) | wall vs baseline |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        `| load from the lake | ${fmt(load.ms / 1000, 1)} s | ${fmt(load.cpuMs / 1000, 1)} s | ${perSec(load.ms)} | ${perSec(load.cpuMs)} | ≥ 500,000 rows/s | ${fmt(baseline.ms / 1000, 1)} s (${fmt(baseline.cpuMs / 1000, 1)} s) read-only | ${ratio(load.ms, baseline.ms)} |`,
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

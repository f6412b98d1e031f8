import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type Config } from '../src/config';
import { createDynamoDbDocumentClient } from '../src/aws/clients';
import { startEmulators } from '../src/local/emulators';
import { startLocalStack, type LocalStack } from '../src/local/stack';
import { ensureHotTable } from '../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import type { HotStoreFloorRequest, HotStoreFloorResult } from './hot-store-floor-process';
import type { KinesisFloorRequest, KinesisFloorResult } from './kinesis-floor-process';

/** What one load run measured; latencies in milliseconds. */
export interface LoadResult {
  requestsPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Requests answered with a 2xx status. */
  answered: number;
}

export interface LoadOptions {
  url: string;
  /** JSON request bodies, sent in rotation (one body: every request the same). */
  bodies: string[];
  headers?: Record<string, string>;
  connections?: number;
  durationSec?: number;
  /**
   * Requests per second over all connections, evenly paced (see paced-load.ts); unset, autocannon
   * sends each connection's next request as soon as the last is answered (a saturation test,
   * where latency is mostly queueing).
   */
  overallRate?: number;
}

/**
 * Loads one endpoint, POSTing the given JSON bodies in rotation. The load runs
 * in a child process: in this one it would share the event loop of the embedded server it measures.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  // The child runs TypeScript the way this one does (this process's execArgv). A young generation
  // far larger than its garbage per second keeps the load generator's own collection pauses, which
  // would count as server latency, rare.
  const child = fork(path.join(__dirname, 'load-process.ts'), [], {
    execArgv: [...process.execArgv, '--max-semi-space-size=64'],
  });
  return new Promise<LoadResult>((resolve, reject) => {
    child.once('message', (result) => resolve(result as LoadResult));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`load process exited with ${code} before answering`)));
    child.send({ ...options, durationSec: options.durationSec ?? benchDuration() });
  });
}

/**
 * PutRecords straight to a Kinesis emulator from a child process (kinesis-floor-process.ts): the
 * records the emulator itself accepts per second, the floor of any ingest through it.
 */
export function kinesisFloor(request: KinesisFloorRequest): Promise<KinesisFloorResult> {
  return runChild<KinesisFloorResult>('kinesis-floor-process.ts', request);
}

/**
 * The hot tier's store, started as the embedded stack starts it (dynalite on a worker thread of this
 * process, persisted to a temp folder), taking the requests its adapter sends from a child process
 * (hot-store-floor-process.ts): the events/s the store itself absorbs, the floor of any processing
 * that writes the hot tier.
 */
export async function hotStoreFloor(
  request: Omit<HotStoreFloorRequest, 'endpoint' | 'region' | 'recordTable' | 'replayTable'>,
): Promise<HotStoreFloorResult> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-floor-'));
  const emulators = await startEmulators({ dataDir, kinesisPort: 0, dynamodbPort: 0 });
  const region = 'us-east-1';
  const client = createDynamoDbDocumentClient({
    aws: { region, dynamodbEndpoint: emulators.dynamodbEndpoint },
  });
  try {
    const tables = { recordTable: 'floor-recorded', replayTable: 'floor-replayed' };
    await ensureHotTable(client, tables.recordTable);
    await ensureHotTable(client, tables.replayTable);
    return await runChild<HotStoreFloorResult>('hot-store-floor-process.ts', {
      ...request,
      ...tables,
      endpoint: emulators.dynamodbEndpoint,
      region,
    } satisfies HotStoreFloorRequest);
  } finally {
    client.destroy();
    await emulators.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * Forks a floor script of this folder as a plain Node process (without the young-generation size
 * `npm run bench` gives this one), sends it the request and resolves with its one answer.
 */
function runChild<T>(script: string, request: object): Promise<T> {
  const child = fork(path.join(__dirname, script), [], {
    execArgv: process.execArgv.filter((arg) => !/^--max[-_]semi[-_]space[-_]size(=|$)/.test(arg)),
  });
  return new Promise<T>((resolve, reject) => {
    child.once('message', (result) => resolve(result as T));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before answering`)));
    child.send(request);
  });
}

/** A bare node:http server that reads and parses a JSON body, then answers: the floor of any endpoint. */
export async function startRawServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { variables?: unknown };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { ok: body.variables !== undefined } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/**
 * The bare node:http server of `startRawServer()`, alone in a child process: the floor of the
 * machine itself, without the event loop, collections and neighbours of whatever process it would
 * otherwise share.
 */
export function startRawServerProcess(): Promise<{ url: string; close(): Promise<void> }> {
  return startServerProcess('raw-server-process.ts');
}

/**
 * A stock Apollo Server 5 + type-graphql server taking Tributary's ingest mutations (the same
 * input and result types) and answering at once, alone in a child process: the floor of a
 * GraphQL server built the usual way with this stack's libraries. Given a stream, it answers once
 * each event is on it: the floor of such a server that writes the events where Tributary does.
 */
export function startApolloFloorProcess(
  stream?: KinesisFloorStream,
): Promise<{ url: string; close(): Promise<void> }> {
  const args = stream === undefined ? [] : [stream.endpoint, stream.region, stream.streamName];
  return startServerProcess('apollo-floor-process.ts', args);
}

/** A Kinesis stream a floor server puts every event to before it answers. */
export interface KinesisFloorStream {
  endpoint: string;
  region: string;
  streamName: string;
}

/** Forks a server script of this folder, which sends its URL back once it listens. */
async function startServerProcess(
  script: string,
  args: string[] = [],
): Promise<{ url: string; close(): Promise<void> }> {
  // The child runs TypeScript the way this one does, but as a plain Node server: without the
  // young-generation size `npm run bench` gives this process.
  const child = fork(path.join(__dirname, script), args, {
    execArgv: process.execArgv.filter((arg) => !/^--max[-_]semi[-_]space[-_]size(=|$)/.test(arg)),
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve(message as string));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before answering`)));
  });
  return {
    url,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await exited;
    },
  };
}

/** Each figure the median of the rounds' (an odd number of rounds: a figure some round measured). */
export function medianResult(results: LoadResult[]): LoadResult {
  const median = (pick: (r: LoadResult) => number) => {
    const sorted = results.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  };
  return {
    requestsPerSec: median((r) => r.requestsPerSec),
    p50: median((r) => r.p50),
    p90: median((r) => r.p90),
    p99: median((r) => r.p99),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    answered: results.reduce((sum, r) => sum + r.answered, 0),
  };
}

/**
 * Wall time, and CPU time of the whole process (DuckDB's worker threads included): on a shared,
 * loaded machine the CPU time says what the work costs, the wall time what this run got.
 */
export async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await run();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, value };
}

/** Seconds per load run; BENCH_DURATION shortens runs for a quick check. */
export function benchDuration(): number {
  const value = Number(process.env.BENCH_DURATION ?? '5');
  return Number.isFinite(value) && value > 0 ? value : 5;
}

/** The machine's 1-minute load average: on a shared machine, how much else ran. */
export const loadAverage = (): number => os.loadavg()[0] ?? 0;

/** The load average at a run's start and end, for the line under its table. */
export function loadAverageLine(atStart: number): string {
  return `Load average (1 min) at the start and the end: ${atStart.toFixed(1)}, ${loadAverage().toFixed(1)} (${os.cpus().length} cores).`;
}

/** The machine line every results section starts with. */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const gib = Math.round(os.totalmem() / 2 ** 30);
  return `${new Date().toISOString().slice(0, 10)} · ${cpu} · ${os.cpus().length} cores · ${gib} GiB · Node ${process.version} · ${os.platform()} ${os.arch()}`;
}

export const fmt = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export const ratio = (value: number, baseline: number): string =>
  baseline > 0 ? `${(value / baseline).toFixed(2)}×` : 'n/a';

/** Puts a results section (`<!-- bench:name -->` … `<!-- /bench:name -->`) into RESULTS.md's text, replacing an older one. */
export function upsertSection(results: string, name: string, about: string, table: string): string {
  const section = `<!-- bench:${name} -->\n## ${name}\n\n${machineLine()}\n\n${about}\n\n${table}\n<!-- /bench:${name} -->`;
  const pattern = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`);
  // A function replacement: a table may contain `$&`-like sequences that replace() would expand.
  return pattern.test(results)
    ? results.replace(pattern, () => section)
    : `${results.trimEnd()}\n\n${section}\n`;
}

/** The write key ingest benchmarks send with; its rate is set out of the way, so runs measure throughput. */
export const BENCH_WRITE_KEY = 'bench-write-key-0123456789';

/**
 * An embedded stack in a temp folder for an ingest benchmark, with the config it started from;
 * `close()` stops it and removes the folder.
 */
export async function startIngestBenchStack(): Promise<
  LocalStack & { config: Config; close(): Promise<void> }
> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-bench-'));
  const config = loadConfig({
    PORT: '0',
    TRIBUTARY_DATA_DIR: dataDir,
    TRIBUTARY_API_KEY: 'bench-key-0123456789',
    TRIBUTARY_WRITE_KEY: BENCH_WRITE_KEY,
    TRIBUTARY_WRITE_KEY_RATE_LIMIT: '1000000',
    TRIBUTARY_KINESIS_PORT: '0',
    TRIBUTARY_DYNAMODB_PORT: '0',
  });
  const stack = await startLocalStack(config);
  return {
    ...stack,
    config,
    close: async () => {
      await stack.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

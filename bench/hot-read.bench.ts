import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { startLocalStack } from '../src/local/stack';
import { generateTraffic } from '../scripts/simulation/generate';
import { sendEvents } from '../scripts/simulation/send';
import { fmt, load, ratio, type LoadResult } from './harness';

const CONNECTIONS = 50;
/** Distinct users the requests rotate over, so the cache sees many keys, not one. */
const USERS_QUERIED = 200;

const TYPENAME = `{ __typename }`;
const RECOMMENDATIONS = `query($u: ID!) { recommendations(userId: $u, limit: 10) { itemId score reason } }`;
const USER = `query($u: ID!) {
  user(id: $u) {
    id eventCount traits sessionCount
    counts { event count }
    sessions { start end events }
    recentEvents(limit: 10) { event itemId timestamp }
    recommendations(limit: 10) { itemId score reason }
  }
}`;

/**
 * Hot reads through GraphQL on the embedded stack loaded by the simulator, beside `{ __typename }`
 * on the same server (what GraphQL, the API key check and HTTP cost without any read).
 */
export async function hotReadBenchmark(): Promise<string> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-bench-hot-'));
  const apiKey = 'bench-key-0123456789';
  const config = loadConfig({
    PORT: '0',
    TRIBUTARY_DATA_DIR: dataDir,
    TRIBUTARY_API_KEY: apiKey,
    TRIBUTARY_KINESIS_PORT: '0',
    TRIBUTARY_DYNAMODB_PORT: '0',
    TRIBUTARY_HOT_CACHE_MS: process.env.TRIBUTARY_HOT_CACHE_MS,
  });
  const stack = await startLocalStack(config);
  try {
    const simulation = generateTraffic({ users: 500, events: 10_000, seed: 1, end: Date.now() });
    const sent = await sendEvents(simulation.events, {
      url: stack.graphqlUrl,
      apiKey,
      batchSize: 250,
      concurrency: 4,
    });
    if (sent.accepted !== simulation.events.length) {
      throw new Error(
        `loading the hot tier: ${sent.rejected} events rejected (${sent.rejections.join('; ')})`,
      );
    }
    // The hot tier on dynalite takes a while per batch; reads are measured once all of it is applied.
    await stack.poller.drain(300_000);

    const users = [...new Set(simulation.events.map((e) => e.userId ?? e.anonymousId))].slice(
      0,
      USERS_QUERIED,
    );
    const bodiesOf = (query: string) => users.map((u) => JSON.stringify({ query, variables: { u } }));
    const headers = { 'x-api-key': apiKey };
    const baseline = await load({
      url: stack.graphqlUrl,
      bodies: [JSON.stringify({ query: TYPENAME })],
      headers,
      connections: CONNECTIONS,
    });
    const rows: Array<[string, LoadResult]> = [];
    for (const [name, bodies] of [
      [`recommendations(userId), ${users.length} users`, bodiesOf(RECOMMENDATIONS)],
      [`user(id) { … recommendations }, ${users.length} users`, bodiesOf(USER)],
      // One hot user: what the cache does for a key read many times within its TTL.
      ['recommendations(userId), 1 user', bodiesOf(RECOMMENDATIONS).slice(0, 1)],
      ['user(id) { … recommendations }, 1 user', bodiesOf(USER).slice(0, 1)],
    ] as const) {
      const result = await load({ url: stack.graphqlUrl, bodies, headers, connections: CONNECTIONS });
      if (result.errors + result.non2xx > 0) {
        throw new Error(`${name}: ${result.errors} errors and ${result.non2xx} non-2xx answers`);
      }
      rows.push([name, result]);
    }
    const row = (name: string, r: LoadResult) =>
      `| ${name} | ${fmt(r.requestsPerSec)} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.p99 <= 10 ? 'yes' : 'no'} | ${ratio(r.requestsPerSec, baseline.requestsPerSec)} |`;
    return [
      `Loaded with ${fmt(simulation.events.length)} simulated events, then queried in rotation over ${fmt(users.length)} users or one; ` +
        `hot read cache ${config.hotCache.ttlMs} ms (\`TRIBUTARY_HOT_CACHE_MS\`).`,
      '',
      '| query | req/s | p50 ms | p90 ms | p99 ms | p99 ≤ 10 ms | req/s vs baseline |',
      '| --- | ---: | ---: | ---: | ---: | :---: | ---: |',
      row('`{ __typename }` (baseline)', baseline),
      ...rows.map(([name, r]) => row(name, r)),
    ].join('\n');
  } finally {
    await stack.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

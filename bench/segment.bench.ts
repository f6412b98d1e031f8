import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { startLocalStack } from '../src/local/stack';
import { fmt, load, ratio, startRawServer, type LoadResult } from './harness';
import { sampleEvent } from './ingest.bench';

const TRACK_MANY = `mutation($e: [TrackEventInput!]!) { trackEvents(events: $e) { accepted rejected } }`;
const EVENTS = 100;

/** The same 100 events `trackEvents` sends, as Segment track calls in one `/v1/batch` body. */
function segmentBatch(): string {
  const batch = Array.from({ length: EVENTS }, (_, i) => ({ type: 'track', ...sampleEvent(i) }));
  return JSON.stringify({ batch, sentAt: new Date().toISOString() });
}

/** `/v1/batch` beside `trackEvents` with the same 100 events, on one embedded stack, in the same run. */
export async function segmentBenchmark(): Promise<string> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-bench-'));
  const writeKey = 'bench-write-key-0123456789';
  const stack = await startLocalStack(
    loadConfig({
      PORT: '0',
      TRIBUTARY_DATA_DIR: dataDir,
      TRIBUTARY_API_KEY: 'bench-key-0123456789',
      TRIBUTARY_WRITE_KEY: writeKey,
      TRIBUTARY_WRITE_KEY_RATE_LIMIT: '1000000',
      TRIBUTARY_KINESIS_PORT: '0',
      TRIBUTARY_DYNAMODB_PORT: '0',
    }),
  );
  const raw = await startRawServer();
  const graphql = JSON.stringify({
    query: TRACK_MANY,
    variables: { e: Array.from({ length: EVENTS }, (_, i) => sampleEvent(i)) },
  });
  const segment = segmentBatch();
  try {
    const rows: Array<[string, LoadResult, LoadResult]> = [];
    for (const [name, url, body, headers] of [
      [`trackEvents (${EVENTS} events)`, stack.graphqlUrl, graphql, { 'x-api-key': writeKey }],
      [
        `POST /v1/batch (${EVENTS} events)`,
        `${stack.url}/v1/batch`,
        segment,
        { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
      ],
    ] as const) {
      const baseline = await load({ url: raw.url, bodies: [body] });
      const measured = await load({ url, bodies: [body], headers });
      if (measured.errors + measured.non2xx > 0)
        throw new Error(`${name}: ${measured.errors} errors and ${measured.non2xx} non-2xx answers`);
      rows.push([name, measured, baseline]);
    }
    return [
      '| operation | req/s | events/s | p50 ms | p90 ms | p99 ms | raw baseline req/s | req/s vs baseline |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map(
        ([name, t, b]) =>
          `| ${name} | ${fmt(t.requestsPerSec)} | ${fmt(t.requestsPerSec * EVENTS)} | ${t.p50} | ${t.p90} | ${t.p99} | ${fmt(b.requestsPerSec)} | ${ratio(t.requestsPerSec, b.requestsPerSec)} |`,
      ),
    ].join('\n');
  } finally {
    await raw.close();
    await stack.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

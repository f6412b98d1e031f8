import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { startLocalStack } from '../src/local/stack';
import { fmt, load, ratio, startRawServer, type LoadResult } from './harness';

const TRACK_ONE = `mutation($e: TrackEventInput!) { trackEvent(event: $e) { messageId status } }`;
const TRACK_MANY = `mutation($e: [TrackEventInput!]!) { trackEvents(events: $e) { accepted rejected } }`;

function sampleEvent(i: number) {
  return {
    event: i % 3 === 0 ? 'product_added_to_cart' : 'product_viewed',
    userId: `bench-user-${i % 50}`,
    properties: { product_id: `sku-${i % 200}`, price: 12.5, currency: 'EUR' },
    context: {
      page: { url: `https://shop.example/p/${i % 200}?utm_source=bench`, path: `/p/${i % 200}` },
      userAgent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
      locale: 'en-GB',
    },
  };
}

/** Ingest through the embedded stack vs. a raw HTTP server, in the same run. */
export async function ingestBenchmark(): Promise<string> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-bench-'));
  const apiKey = 'bench-key-0123456789';
  const stack = await startLocalStack(
    loadConfig({
      PORT: '0',
      TRIBUTARY_DATA_DIR: dataDir,
      TRIBUTARY_API_KEY: apiKey,
      TRIBUTARY_KINESIS_PORT: '0',
      TRIBUTARY_DYNAMODB_PORT: '0',
    }),
  );
  const raw = await startRawServer();
  const one = JSON.stringify({ query: TRACK_ONE, variables: { e: sampleEvent(1) } });
  const many = JSON.stringify({
    query: TRACK_MANY,
    variables: { e: Array.from({ length: 100 }, (_, i) => sampleEvent(i)) },
  });
  const headers = { 'x-api-key': apiKey };
  try {
    const rows: Array<[string, LoadResult, LoadResult, number]> = [];
    for (const [name, body, events] of [
      ['trackEvent (1 event)', one, 1],
      ['trackEvents (100 events)', many, 100],
    ] as const) {
      const baseline = await load({ url: raw.url, bodies: [body] });
      const tributary = await load({ url: stack.graphqlUrl, bodies: [body], headers });
      if (tributary.errors + tributary.non2xx > 0) {
        throw new Error(`${name}: ${tributary.errors} errors and ${tributary.non2xx} non-2xx answers`);
      }
      rows.push([name, tributary, baseline, events]);
    }
    const lines = [
      '| operation | req/s | events/s | p50 ms | p90 ms | p99 ms | raw baseline req/s | raw p99 ms | req/s vs baseline |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map(
        ([name, t, b, events]) =>
          `| ${name} | ${fmt(t.requestsPerSec)} | ${fmt(t.requestsPerSec * events)} | ${t.p50} | ${t.p90} | ${t.p99} | ${fmt(b.requestsPerSec)} | ${b.p99} | ${ratio(t.requestsPerSec, b.requestsPerSec)} |`,
      ),
    ];
    return lines.join('\n');
  } finally {
    await raw.close();
    await stack.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

import 'reflect-metadata';
import { parse, type OperationDefinitionNode } from 'graphql';
import { InMemoryRateLimiter } from '../src/access/memory/in-memory-rate-limiter';
import type { ApiKeyStore } from '../src/access/port';
import { operationCost } from '../src/api/query-budget';
import { buildTributarySchema } from '../src/api/build-schema';
import { AccessService } from '../src/services/access-service';
import {
  BENCH_WRITE_KEY,
  fmt,
  load,
  ratio,
  startIngestBenchStack,
  startRawServer,
  type LoadResult,
} from './harness';

const TRACK_ONE = `mutation($e: TrackEventInput!) { trackEvent(event: $e) { messageId status } }`;
const TRACK_MANY = `mutation($e: [TrackEventInput!]!) { trackEvents(events: $e) { accepted rejected } }`;

export function sampleEvent(i: number) {
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
  const stack = await startIngestBenchStack();
  const raw = await startRawServer();
  const one = JSON.stringify({ query: TRACK_ONE, variables: { e: sampleEvent(1) } });
  const many = JSON.stringify({
    query: TRACK_MANY,
    variables: { e: Array.from({ length: 100 }, (_, i) => sampleEvent(i)) },
  });
  const headers = { 'x-api-key': BENCH_WRITE_KEY };
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
    return [...lines, '', await accessCheckCost(one)].join('\n');
  } finally {
    await raw.close();
    await stack.close();
  }
}

/**
 * What the access checks add to each request, timed in this process: authenticating the write key
 * (constant-time compare, token bucket) and pricing the trackEvent operation for the query budget.
 */
async function accessCheckCost(body: string): Promise<string> {
  const unused: ApiKeyStore = {
    create: () => Promise.reject(new Error('unused')),
    findBySecretHash: () => Promise.resolve(null),
    list: () => Promise.resolve([]),
    revoke: () => Promise.resolve(null),
    touch: () => Promise.resolve(),
  };
  const access = new AccessService({
    store: unused,
    limiter: new InMemoryRateLimiter(),
    bootstrap: () =>
      Promise.resolve({
        secretKey: 'bench-key-0123456789',
        writeKey: BENCH_WRITE_KEY,
        userTokenSecret: 'x'.repeat(32),
      }),
    limits: {
      defaultRatePerSecond: { WRITE: 1e6, SECRET: 1e6 },
      bootstrapRatePerSecond: { WRITE: 1e6, SECRET: 1e6 },
      keyCacheMs: 60_000,
    },
  });
  const { query, variables } = JSON.parse(body) as { query: string; variables: Record<string, unknown> };
  const schema = buildTributarySchema();
  const document = parse(query);
  const operation = document.definitions[0] as OperationDefinitionNode;
  const rounds = 20_000;
  const time = async (run: () => unknown): Promise<number> => {
    for (let i = 0; i < 1000; i++) await run();
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) await run();
    return Number(process.hrtime.bigint() - started) / 1000 / rounds;
  };
  const authenticate = await time(() =>
    access.authenticate({ apiKey: BENCH_WRITE_KEY, origin: undefined, authorization: undefined }),
  );
  const price = await time(() => operationCost(schema, document, operation, variables));
  return `Access checks per request, in process: authenticating the write key ${authenticate.toFixed(1)} µs, pricing trackEvent for the query budget ${price.toFixed(1)} µs.`;
}

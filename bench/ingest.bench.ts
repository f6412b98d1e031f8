import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { parse, type OperationDefinitionNode } from 'graphql';
import { InMemoryRateLimiter } from '../src/access/memory/in-memory-rate-limiter';
import type { ApiKeyStore } from '../src/access/port';
import { operationCost } from '../src/api/query-budget';
import { buildTributarySchema } from '../src/api/build-schema';
import { AccessService } from '../src/services/access-service';
import { createKinesisClient } from '../src/aws/clients';
import { ensureStream } from '../src/local/emulators';
import {
  BENCH_WRITE_KEY,
  benchDuration,
  fmt,
  kinesisFloor,
  load,
  loadAverage,
  loadAverageLine,
  medianResult,
  ratio,
  startApolloFloorProcess,
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

/** The stream the Kinesis floor puts to: on the stack's emulator, but not one its pipeline reads. */
const FLOOR_STREAM = 'bench-kinesis-floor';
/** The stream the Apollo floor that writes puts its events to, likewise unread. */
const WRITING_FLOOR_STREAM = 'bench-apollo-floor-writes';

/** The records IngestService would put for these events: the edge's record body as JSON, keyed by user. */
function edgeRecords(events: Array<ReturnType<typeof sampleEvent>>) {
  const receivedAt = new Date().toISOString();
  return events.map((event) => ({
    partitionKey: event.userId,
    data: JSON.stringify({
      messageId: randomUUID(),
      ...event,
      receivedAt,
      source: 'graphql',
      sourceIp: '127.0.0.1',
      requestUserAgent: 'autocannon',
    }),
  }));
}

/** Target ratios of the issue: trackEvent to the Apollo floor, trackEvents(100) to the Kinesis floor. */
const TARGET_VS_APOLLO = 0.5;
const TARGET_VS_KINESIS = 0.7;

/** Load runs per operation and server, taking turns; the table shows medians. */
export const INGEST_ROUNDS = 3;

/**
 * Ingest through the embedded stack beside two floors, in the same run: a stock Apollo Server +
 * type-graphql server taking the same mutations and answering at once (in its own process), and a
 * raw node:http server parsing the same body (in the stack's process).
 */
export async function ingestBenchmark(): Promise<string> {
  const loadAverageAtStart = loadAverage();
  const stack = await startIngestBenchStack();
  const raw = await startRawServer();
  const apollo = await startApolloFloorProcess();
  const one = JSON.stringify({ query: TRACK_ONE, variables: { e: sampleEvent(1) } });
  const hundred = Array.from({ length: 100 }, (_, i) => sampleEvent(i));
  const many = JSON.stringify({ query: TRACK_MANY, variables: { e: hundred } });
  const { region } = stack.config.aws;
  const kinesis = createKinesisClient({ aws: { region, kinesisEndpoint: stack.kinesisEndpoint } });
  await ensureStream(kinesis, FLOOR_STREAM, stack.config.localShards);
  await ensureStream(kinesis, WRITING_FLOOR_STREAM, stack.config.localShards);
  kinesis.destroy();
  const writingApollo = await startApolloFloorProcess({
    endpoint: stack.kinesisEndpoint,
    region,
    streamName: WRITING_FLOOR_STREAM,
  });
  const floorRequest = {
    endpoint: stack.kinesisEndpoint,
    region,
    streamName: FLOOR_STREAM,
    records: edgeRecords(hundred),
    connections: 10,
    durationSec: benchDuration(),
  };
  const kinesisRounds: number[] = [];
  const headers = { 'x-api-key': BENCH_WRITE_KEY };
  try {
    const lines = [
      '| operation | req/s | events/s | p50 ms | p90 ms | p99 ms | Apollo floor req/s | Apollo floor writing to kinesalite req/s | raw floor req/s | req/s vs Apollo floor | writing floor vs Apollo floor | req/s vs writing floor | req/s vs raw floor | req/s per round |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ];
    const verdicts: string[] = [];
    const cpuLines: string[] = [];
    for (const [name, body, events] of [
      ['trackEvent (1 event)', one, 1],
      ['trackEvents (100 events)', many, 100],
    ] as const) {
      const rounds = {
        tributary: [] as LoadResult[],
        apollo: [] as LoadResult[],
        writing: [] as LoadResult[],
        raw: [] as LoadResult[],
      };
      const cpuPerRequest: number[] = [];
      // The servers take turns round by round, so a slow spell of a shared machine weighs on all.
      for (let round = 0; round < INGEST_ROUNDS; round += 1) {
        rounds.raw.push(await load({ url: raw.url, bodies: [body], headers }));
        rounds.apollo.push(await load({ url: apollo.url, bodies: [body], headers }));
        rounds.writing.push(await load({ url: writingApollo.url, bodies: [body], headers }));
        if (events === 100) {
          const floor = await kinesisFloor(floorRequest);
          if (floor.failedRecords > 0)
            throw new Error(`Kinesis floor: ${floor.failedRecords} records failed`);
          kinesisRounds.push(floor.recordsPerSec);
        }
        const cpuBefore = process.cpuUsage();
        const tributary = await load({ url: stack.graphqlUrl, bodies: [body], headers });
        const cpu = process.cpuUsage(cpuBefore);
        if (tributary.errors + tributary.non2xx > 0) {
          throw new Error(`${name}: ${tributary.errors} errors and ${tributary.non2xx} non-2xx answers`);
        }
        rounds.tributary.push(tributary);
        cpuPerRequest.push((cpu.user + cpu.system) / 1000 / Math.max(1, tributary.answered));
      }
      const t = medianResult(rounds.tributary);
      const a = medianResult(rounds.apollo);
      const b = medianResult(rounds.raw);
      const w = medianResult(rounds.writing);
      const perRound = rounds.tributary.map((r) => fmt(r.requestsPerSec)).join(', ');
      if (events === 1) {
        const vsApollo = t.requestsPerSec / a.requestsPerSec;
        const writingVsApollo = w.requestsPerSec / a.requestsPerSec;
        verdicts.push(
          `trackEvent: ${ratio(t.requestsPerSec, a.requestsPerSec)} the Apollo floor's req/s (target ≥ ${TARGET_VS_APOLLO}×: ${vsApollo >= TARGET_VS_APOLLO ? 'met' : 'not met'}). ` +
            `The same Apollo floor putting each event to the stack's kinesalite before it answers (through the API's own producer: group commit over the SDK's PutRecords) reaches ${ratio(w.requestsPerSec, a.requestsPerSec)} of it, ` +
            (writingVsApollo < TARGET_VS_APOLLO
              ? `below the target by itself: no server that acknowledges an event once the emulator holds it reaches the target here, so it is blocked by the emulator. Tributary reaches ${ratio(t.requestsPerSec, w.requestsPerSec)} of that writing floor.`
              : `so the emulator alone does not bound the target. Tributary reaches ${ratio(t.requestsPerSec, w.requestsPerSec)} of that writing floor.`),
        );
      } else {
        const floor = [...kinesisRounds].sort((x, y) => x - y)[Math.floor(kinesisRounds.length / 2)] ?? 0;
        const eventsPerSec = t.requestsPerSec * events;
        verdicts.push(
          `trackEvents (100 events): ${fmt(eventsPerSec)} events/s beside ${fmt(floor)} events/s that the Kinesis emulator accepts ` +
            `for the same 100 records through PutRecords from a separate process (10 calls in flight; per round ${kinesisRounds.map((r) => fmt(r)).join(', ')}): ` +
            `${ratio(eventsPerSec, floor)} (target ≥ ${TARGET_VS_KINESIS}×: ${eventsPerSec >= TARGET_VS_KINESIS * floor ? 'met' : 'not met'}). ` +
            `The Apollo floor putting the same events to kinesalite before it answers takes ${fmt(w.requestsPerSec * events)} events/s: ${ratio(w.requestsPerSec * events, floor)} of the Kinesis floor.`,
        );
      }
      const cpuMedian = [...cpuPerRequest].sort((x, y) => x - y)[Math.floor(cpuPerRequest.length / 2)] ?? 0;
      cpuLines.push(`${name} ${cpuMedian.toFixed(2)} ms`);
      lines.push(
        `| ${name} | ${fmt(t.requestsPerSec)} | ${fmt(t.requestsPerSec * events)} | ${t.p50} | ${t.p90} | ${t.p99} | ${fmt(a.requestsPerSec)} | ${fmt(w.requestsPerSec)} | ${fmt(b.requestsPerSec)} | ${ratio(t.requestsPerSec, a.requestsPerSec)} | ${ratio(w.requestsPerSec, a.requestsPerSec)} | ${ratio(t.requestsPerSec, w.requestsPerSec)} | ${ratio(t.requestsPerSec, b.requestsPerSec)} | ${perRound} |`,
      );
    }
    return [
      ...lines,
      '',
      ...verdicts.flatMap((v) => [v, '']),
      // The stack's threads share the cores with the load generator: once the cores are all busy,
      // req/s follows this figure more than any one thread's work.
      `CPU of the stack's process per request, all its threads (API, kinesalite, dynalite, pipeline; median of the rounds): ${cpuLines.join(', ')}.`,
      '',
      loadAverageLine(loadAverageAtStart),
      '',
      await accessCheckCost(one),
    ].join('\n');
  } finally {
    await apollo.close();
    await writingApollo.close();
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

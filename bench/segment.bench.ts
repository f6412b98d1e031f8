import 'reflect-metadata';
import {
  BENCH_WRITE_KEY,
  fmt,
  load,
  ratio,
  startIngestBenchStack,
  startRawServer,
  type LoadResult,
} from './harness';
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
  const stack = await startIngestBenchStack();
  const raw = await startRawServer();
  const graphql = JSON.stringify({
    query: TRACK_MANY,
    variables: { e: Array.from({ length: EVENTS }, (_, i) => sampleEvent(i)) },
  });
  const segment = segmentBatch();
  try {
    const rows: Array<[string, LoadResult, LoadResult]> = [];
    for (const [name, url, body, headers] of [
      [`trackEvents (${EVENTS} events)`, stack.graphqlUrl, graphql, { 'x-api-key': BENCH_WRITE_KEY }],
      [
        `POST /v1/batch (${EVENTS} events)`,
        `${stack.url}/v1/batch`,
        segment,
        { authorization: `Basic ${Buffer.from(`${BENCH_WRITE_KEY}:`).toString('base64')}` },
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
  }
}

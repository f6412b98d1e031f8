import { performance } from 'node:perf_hooks';
import { BENCH_WRITE_KEY, fmt, load, loadAverage, loadAverageLine, startIngestBenchStack } from './harness';

const TRACK_MANY = `mutation($e: [TrackEventInput!]!) { trackEvents(events: $e) { accepted rejected } }`;

/** The shop the sustained load comes from: this many distinct users and items. */
export const SUSTAIN_USERS = 5000;
export const SUSTAIN_ITEMS = 700;
/** Events per request, and requests per second over all connections. */
const EVENTS_PER_REQUEST = 100;
export const SUSTAIN_EVENTS_PER_SEC = 1000;
/** How long after the load stops everything acknowledged must be in the warehouse and hot tier. */
export const CATCH_UP_TARGET_SEC = 30;
/** A stack that has not caught up by then is reported as not caught up; it bounds the run's length. */
const CATCH_UP_LIMIT_MS = 5 * 60_000;

/** Seconds of sustained load; BENCH_SUSTAIN_SEC sets it (the recorded figure is a 180-second run). */
export function sustainDuration(): number {
  const value = Number(process.env.BENCH_SUSTAIN_SEC ?? '60');
  return Number.isFinite(value) && value > 0 ? value : 60;
}

function shopEvent(n: number) {
  const item = `sku-${(n * 7919) % SUSTAIN_ITEMS}`;
  return {
    event: n % 5 === 0 ? 'product_added_to_cart' : 'product_viewed',
    userId: `shopper-${n % SUSTAIN_USERS}`,
    properties: { product_id: item, price: 12.5, currency: 'EUR' },
    context: {
      page: { url: `https://shop.example/p/${item}?utm_source=bench`, path: `/p/${item}` },
      userAgent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
      locale: 'en-GB',
    },
  };
}

/** trackEvents bodies that together name every user once per rotation. */
export function shopBodies(): string[] {
  const count = SUSTAIN_USERS / EVENTS_PER_REQUEST;
  return Array.from({ length: count }, (_, body) =>
    JSON.stringify({
      query: TRACK_MANY,
      variables: {
        e: Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => shopEvent(body * EVENTS_PER_REQUEST + i)),
      },
    }),
  );
}

/** Samples the process's resident set size every second; `stop()` returns the samples in MiB. */
function sampleRss(): { stop(): number[] } {
  const samples: number[] = [];
  const take = () => samples.push(process.memoryUsage.rss() / 2 ** 20);
  take();
  const timer = setInterval(take, 1000);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

const seconds = (ms: number) => fmt(ms / 1000, 1);
const notCaughtUp = `not within ${CATCH_UP_LIMIT_MS / 60_000} min`;

/**
 * A steady 1,000 events/s (100 per request, 5,000 users, 700 items) from a paced child process for
 * `sustainDuration()` seconds against the embedded stack, then the time until everything
 * acknowledged has been processed (the stream processor's checkpoints at the end of the stream:
 * hot tier and lake written) and loaded into the warehouse. The process's RSS is sampled throughout.
 */
export async function sustainBenchmark(): Promise<string> {
  const loadAverageAtStart = loadAverage();
  const stack = await startIngestBenchStack();
  const durationSec = sustainDuration();
  try {
    const rss = sampleRss();
    const loaded: Array<{ atSec: number; rows: number }> = [];
    const started = performance.now();
    const progress = setInterval(() => {
      void stack.warehouse
        .rowCount()
        .then((rows) => loaded.push({ atSec: (performance.now() - started) / 1000, rows }));
    }, 5000);
    const result = await load({
      url: stack.graphqlUrl,
      bodies: shopBodies(),
      headers: { 'x-api-key': BENCH_WRITE_KEY },
      connections: 10,
      overallRate: SUSTAIN_EVENTS_PER_SEC / EVENTS_PER_REQUEST,
      durationSec,
    });
    const stopped = performance.now();
    clearInterval(progress);
    if (result.errors + result.non2xx > 0) {
      throw new Error(`sustain: ${result.errors} errors and ${result.non2xx} non-2xx answers`);
    }
    const acknowledged = result.answered * EVENTS_PER_REQUEST;
    const rowsAtStop = await stack.warehouse.rowCount();

    // Undefined when the drain times out: handled at once, so its failure is never unhandled.
    const processed = stack.pipeline.drain(CATCH_UP_LIMIT_MS).then(
      () => performance.now() - stopped,
      () => undefined,
    );
    let warehouseMs: number | undefined;
    while (performance.now() - stopped < CATCH_UP_LIMIT_MS) {
      if ((await stack.warehouse.rowCount()) >= acknowledged) {
        warehouseMs = performance.now() - stopped;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const processedMs = await processed;
    const memory = rss.stop();
    const caughtUpMs = Math.max(processedMs ?? Infinity, warehouseMs ?? Infinity);

    const third = Math.max(1, Math.floor(memory.length / 3));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const middle = mean(memory.slice(third, 2 * third));
    const last = mean(memory.slice(2 * third));
    const loadSec = (stopped - started) / 1000;
    const progressLine = loaded.map((p) => `${fmt(p.atSec)} s: ${fmt(p.rows)}`).join(', ');
    return [
      `${fmt(acknowledged)} events acknowledged in ${fmt(loadSec, 1)} s (${fmt(acknowledged / loadSec)} events/s, ` +
        `request p50 ${result.p50} ms, p99 ${result.p99} ms); in the warehouse when the load stopped: ${fmt(rowsAtStop)} ` +
        `(${fmt(rowsAtStop / loadSec)} events/s processed and loaded while it ran).`,
      '',
      '| measure | value | target |',
      '| --- | ---: | ---: |',
      `| load stop → stream processed to its end (hot tier, lake) | ${processedMs === undefined ? notCaughtUp : `${seconds(processedMs)} s`} | ≤ ${CATCH_UP_TARGET_SEC} s |`,
      `| load stop → every acknowledged event in the warehouse | ${warehouseMs === undefined ? notCaughtUp : `${seconds(warehouseMs)} s`} | ≤ ${CATCH_UP_TARGET_SEC} s |`,
      `| caught up | ${caughtUpMs <= CATCH_UP_TARGET_SEC * 1000 ? 'yes' : 'no'} | yes |`,
      `| RSS: start, mean of the middle third, mean of the last third, peak (MiB) | ${fmt(memory[0] ?? 0)}, ${fmt(middle)}, ${fmt(last)}, ${fmt(Math.max(...memory))} | levels off |`,
      '',
      `Warehouse rows during the load: ${progressLine}.`,
      '',
      loadAverageLine(loadAverageAtStart),
    ].join('\n');
  } finally {
    await stack.close();
  }
}

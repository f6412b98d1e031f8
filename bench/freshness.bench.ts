import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_WRITE_KEY, fmt, load, loadAverage, loadAverageLine, startIngestBenchStack } from './harness';
import { shopBodies } from './shop-events';
import { SUSTAIN_EVENTS_PER_SEC } from './sustain.bench';

const PROBE_EVENT = 'freshness_probe';
const TRACK_ONE = `mutation($e: TrackEventInput!) { trackEvent(event: $e) { messageId status } }`;
const USER = `query($u: ID!) { user(id: $u) { eventCount } }`;
const COUNTS = `query($f: DateTimeISO!, $t: DateTimeISO!) {
  eventCounts(events: ["${PROBE_EVENT}"], from: $f, to: $t, granularity: DAY, groupBy: []) { count }
}`;

/** Targets of the issue: p95 from acknowledgement to the hot tier, and to the warehouse. */
const USER_TARGET_MS = 1000;
const COUNTS_TARGET_MS = 5000;
/** A probe not visible by then counts as this long (and the run says so). */
const PROBE_LIMIT_MS = 60_000;
/** How often a probe asks: the figures are this coarse. */
const USER_POLL_MS = 10;
const COUNTS_POLL_MS = 50;
/** Pause between one probe being seen everywhere and the next being sent. */
const PROBE_GAP_MS = 250;

/** Seconds of background load with probes; BENCH_FRESHNESS_SEC sets it. */
export function freshnessDuration(): number {
  const value = Number(process.env.BENCH_FRESHNESS_SEC ?? '45');
  return Number.isFinite(value) && value > 0 ? value : 45;
}

/** Half the sustained rate: 500 events/s in requests of 100. */
export const FRESHNESS_EVENTS_PER_SEC = SUSTAIN_EVENTS_PER_SEC / 2;

async function graphql(url: string, key: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (body.errors !== undefined) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data ?? {};
}

/** Polls `seen` every `everyMs` until it is true; the time from `since`, or undefined past the limit. */
async function until(
  since: number,
  everyMs: number,
  seen: () => Promise<boolean>,
): Promise<number | undefined> {
  while (performance.now() - since < PROBE_LIMIT_MS) {
    if (await seen()) return performance.now() - since;
    await sleep(everyMs);
  }
  return undefined;
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/**
 * Under a steady background load of half the sustained rate, probe events one after another: each
 * a trackEvent for a user of its own, then timed from its acknowledgement until `user(id)` counts
 * it (hot tier) and until `eventCounts` does (warehouse).
 */
export async function freshnessBenchmark(): Promise<string> {
  const loadAverageAtStart = loadAverage();
  const stack = await startIngestBenchStack();
  const durationSec = freshnessDuration();
  const run = Date.now().toString(36);
  const day = new Date();
  day.setUTCHours(0, 0, 0, 0);
  const range = { f: day.toISOString(), t: new Date(day.getTime() + 86_400_000).toISOString() };
  try {
    const background = load({
      url: stack.graphqlUrl,
      bodies: shopBodies(),
      headers: { 'x-api-key': BENCH_WRITE_KEY },
      connections: 5,
      overallRate: FRESHNESS_EVENTS_PER_SEC / 100,
      durationSec,
    });
    let running = true;
    // Its failure is reported where it is awaited, below.
    const stop = () => {
      running = false;
    };
    background.then(stop, stop);
    // The background load's first requests warm the stack before the first probe.
    await sleep(2000);
    const toUser: number[] = [];
    const toCounts: number[] = [];
    let missed = 0;
    for (let probe = 1; running; probe += 1) {
      const userId = `probe-${run}-${probe}`;
      await graphql(stack.graphqlUrl, BENCH_WRITE_KEY, TRACK_ONE, { e: { event: PROBE_EVENT, userId } });
      const acked = performance.now();
      const [user, counts] = await Promise.all([
        until(acked, USER_POLL_MS, async () => {
          const data = await graphql(stack.graphqlUrl, stack.apiKey, USER, { u: userId });
          return ((data.user as { eventCount: number } | null)?.eventCount ?? 0) >= 1;
        }),
        until(acked, COUNTS_POLL_MS, async () => {
          const data = await graphql(stack.graphqlUrl, stack.apiKey, COUNTS, range);
          const rows = data.eventCounts as Array<{ count: number }>;
          return rows.reduce((sum, row) => sum + row.count, 0) >= probe;
        }),
      ]);
      if (user === undefined || counts === undefined) missed += 1;
      toUser.push(user ?? PROBE_LIMIT_MS);
      toCounts.push(counts ?? PROBE_LIMIT_MS);
      await sleep(PROBE_GAP_MS);
    }
    const result = await background;
    if (result.errors + result.non2xx > 0) {
      throw new Error(`freshness: ${result.errors} errors and ${result.non2xx} non-2xx answers`);
    }
    const { poller, lake, loader } = stack.config;
    const row = (name: string, values: number[], target: number) => {
      const p95 = percentile(values, 0.95);
      return `| ${name} | ${fmt(percentile(values, 0.5))} | ${fmt(p95)} | ${fmt(Math.max(...values))} | ≤ ${fmt(target)} ms ${p95 <= target ? '✓' : '✗'} |`;
    };
    return [
      `${toUser.length} probes${missed > 0 ? ` (${missed} not seen within ${PROBE_LIMIT_MS / 1000} s)` : ''} over ${durationSec} s of background load at ` +
        `${fmt(result.requestsPerSec * 100)} events/s (background request p99 ${result.p99} ms). Settings: poller batching window ` +
        `${poller.batchWindowMs} ms, idle read ${poller.idleMs} to ${poller.maxIdleMs} ms, lake flush every ${lake.flushIntervalMs} ms, ` +
        `warehouse load every ${loader.intervalMs} ms.`,
      '',
      '| from acknowledgement to | p50 ms | p95 ms | max ms | target (p95) |',
      '| --- | ---: | ---: | ---: | ---: |',
      row('its count in `user(id)` (hot tier)', toUser, USER_TARGET_MS),
      row('its count in `eventCounts` (warehouse)', toCounts, COUNTS_TARGET_MS),
      '',
      loadAverageLine(loadAverageAtStart),
    ].join('\n');
  } finally {
    await stack.close();
  }
}

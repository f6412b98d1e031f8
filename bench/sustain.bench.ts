import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEFAULT_WRITE_CONCURRENCY } from '../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import {
  BENCH_WRITE_KEY,
  fmt,
  hotStoreFloor,
  load,
  loadAverage,
  loadAverageLine,
  ratio,
  startIngestBenchStack,
} from './harness';
import type { HotStoreFloorResult } from './hot-store-floor-process';
import { EVENTS_PER_REQUEST, shopBodies } from './shop-events';

/** Events per second of the sustained load, over all connections. */
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
  const run = await sustainRun();
  // After the stack has stopped, so the store has the machine the stack had.
  const floor = await hotStoreFloor({
    batchSize: run.batchSize,
    // The stack folds once per fold interval: at the sustained rate, after this many full batches.
    foldEvery: Math.max(1, Math.round((SUSTAIN_EVENTS_PER_SEC * run.foldIntervalMs) / 1000 / run.batchSize)),
    warmRotations: 1,
    timedRotations: 1,
    concurrency: run.writeConcurrency,
  });
  return [
    ...run.lines,
    '',
    ...floorLines(floor, run.processedPerSec),
    '',
    loadAverageLine(loadAverageAtStart),
  ].join('\n');
}

/** What the sustained run measured, as the section's lines, and the figures the floor is set beside. */
interface SustainRun {
  lines: string[];
  /** Events in the warehouse at the end of the wait over the time since the load started. */
  processedPerSec: number;
  /** The stack's poller batch size: the batches its hot tier was written in while behind. */
  batchSize: number;
  /** How often the stack folds pending item and trend changes. */
  foldIntervalMs: number;
  writeConcurrency: number;
}

async function sustainRun(): Promise<SustainRun> {
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
    // Everything processed by the end of the wait, or as much as was: the rate the stack kept up.
    const rowsAtEnd = await stack.warehouse.rowCount();
    const processedPerSec = rowsAtEnd / ((performance.now() - started) / 1000);
    const processedMs = await processed;
    const memory = rss.stop();
    const caughtUpMs = Math.max(processedMs ?? Infinity, warehouseMs ?? Infinity);

    const third = Math.max(1, Math.floor(memory.length / 3));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const middle = mean(memory.slice(third, 2 * third));
    const last = mean(memory.slice(2 * third));
    const loadSec = (stopped - started) / 1000;
    const progressLine = loaded.map((p) => `${fmt(p.atSec)} s: ${fmt(p.rows)}`).join(', ');
    const lines = [
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
    ];
    return {
      lines,
      processedPerSec,
      batchSize: stack.config.poller.batchSize,
      foldIntervalMs: stack.config.hotFold.intervalMs,
      writeConcurrency: DEFAULT_WRITE_CONCURRENCY,
    };
  } finally {
    await stack.close();
  }
}

const OPERATION_NAMES: Record<string, string> = {
  BatchGetItem: 'BatchGetItem (strongly consistent: profiles and identities; at a fold, items and trends)',
  BatchWriteItem: 'BatchWriteItem (pending-log appends; at a fold, its deletes)',
  PutItem: 'conditional PutItem (one per changed key: profiles; at a fold, items and trends)',
  GetItem: 'GetItem (a conflict read again)',
  Query: 'Query (a fold reading the pending log, strongly consistent)',
};

/** The hot store floor beside the run's processing rate, and the request mix it was measured with. */
function floorLines(floor: HotStoreFloorResult, processedPerSec: number): string[] {
  const blocked =
    floor.storeEventsPerSec < SUSTAIN_EVENTS_PER_SEC
      ? `The store itself takes fewer than ${fmt(SUSTAIN_EVENTS_PER_SEC)} events/s on this machine, so the ${fmt(SUSTAIN_EVENTS_PER_SEC)} events/s target is out of reach here whatever the pipeline does.`
      : `The store itself takes the ${fmt(SUSTAIN_EVENTS_PER_SEC)} events/s the target asks for.`;
  // The adapter's side needs this share of a core at the target rate; the store, at the target
  // over its floor, about as much of its own thread (the replay client is light).
  const adapterCores = (floor.adapterCpuUsPerEvent * SUSTAIN_EVENTS_PER_SEC) / 1e6;
  const storeCores = SUSTAIN_EVENTS_PER_SEC / floor.storeEventsPerSec;
  const budget =
    `CPU at ${fmt(SUSTAIN_EVENTS_PER_SEC)} events/s: the adapter's side (the engine and the SDK's calls) took ` +
    `${fmt(floor.adapterCpuUsPerEvent)} µs of CPU an event, ${fmt(adapterCores, 2)} of a core at that rate; the store, ` +
    `which takes ${fmt(floor.storeEventsPerSec)} events/s on its one thread, about ${fmt(storeCores, 2)} of a core more: ` +
    `${fmt(adapterCores + storeCores, 2)} cores for the hot tier alone, before the stream's reads, the lake, ` +
    `the warehouse loads and the API, on a machine of ${fmt(availableParallelism())}.`;
  return [
    `**Hot store floor**, measured right after in the same run: dynalite started as the stack starts it (worker thread, persisted to a temp folder) ` +
      `takes the requests the hot tier's adapter sends for the same shop events in batches of the poller's size, ` +
      `with a fold of the pending item and trend changes every ${fmt(floor.eventsPerFold)} events (the stack's fold interval at ${fmt(SUSTAIN_EVENTS_PER_SEC)} events/s), replayed raw from a child process ` +
      `(${fmt(floor.timedEvents)} events and ${fmt(floor.timedFolds)} folds timed, after one rotation through every user; ${floor.replayErrors} requests refused).`,
    '',
    '| per 100 events the adapter sends | calls | keys or items | mean body (bytes) |',
    '| --- | ---: | ---: | ---: |',
    ...floor.mix.map(
      (m) =>
        `| ${OPERATION_NAMES[m.operation] ?? m.operation} | ${fmt(m.per100Events, 1)} | ${fmt(m.keysPer100Events)} | ${fmt(m.meanBodyBytes)} |`,
    ),
    '',
    '| events/s | value | vs store floor |',
    '| --- | ---: | ---: |',
    `| the store taking the adapter's requests raw (floor) | ${fmt(floor.storeEventsPerSec)} | 1.00× |`,
    `| the adapter (SDK calls) writing to the store, nothing else | ${fmt(floor.adapterEventsPerSec)} | ${ratio(floor.adapterEventsPerSec, floor.storeEventsPerSec)} |`,
    `| the stack processing the sustained load (events in the warehouse ÷ time from the load's start until counted) | ${fmt(processedPerSec)} | ${ratio(processedPerSec, floor.storeEventsPerSec)} |`,
    '',
    blocked,
    '',
    budget,
  ];
}

import 'reflect-metadata';
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BENCH_WRITE_KEY,
  fmt,
  load,
  loadAverage,
  loadAverageLine,
  medianResult,
  ratio,
  startIngestBenchStack,
  type LoadResult,
} from './harness';
import { sampleEvent } from './ingest.bench';
import type { SubscribersAnswer, SubscribersRequest } from './live-subscribers-process';

const TRACK_MANY = `mutation($e: [TrackEventInput!]!) { trackEvents(events: $e) { accepted rejected } }`;
const EVENTS = 100;
/** Rounds of each kind, taking turns: an odd number, so each median is a round's. */
export const LIVE_ROUNDS = 5;
/** Longest wait for the stack to go quiet before a round (see settle). */
const SETTLE_MAX_MS = 3_000;

/** One subscriber sees everything; nine watch slices of the load (or nothing of it), as people debugging would. */
export const LIVE_FILTERS: Array<Record<string, unknown> | null> = [
  null,
  { events: ['product_added_to_cart'] },
  { userId: 'bench-user-1' },
  { userId: 'bench-user-2', events: ['product_viewed'] },
  { anonymousId: 'bench-nobody' },
  { statuses: ['REJECTED'] },
  { statuses: ['FAILED'] },
  { statuses: ['SUPPRESSED'] },
  { events: ['order_completed', 'checkout_started'] },
  { userId: 'bench-user-3', statuses: ['ACCEPTED'] },
];

/** The subscribers' process (live-subscribers-process.ts), alive for the whole benchmark. */
function subscribersProcess(url: string, apiKey: string) {
  const child = fork(path.join(__dirname, 'live-subscribers-process.ts'), [], { execArgv: process.execArgv });
  const ask = <K extends SubscribersAnswer['kind']>(request: SubscribersRequest, kind: K) =>
    new Promise<Extract<SubscribersAnswer, { kind: K }>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`subscribers exited with ${code}`));
      const onMessage = (message: SubscribersAnswer) => {
        if (message.kind !== kind) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as Extract<SubscribersAnswer, { kind: K }>);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(request);
    });
  return {
    subscribe: () => ask({ kind: 'subscribe', url, apiKey, filters: LIVE_FILTERS }, 'ready'),
    unsubscribe: () => ask({ kind: 'unsubscribe' }, 'unsubscribed'),
    close: () => child.disconnect(),
  };
}

/** What CPU profiles of the API thread found the live view costs, and what bounds the figures. */
const LIVE_COST_NOTE =
  'CPU profiles of the API thread (ten subscribers, 1,000 events/s paced for 10 s, the two profiles taken ' +
  'back to back) put the live view at 146 µs of CPU per delivered event when every message was a write of ' +
  'its own (`writev` alone 60 % of it) and every event coerced the filter again, and at 63 µs once a ' +
  "connection's messages of one turn leave in one write and each event runs the document without the root " +
  "field's arguments. Of what is left, executing and serialising each event (graphql-js, type-graphql, " +
  "graphql-ws) is about 45 %, ws's framing and send 30 %, building live events at the edge for every " +
  "event while anyone watches, those every subscription's filter or rate then drops included, 15 %, and " +
  "the hub's matching 10 %. Beside it the subscribers' own process (a graphql-ws client parsing every " +
  'message) runs on the same cores, and on a shared machine so does other work: rounds at a load average ' +
  'well above the core count measure the machine more than the live view.';

/** CPU time the process's main thread (the API's event loop) has used, µs; undefined off Linux. */
function apiThreadCpuMicros(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // utime and stime, the 14th and 15th fields, in clock ticks (100 a second on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the stack's process is quiet (under a tenth of a core for a quarter second): the
 * stream processor works through a round's records after the load stops, and that work would
 * otherwise weigh on the next round.
 */
async function settle(): Promise<void> {
  const deadline = Date.now() + SETTLE_MAX_MS;
  while (Date.now() < deadline) {
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 250));
    const used = process.cpuUsage(before);
    if (used.user + used.system < 25_000) return;
  }
}

/** One load round, with the API thread's CPU time during it. */
async function round(url: string, body: string): Promise<Round> {
  await settle();
  const before = apiThreadCpuMicros();
  const result = await load({ url, bodies: [body], headers: { 'x-api-key': BENCH_WRITE_KEY } });
  const after = apiThreadCpuMicros();
  return { result, apiCpuMicros: before === undefined || after === undefined ? undefined : after - before };
}

interface Round {
  result: LoadResult;
  apiCpuMicros: number | undefined;
}

/** The API thread's CPU per answered request over some rounds, µs; undefined when unknown. */
function apiCpuPerRequest(rounds: Round[]): number | undefined {
  const answered = rounds.reduce((sum, r) => sum + r.result.answered, 0);
  if (answered === 0 || rounds.some((r) => r.apiCpuMicros === undefined)) return undefined;
  return rounds.reduce((sum, r) => sum + (r.apiCpuMicros ?? 0), 0) / answered;
}

/**
 * `trackEvents` of 100 events with no live subscriber and with ten (one unfiltered, nine
 * filtered, in a process of their own), rounds taking turns on one embedded stack (which goes first
 * swaps every round, so a drift in the machine's load weighs on both alike).
 */
export async function liveBenchmark(): Promise<string> {
  const loadAverageAtStart = loadAverage();
  const stack = await startIngestBenchStack();
  const body = JSON.stringify({
    query: TRACK_MANY,
    variables: { e: Array.from({ length: EVENTS }, (_, i) => sampleEvent(i)) },
  });
  const unwatched: Round[] = [];
  const watched: Round[] = [];
  const received = { events: 0, dropped: 0 };
  const subscribers = subscribersProcess(stack.graphqlUrl, stack.apiKey);
  const withoutSubscribers = async () => unwatched.push(await round(stack.graphqlUrl, body));
  const withSubscribers = async () => {
    await subscribers.subscribe();
    watched.push(await round(stack.graphqlUrl, body));
    const counted = await subscribers.unsubscribe();
    received.events += counted.events;
    received.dropped += counted.dropped;
  };
  try {
    for (let i = 0; i < LIVE_ROUNDS; i++) {
      const turns =
        i % 2 === 0 ? [withoutSubscribers, withSubscribers] : [withSubscribers, withoutSubscribers];
      for (const turn of turns) await turn();
    }
  } finally {
    subscribers.close();
    await stack.close();
  }
  // Timeouts (errors) are counted in the table: on a loaded machine a few are load, not a fault.
  for (const { result } of [...unwatched, ...watched]) {
    if (result.non2xx > 0) throw new Error(`${result.non2xx} non-2xx answers`);
  }
  const none = medianResult(unwatched.map((r) => r.result));
  const ten = medianResult(watched.map((r) => r.result));
  const eventsPerSec = (r: LoadResult) => r.requestsPerSec * EVENTS;
  const row = (name: string, median: LoadResult, rounds: Round[]) => {
    const each = rounds.map((r) => eventsPerSec(r.result));
    const cpu = apiCpuPerRequest(rounds);
    return `| ${name} | ${fmt(eventsPerSec(median))} | ${each.map((x) => fmt(x)).join(' · ')} | ${fmt(Math.min(...each))}–${fmt(Math.max(...each))} | ${median.p50} | ${median.p99} | ${median.errors} | ${cpu === undefined ? 'n/a' : fmt(cpu)} | ${ratio(median.requestsPerSec, none.requestsPerSec)} |`;
  };
  const cpuNone = apiCpuPerRequest(unwatched);
  const cpuTen = apiCpuPerRequest(watched);
  const answeredWatched = watched.reduce((sum, r) => sum + r.result.answered, 0);
  const perDelivered =
    cpuNone === undefined || cpuTen === undefined || received.events === 0
      ? 'unknown here (it is read from /proc)'
      : `${fmt(((cpuTen - cpuNone) * answeredWatched) / received.events)} µs`;
  return [
    '| live subscribers | events/s | each round | spread | p50 ms | p99 ms | timeouts | API thread CPU µs per request | events/s vs none |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('none', none, unwatched),
    row(`${LIVE_FILTERS.length} (1 unfiltered)`, ten, watched),
    '',
    `Medians of ${LIVE_ROUNDS} rounds each, every round once the stack was quiet; the subscribers received ` +
      `${fmt(received.events)} events in all (each at most its rate a second; ${fmt(received.dropped)} more matched ` +
      `and were dropped past it). The API thread's CPU with subscribers, less its CPU per request without: ` +
      `${perDelivered} per delivered event.`,
    '',
    `Target: within 10 % of none (≥ 0.9×): ${ten.requestsPerSec >= 0.9 * none.requestsPerSec ? 'met' : 'not met'} in this run.`,
    '',
    LIVE_COST_NOTE,
    '',
    loadAverageLine(loadAverageAtStart),
  ].join('\n');
}

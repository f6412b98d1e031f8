import 'reflect-metadata';
import { fork } from 'node:child_process';
import path from 'node:path';
import {
  BENCH_WRITE_KEY,
  fmt,
  load,
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

/**
 * `trackEvents` of 100 events with no live subscriber and with ten (one unfiltered, nine
 * filtered, in a process of their own), rounds taking turns on one embedded stack.
 */
export async function liveBenchmark(): Promise<string> {
  const stack = await startIngestBenchStack();
  const body = JSON.stringify({
    query: TRACK_MANY,
    variables: { e: Array.from({ length: EVENTS }, (_, i) => sampleEvent(i)) },
  });
  const headers = { 'x-api-key': BENCH_WRITE_KEY };
  const unwatched: LoadResult[] = [];
  const watched: LoadResult[] = [];
  let delivered = 0;
  const subscribers = subscribersProcess(stack.graphqlUrl, stack.apiKey);
  try {
    for (let round = 0; round < LIVE_ROUNDS; round++) {
      unwatched.push(await load({ url: stack.graphqlUrl, bodies: [body], headers }));
      await subscribers.subscribe();
      watched.push(await load({ url: stack.graphqlUrl, bodies: [body], headers }));
      delivered += (await subscribers.unsubscribe()).events;
    }
  } finally {
    subscribers.close();
    await stack.close();
  }
  // Timeouts (errors) are counted in the table: on a loaded machine a few are load, not a fault.
  for (const result of [...unwatched, ...watched]) {
    if (result.non2xx > 0) throw new Error(`${result.non2xx} non-2xx answers`);
  }
  const none = medianResult(unwatched);
  const ten = medianResult(watched);
  const row = (name: string, r: LoadResult, rounds: LoadResult[]) =>
    `| ${name} | ${fmt(r.requestsPerSec * EVENTS)} | ${rounds.map((x) => fmt(x.requestsPerSec * EVENTS)).join(' · ')} | ${r.p50} | ${r.p99} | ${r.errors} | ${ratio(r.requestsPerSec, none.requestsPerSec)} |`;
  return [
    '| live subscribers | events/s | each round | p50 ms | p99 ms | timeouts | events/s vs none |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('none', none, unwatched),
    row(`${LIVE_FILTERS.length} (1 unfiltered)`, ten, watched),
    '',
    `Medians of ${LIVE_ROUNDS} rounds each; the subscribers received ${fmt(delivered)} events in all (each at most its rate a second).`,
  ].join('\n');
}

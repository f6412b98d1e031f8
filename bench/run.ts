import '../src/local/node-env';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { deletionBenchmark } from './deletion.bench';
import { freshnessBenchmark, freshnessDuration } from './freshness.bench';
import { hotReadBenchmark } from './hot-read.bench';
import { hotTierUnitsBenchmark } from './hot-tier-units.bench';
import { INGEST_ROUNDS, ingestBenchmark } from './ingest.bench';
import { lambdaBenchmark } from './lambda.bench';
import { LIVE_FILTERS, LIVE_ROUNDS, liveBenchmark } from './live.bench';
import { segmentBenchmark } from './segment.bench';
import { streamBenchmark } from './stream.bench';
import { sustainBenchmark, sustainDuration } from './sustain.bench';
import { warehouseBenchmark } from './warehouse.bench';
import { benchDuration, upsertSection } from './harness';

/** Every benchmark: a name, what it compares, and the function producing its markdown table. */
const BENCHMARKS: Array<{ name: string; about: string; run: () => Promise<string> }> = [
  {
    name: 'ingest',
    about:
      'GraphQL ingest on the embedded stack (API key check, envelope validation, PutRecords to kinesalite) ' +
      'beside three floors: a stock Apollo Server 5 + type-graphql server whose mutations take the same input ' +
      'types and answer at once (its own process), the same server putting each event to the stack’s kinesalite ' +
      'before it answers (through the API’s producer), and a raw node:http server that parses the same JSON body ' +
      "and answers (the stack's process). autocannon, 10 connections, " +
      `${INGEST_ROUNDS} rounds taking turns, medians. ` +
      'The table runs the default, every thread at one priority. Running the pipeline and dynalite behind the API ' +
      '(TRIBUTARY_BACKGROUND_NICENESS=10, docs/local-stack.md#threads), two runs each way alternating on the same machine, ' +
      'December 2026 (req/s per round): trackEvent 410, 204, 442, 438 at one priority, 566, 664, 418, 519 behind; ' +
      'trackEvents(100) 54, 35, 60, 60 at one priority, 81, 79, 70, 74 behind (a full run behind: 645 and 72 req/s, ' +
      '0.63× the Kinesis floor). It costs the sustained processing rate (the sustain section: 399 events/s processed ' +
      'under load instead of 464, 68 s instead of 48 s to catch up), so it is off by default.',
    run: ingestBenchmark,
  },
  {
    name: 'segment',
    about:
      'The Segment-compatible `/v1/batch` beside GraphQL `trackEvents`, the same 100 events per request on one ' +
      'embedded stack in the same run (write key check, mapping, envelope and schema checks, PutRecords to kinesalite), ' +
      'each beside a raw node:http server parsing the same body. autocannon, 10 connections.',
    run: segmentBenchmark,
  },
  {
    name: 'live',
    about:
      '`trackEvents` of 100 events on the embedded stack with no `liveEvents` subscriber and with ' +
      `${LIVE_FILTERS.length} (one unfiltered, the others filtered by event, user, status), connected over ` +
      'graphql-ws from a process of their own. autocannon, 10 connections, ' +
      `${LIVE_ROUNDS} rounds of each taking turns (which goes first swaps every round), each once the stack's ` +
      'process is quiet again; medians, the spread of the rounds, and the CPU time of the API thread (the ' +
      "stack's event loop, which serves both the requests and the subscribers) per request.",
    run: liveBenchmark,
  },
  {
    name: 'sustain',
    about:
      `A steady 1,000 events/s (100 per request, 5,000 users, 700 items) for ${sustainDuration()} s ` +
      '(BENCH_SUSTAIN_SEC) from a paced child process into the embedded stack, then the time until every ' +
      'acknowledged event has been processed (hot tier and lake) and loaded into the warehouse; the ' +
      "process's RSS sampled every second throughout. Then the hot store floor (below the table). " +
      'What bounds processing (`--cpu-prof` under this load, early December 2026, before the fold, shared machine at load average ~17): ' +
      'the pipeline thread was busy 78 % of the time, nearly all of it the AWS SDK’s work per DynamoDB call ' +
      '(middleware and serialisation, SigV4 signing 12 %, socket writes 13 %); the stream processor’s own work ' +
      '(decode, validation, enrichment, the realtime engine, Parquet) was under 5 %. dynalite’s thread was busy ' +
      '50 %, 46 % of that in LevelDB calls. The calls grow with the events, not the batches: a conditional PutItem ' +
      'per changed key (each user’s profile, each item). What the changes bought, floor runs minutes apart on the ' +
      'same machine: poller batch size 500 → 2,000 (a backlogged shard fills it, so one batch coalesces the writes ' +
      'to items shared by many users): PutItems per 100 events 221 → 135, store floor 253 → 385 events/s, adapter ' +
      '80 → 116 events/s; emulator requests signed with a fixed header instead of SigV4: adapter 0.30× → 0.39× ' +
      'of the store floor; 64 writes in flight instead of 16: no gain (kept at 16). Items and trends folded from ' +
      'a pending log at most once a second instead of written by every batch, and every state stored gzip’d ' +
      '(docs/hot-tier.md#the-fold): PutItem bodies half the size; in two runs after the change, store floor ' +
      '1,420 and 930 events/s (718 before), adapter 713 and 601 (514), stack 595 and 564 (514): this shared ' +
      'machine swings that much from run to run. Profiles kept as a head and a base (docs/hot-tier.md#a-profile-in-two-parts): ' +
      'PutItem bodies 875 → 783 bytes. dynalite’s Query and Scan iterators closed (src/local/dynalite-iterators.js; each of ' +
      'the fold’s queries of the pending log had kept about 1.5 MB of LevelDB memory): in 180-second runs on the same ' +
      'machine, RSS in the middle and last thirds 2,628 and 3,222 MiB → 1,142 and 1,250 (1,098 and 1,198 in a second ' +
      'run), and catching up 36.8 s → 29.5 s (28.3 s). Profiles remembering the messageIds they applied instead of a claim ' +
      'item per event (src/realtime/seen-messages.ts: a BatchGet and a BatchWrite less per batch, and no claim per event ' +
      'in dynalite): in 180-second runs, catching up 28.3–29.5 s → 22.6 s, 856–867 → 900 events/s processed while the load ran. ' +
      'The CPU line below the floor says what is left.',
    run: sustainBenchmark,
  },
  {
    name: 'freshness',
    about:
      `Half the sustained rate (500 events/s, 100 per request, 5,000 users) for ${freshnessDuration()} s ` +
      '(BENCH_FRESHNESS_SEC) in the background, while probe events go in one after another, each for a user ' +
      'of its own: the time from its acknowledgement until `user(id)` counts it (hot tier) and until ' +
      '`eventCounts` does (warehouse), polled every 10 and 50 ms from the benchmark process. Bounded by what ' +
      'bounds sustain: where the hot tier’s writes fall behind even half the rate, every probe waits behind the ' +
      'backlog (see the sustain section’s floor).',
    run: freshnessBenchmark,
  },
  {
    name: 'warehouse',
    about:
      'The embedded warehouse (DuckDB): loading synthetic lake files (BENCH_WAREHOUSE_ROWS, default 10 million) ' +
      'exactly once by messageId, then the analytics queries on the loaded table, each run once, uncached.',
    run: warehouseBenchmark,
  },
  {
    name: 'hot-read',
    about:
      'Hot-tier reads through GraphQL on the embedded stack (dynalite), after loading it with `npm run simulate` traffic: ' +
      '`recommendations(userId)` and `user(id)` with counts, sessions, recent events and recommendations, beside ' +
      '`{ __typename }` on the same server and two bare node:http servers (one alone in its own process, one in the stack’s). 50 keep-alive clients, paced (open loop, latency ' +
      'counted from when each request was due) and saturated (autocannon).',
    run: hotReadBenchmark,
  },
  {
    name: 'stream',
    about:
      'The stream processor on one core: 500-record batches of realistic edge records (8 user agents, 300 products, ' +
      'utm links, referrers, identify traits to pseudonymise, about 2 % schema violations) through decode → envelope → ' +
      'schema → enrich → route into in-memory sinks, beside a baseline that only base64-decodes and JSON-parses the same ' +
      'records. The two take turns batch by batch, so load from other processes weighs on both alike.',
    run: streamBenchmark,
  },
  {
    name: 'hot-tier-units',
    about:
      "DynamoDB request units the hot tier uses, by kind of item: per event, the stream processor's (" +
      "profiles, identities, appends to the pending log), and per fold, the fold's (the pending log read and " +
      'deleted, items, trends): what the `hot*` assumptions in infra/pricing/us-east-1.json take. The processor, the ' +
      "fold and their DynamoDB adapter against dynalite, every request asking for its consumed capacity. 500 users each send ten events a day of the sustain load's " +
      'mix over 700 items, one event a request, no user twice in a batch; after five days of warm-up (BENCH_HOT_UNITS_WARMUP_DAYS, ' +
      "500-event batches, a fold every 5) that fill every profile to its bounds, a day is counted in 500-event batches (prod's) " +
      "folded every 5 batches and every batch, then four of a day's ten rounds in 50-event batches folded every 10 batches and every batch, " +
      "then a day in 500-event batches folded every 5 with each user's events sent five to a request (a visit's) and ten (the day's), side by side in the stream as a batching client's request puts them. " +
      'The edge dedupe markers are written for the same events and counted apart.',
    run: hotTierUnitsBenchmark,
  },
  {
    name: 'deletion',
    about:
      'Erasing one person from a local lake of 1 million events in 100 Parquet files (LocalLakeEraser: every file ' +
      'scanned, the files holding the person rewritten), beside rewriting one file of the same size whole in the same run.',
    run: deletionBenchmark,
  },
  {
    name: 'lambda',
    about:
      'Each Lambda bundle built as the CDK construct builds it (infra/constructs/lambda-bundle.ts) beside a baseline ' +
      'bundle importing the same third-party modules with the same options and doing nothing else: bundle size, ' +
      '`require` time and the first request, in fresh `node` processes taking turns, medians; AWS answered by a ' +
      'stub over HTTP (secrets from a Secrets Manager stub, as deployed). Then the graphql handler in process with ' +
      'its Kinesis and DynamoDB clients answered at the transport (an SDK request handler), CPU per event of ' +
      'trackEvents(100) beside a stock Apollo Server 5 + type-graphql Lambda handler answering the same events at once.',
    run: lambdaBenchmark,
  },
];

const RESULTS = path.join(__dirname, 'RESULTS.md');

/** What a whole `npm run bench` should take (the performance issue's bound). */
const WHOLE_RUN_TARGET_MIN = 15;

/** The wall time of each section, as a table; for a whole run, with its total against the target. */
function timingsTable(timings: ReadonlyArray<[string, number]>, whole: boolean): string {
  const minutes = (ms: number) => (ms / 60_000).toFixed(1);
  const total = timings.reduce((sum, [, ms]) => sum + ms, 0);
  const met = total / 60_000 <= WHOLE_RUN_TARGET_MIN;
  return [
    '| section | minutes |',
    '| --- | ---: |',
    ...timings.map(([name, ms]) => `| ${name} | ${minutes(ms)} |`),
    `| **all** | **${minutes(total)}** |`,
    ...(whole
      ? ['', `Target: the whole run in ≤ ${WHOLE_RUN_TARGET_MIN} minutes: ${met ? 'met' : 'not met'}.`]
      : []),
  ].join('\n');
}

async function writeSection(name: string, about: string, table: string): Promise<void> {
  // Read again for each section: a run of other benchmarks may have rewritten theirs meanwhile.
  const results = await readFile(RESULTS, 'utf8').catch(() => '# Benchmark results\n');
  await writeFile(RESULTS, upsertSection(results, name, about, table));
  console.log(`${name} written to ${path.relative(process.cwd(), RESULTS)}`);
}

/**
 * `npm run bench [-- name…]`: runs the benchmarks, rewrites their sections of bench/RESULTS.md and
 * prints how long each took; a whole run also records that (its `run` section).
 */
async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const selected = BENCHMARKS.filter((b) => only.length === 0 || only.includes(b.name));
  const timings: Array<[string, number]> = [];
  for (const bench of selected) {
    console.log(`running ${bench.name} (${benchDuration()} s per load run)…`);
    const started = performance.now();
    const table = await bench.run();
    timings.push([bench.name, performance.now() - started]);
    console.log(`\n${table}\n`);
    await writeSection(bench.name, bench.about, table);
  }
  const whole = selected.length === BENCHMARKS.length;
  const table = timingsTable(timings, whole);
  console.log(`\n${table}\n`);
  if (whole) {
    await writeSection(
      'run',
      `The wall time of each section of one whole \`npm run bench\` (${benchDuration()} s per load run, BENCH_DURATION), in the order they ran.`,
      table,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

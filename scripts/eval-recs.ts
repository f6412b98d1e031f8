import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { upsertSection } from '../bench/harness';
import { evaluateRecommendations, evaluateStitching, type StitchingComparison } from './eval/evaluate';
import { SimulationError } from './simulation/errors';
import { generateTraffic } from './simulation/generate';

const RESULTS = path.join(__dirname, '..', 'bench', 'RESULTS.md');
/** A fixed end time: the same seed gives the same history, hence the same numbers, on every run. */
const END = Date.parse('2026-05-04T12:00:00Z');
/** In the identity run, the share of shoppers with an account who browse anonymously before signing in. */
const ANONYMOUS_SHARE = 0.3;

function integer(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new SimulationError(
      `--${name} must be a positive integer, got "${raw}"`,
      'SIMULATION_OPTIONS_INVALID',
    );
  }
  return value;
}

/**
 * `npm run eval:recs [-- --users N --events M --items K --seed S --no-record]`: a simulated
 * history through the pure engine, leave-last-out hit rate@10 against most-popular; then the same
 * history with some shoppers browsing anonymously before they sign in, hit rate@10 with identity
 * stitching and without. Both are recorded in bench/RESULTS.md.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string' },
      events: { type: 'string' },
      items: { type: 'string' },
      seed: { type: 'string' },
      'no-record': { type: 'boolean' },
    },
  });
  const options = {
    users: integer('users', values.users, 2000),
    events: integer('events', values.events, 100_000),
    items: integer('items', values.items, 500),
    seed: integer('seed', values.seed, 42),
  };
  const started = Date.now();
  const history = { ...options, end: END, spanMs: 7 * 24 * 3_600_000 };
  const simulation = generateTraffic(history);
  const result = await evaluateRecommendations(simulation.events, { k: 10, batchSize: 500 });
  const pct = (rate: number) => `${(rate * 100).toFixed(1)} %`;
  const lift = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');
  const table = [
    '| users evaluated | engine hit rate@10 | most-popular hit rate@10 | lift |',
    '| ---: | ---: | ---: | ---: |',
    `| ${result.users} | ${pct(result.engine)} | ${pct(result.baseline)} | ${lift(result.lift)} |`,
  ].join('\n');
  console.log(table);

  const identity = await evaluateStitching(
    generateTraffic({ ...history, anonymousShare: ANONYMOUS_SHARE }).events,
    { k: 10, batchSize: 500 },
  );
  const row = (heldOut: string, c: StitchingComparison) =>
    `| ${heldOut} | ${c.users} | ${c.anonymousFirst} | ${pct(c.stitched)} | ${pct(c.unstitched)} | ${lift(c.lift)} |`;
  const identityTable = [
    '| held out | users evaluated | of them browsed anonymously first | hit rate@10 with stitching | without | lift |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('last item', identity.lastItem),
    row('first new item after signing in', identity.atSignIn),
  ].join('\n');
  console.log(`\n${identityTable}`);
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (values['no-record'] === true) return;
  const about =
    `\`npm run eval:recs\`: ${options.events.toLocaleString('en-US')} simulated events (${options.users} users, ` +
    `${options.items} items, Zipf popularity, ${simulation.plantedPairs.length} planted pairs, seed ${options.seed}) ` +
    'replayed through the pure engine in batches of 500. Per user, the item they came to last is held out with ' +
    'everything after it; hit rate@10 is the share of users whose held-out item is in their 10 recommendations, ' +
    'against the 10 most popular items (both without what the user bought).';
  const identityAbout =
    `The same simulation, except that ${Math.round(ANONYMOUS_SHARE * 100)} % of the shoppers with an account ` +
    "browse anonymously first, under their device's anonymousId only, and sign in partway through a visit " +
    'after a moment drawn in the middle half of the week (an identify carrying both ids); both ids from then ' +
    'on. Recommendations are asked for by userId from the same replay: with stitching from the whole person ' +
    "(every linked id, as `user(id)` reads it), without from the userId's own profile only. Held out: each " +
    "signed-in user's last item (whichever id it came under); and, for users who came to items anonymously, " +
    'the first new item they came to once signed in.';
  const results = await readFile(RESULTS, 'utf8').catch(() => '# Benchmark results\n');
  await writeFile(
    RESULTS,
    upsertSection(
      upsertSection(results, 'eval-recs', about, table),
      'eval-recs-identity',
      identityAbout,
      identityTable,
    ),
  );
  console.log(`results written to ${path.relative(process.cwd(), RESULTS)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof SimulationError ? `${error.code}: ${error.message}` : error);
  process.exit(1);
});

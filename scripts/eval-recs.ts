import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { upsertSection } from '../bench/harness';
import { evaluateRecommendations } from './eval/evaluate';
import { SimulationError } from './simulation/errors';
import { generateTraffic } from './simulation/generate';

const RESULTS = path.join(__dirname, '..', 'bench', 'RESULTS.md');
/** A fixed end time: the same seed gives the same history, hence the same numbers, on every run. */
const END = Date.parse('2026-05-04T12:00:00Z');

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
 * history through the pure engine, leave-last-out hit rate@10 against most-popular, recorded in
 * bench/RESULTS.md.
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
  const simulation = generateTraffic({ ...options, end: END, spanMs: 7 * 24 * 3_600_000 });
  const result = await evaluateRecommendations(simulation.events, { k: 10, batchSize: 500 });
  const pct = (rate: number) => `${(rate * 100).toFixed(1)} %`;
  const table = [
    '| users evaluated | engine hit rate@10 | most-popular hit rate@10 | lift |',
    '| ---: | ---: | ---: | ---: |',
    `| ${result.users} | ${pct(result.engine)} | ${pct(result.baseline)} | ${result.lift.toFixed(2)}× |`,
  ].join('\n');
  console.log(table);
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (values['no-record'] === true) return;
  const about =
    `\`npm run eval:recs\`: ${options.events.toLocaleString('en-US')} simulated events (${options.users} users, ` +
    `${options.items} items, Zipf popularity, ${simulation.plantedPairs.length} planted pairs, seed ${options.seed}) ` +
    'replayed through the pure engine in batches of 500. Per user, the item they came to last is held out with ' +
    'everything after it; hit rate@10 is the share of users whose held-out item is in their 10 recommendations, ' +
    'against the 10 most popular items (both without what the user bought).';
  const results = await readFile(RESULTS, 'utf8').catch(() => '# Benchmark results\n');
  await writeFile(RESULTS, upsertSection(results, 'eval-recs', about, table));
  console.log(`results written to ${path.relative(process.cwd(), RESULTS)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof SimulationError ? `${error.code}: ${error.message}` : error);
  process.exit(1);
});

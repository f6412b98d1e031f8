import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ingestBenchmark } from './ingest.bench';
import { warehouseBenchmark } from './warehouse.bench';
import { benchDuration, machineLine } from './harness';

/** Every benchmark: a name, what it compares, and the function producing its markdown table. */
const BENCHMARKS: Array<{ name: string; about: string; run: () => Promise<string> }> = [
  {
    name: 'ingest',
    about:
      'GraphQL ingest on the embedded stack (API key check, envelope validation, PutRecords to kinesalite) ' +
      'beside a raw node:http server that parses the same JSON body and answers. autocannon, 10 connections.',
    run: ingestBenchmark,
  },
  {
    name: 'warehouse',
    about:
      'The embedded warehouse (DuckDB): loading synthetic lake files (BENCH_WAREHOUSE_ROWS, default 10 million) ' +
      'exactly once by messageId, then the analytics queries on the loaded table, each run once, uncached.',
    run: warehouseBenchmark,
  },
];

const RESULTS = path.join(__dirname, 'RESULTS.md');

/** `npm run bench [-- name…]`: runs the benchmarks and rewrites their sections of bench/RESULTS.md. */
async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const selected = BENCHMARKS.filter((b) => only.length === 0 || only.includes(b.name));
  let results = await readFile(RESULTS, 'utf8').catch(() => '# Benchmark results\n');
  for (const bench of selected) {
    console.log(`running ${bench.name} (${benchDuration()} s per load run)…`);
    const table = await bench.run();
    const section = `<!-- bench:${bench.name} -->\n## ${bench.name}\n\n${machineLine()}\n\n${bench.about}\n\n${table}\n<!-- /bench:${bench.name} -->`;
    console.log(`\n${table}\n`);
    const pattern = new RegExp(`<!-- bench:${bench.name} -->[\\s\\S]*?<!-- /bench:${bench.name} -->`);
    results = pattern.test(results)
      ? results.replace(pattern, section)
      : `${results.trimEnd()}\n\n${section}\n`;
  }
  await writeFile(RESULTS, results);
  console.log(`results written to ${path.relative(process.cwd(), RESULTS)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import os from 'node:os';
import autocannon from 'autocannon';

/** What one autocannon run measured. */
export interface LoadResult {
  requestsPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export interface LoadOptions {
  url: string;
  /** JSON request bodies, sent in rotation (one body: every request the same). */
  bodies: string[];
  headers?: Record<string, string>;
  connections?: number;
  durationSec?: number;
}

/** Runs autocannon against one endpoint, POSTing the given JSON bodies in rotation. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  let next = 0;
  const { bodies } = options;
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    connections: options.connections ?? 10,
    duration: options.durationSec ?? benchDuration(),
    requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }) }],
  });
  return {
    requestsPerSec: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** Seconds per load run; BENCH_DURATION shortens runs for a quick check. */
export function benchDuration(): number {
  const value = Number(process.env.BENCH_DURATION ?? '10');
  return Number.isFinite(value) && value > 0 ? value : 10;
}

/** The machine line every results section starts with. */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const gib = Math.round(os.totalmem() / 2 ** 30);
  return `${new Date().toISOString().slice(0, 10)} · ${cpu} · ${os.cpus().length} cores · ${gib} GiB · Node ${process.version} · ${os.platform()} ${os.arch()}`;
}

export const fmt = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export const ratio = (value: number, baseline: number): string =>
  baseline > 0 ? `${(value / baseline).toFixed(2)}×` : 'n/a';

/** Puts a results section (`<!-- bench:name -->` … `<!-- /bench:name -->`) into RESULTS.md's text, replacing an older one. */
export function upsertSection(results: string, name: string, about: string, table: string): string {
  const section = `<!-- bench:${name} -->\n## ${name}\n\n${machineLine()}\n\n${about}\n\n${table}\n<!-- /bench:${name} -->`;
  const pattern = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`);
  // A function replacement: a table may contain `$&`-like sequences that replace() would expand.
  return pattern.test(results)
    ? results.replace(pattern, () => section)
    : `${results.trimEnd()}\n\n${section}\n`;
}

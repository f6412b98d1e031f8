import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { LoadOptions, LoadResult } from './harness';

/**
 * An open-loop load: `connections` clients, each on its own keep-alive connection, each sending a
 * request every `connections / overallRate` seconds, evenly staggered. Latency counts from when a
 * request was due, not when it went out, so a slow answer that delays the next request shows up in
 * the figures (no coordinated omission), as wrk2 does it.
 */
export async function pacedLoad(
  options: LoadOptions & { overallRate: number; durationSec: number },
): Promise<LoadResult> {
  const connections = options.connections ?? 10;
  const intervalMs = (connections * 1000) / options.overallRate;
  const url = new URL(options.url);
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let answered = 0;
  let next = 0;
  const start = performance.now();
  const end = start + options.durationSec * 1000;

  const client = async (index: number) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let due = start + (index * intervalMs) / connections;
    while (due < end) {
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const body = options.bodies[next++ % options.bodies.length] ?? '';
      try {
        const status = await post(url, body, options.headers ?? {}, agent);
        if (status < 200 || status > 299) non2xx += 1;
        else answered += 1;
        latencies.push(performance.now() - due);
      } catch {
        errors += 1;
      }
      due += intervalMs;
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: connections }, (_, i) => client(i)));

  const elapsedSec = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return {
    requestsPerSec: latencies.length / elapsedSec,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    errors,
    non2xx,
    answered,
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

function post(url: URL, body: string, headers: Record<string, string>, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
        response.once('error', reject);
      },
    );
    request.once('error', reject);
    request.end(body);
  });
}

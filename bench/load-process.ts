import autocannon from 'autocannon';
import type { LoadOptions, LoadResult } from './harness';
import { pacedLoad } from './paced-load';

/** The child process `load()` forks: one load run, its figures sent back to the parent. */
process.once('message', (message) => {
  const options = message as Required<Pick<LoadOptions, 'durationSec'>> & LoadOptions;
  const { overallRate } = options;
  (overallRate === undefined ? saturate(options) : pacedLoad({ ...options, overallRate })).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});

/** Closed loop: every connection sends its next request as soon as the last is answered. */
async function saturate(options: LoadOptions & { durationSec: number }): Promise<LoadResult> {
  let next = 0;
  const { bodies } = options;
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    connections: options.connections ?? 10,
    duration: options.durationSec,
    requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }) }],
  });
  return {
    requestsPerSec: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    answered: result['2xx'],
  };
}

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP proxy that misbehaves at random, as networks and gateways do. Faults before the
 * upstream sees the request lose it; faults after the upstream answered leave the server with
 * the event while the client sees a failure, which is what makes resends (and deduplication) matter.
 */
export type Fault =
  | 'pass'
  | 'delay'
  | 'drop'
  | 'reply_502'
  | 'reply_429'
  | 'forward_then_502'
  | 'forward_then_drop'
  | 'forward_then_truncate'
  | 'upstream_down';

/** Probability of each fault per request; the rest pass through untouched. */
export type FaultRates = Partial<Record<Exclude<Fault, 'pass' | 'upstream_down'>, number>>;

export const DEFAULT_FAULT_RATES: FaultRates = {
  delay: 0.15,
  drop: 0.08,
  reply_502: 0.08,
  reply_429: 0.08,
  forward_then_502: 0.08,
  forward_then_drop: 0.08,
  forward_then_truncate: 0.06,
};

export interface FaultyProxyOptions {
  /** Base URL of the upstream, e.g. http://127.0.0.1:4000; undefined while it is down. */
  target: string | undefined;
  random: () => number;
  rates?: FaultRates;
  maxDelayMs?: number;
}

export interface FaultyProxy {
  url: string;
  /** Points the proxy at a restarted upstream, or at nothing (connections are then dropped). */
  setTarget(target: string | undefined): void;
  /** How often each fault happened. */
  readonly counts: Record<Fault, number>;
  close(): Promise<void>;
}

interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export async function startFaultyProxy(options: FaultyProxyOptions): Promise<FaultyProxy> {
  let target = options.target;
  const rates = Object.entries(options.rates ?? DEFAULT_FAULT_RATES) as Array<[Fault, number]>;
  const counts = Object.fromEntries(
    [
      'pass',
      'delay',
      'drop',
      'reply_502',
      'reply_429',
      'forward_then_502',
      'forward_then_drop',
      'forward_then_truncate',
      'upstream_down',
    ].map((fault) => [fault, 0]),
  ) as Record<Fault, number>;

  const pick = (): Fault => {
    let roll = options.random();
    for (const [fault, rate] of rates) {
      if (roll < rate) return fault;
      roll -= rate;
    }
    return 'pass';
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readAll(req);
    const upstreamBase = target;
    const fault: Fault = upstreamBase === undefined ? 'upstream_down' : pick();
    counts[fault] += 1;
    switch (fault) {
      case 'upstream_down':
      case 'drop':
        req.socket.destroy();
        return;
      case 'reply_502':
        res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>502 Bad Gateway</h1>');
        return;
      case 'reply_429':
        res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '0' }).end('slow down');
        return;
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, options.random() * (options.maxDelayMs ?? 300)));
        break;
      default:
        break;
    }
    let upstream: Upstream;
    try {
      upstream = await forward(upstreamBase ?? '', req, body);
    } catch {
      res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream unreachable');
      return;
    }
    if (fault === 'forward_then_502') {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>502 Bad Gateway</h1>');
    } else if (fault === 'forward_then_drop') {
      req.socket.destroy();
    } else if (fault === 'forward_then_truncate') {
      const { 'content-length': _length, ...headers } = upstream.headers;
      res.writeHead(upstream.status, { ...headers, 'content-length': upstream.body.length });
      res.write(upstream.body.subarray(0, Math.floor(upstream.body.length / 2)), () => req.socket.destroy());
    } else {
      res.writeHead(upstream.status, upstream.headers).end(upstream.body);
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setTarget: (next) => {
      target = next;
    },
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function forward(base: string, req: IncomingMessage, body: Buffer): Promise<Upstream> {
  const url = new URL(req.url ?? '/', base);
  const { host: _host, connection: _connection, ...headers } = req.headers;
  return new Promise((resolve, reject) => {
    const upstream = http.request(
      url,
      { method: req.method, headers: { ...headers, 'content-length': body.length } },
      (response) => {
        readAll(response).then((data) => {
          const { connection: _c, 'transfer-encoding': _te, ...rest } = response.headers;
          resolve({ status: response.statusCode ?? 502, headers: rest, body: data });
        }, reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { RequestContext } from '../resolvers/context';
import { preflightHeaders, responseCorsHeaders } from '../api/cors';
import { SEGMENT_PATH_PREFIX, type SegmentApi } from '../api/segment/segment-api';
import { MAX_SEGMENT_REQUEST_BYTES } from '../api/segment/segment-body';
import { playgroundAsset, playgroundHtml } from '../api/playground';
import {
  CONSOLE_ASSET_PREFIX,
  consoleAssetHeaders,
  consoleHeaders,
  consoleHtml,
  isConsoleAsset,
} from '../api/console-page';
import { consoleAssets } from './console-bundle';
import { hostAllowed, isLoopbackHost } from './allowed-hosts';
import { attachLiveSocketServer, type LiveSocketServerOptions } from './live-socket-server';
import { demoHtml } from './demo/demo-page';
import { trackerBundle } from './demo/tracker-bundle';

/** Apollo's default request limit for API Gateway is far above this; 5 MiB fits 500 events of 10 KiB. */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;

export interface HttpServerOptions {
  host: string;
  port: number;
  apollo: ApolloServer<RequestContext>;
  /** Builds the GraphQL context; throws (for example UNAUTHENTICATED) to refuse the request. */
  context: (
    headers: Record<string, string | undefined>,
    sourceIp: string | undefined,
  ) => Promise<RequestContext>;
  /**
   * The bootstrap secret key, prefilled in the playground and the console so a newcomer can run the
   * examples at once; only while the server listens on loopback, where nobody else can load the page.
   */
  playgroundApiKey?: string;
  /** The bootstrap write key: the only key the demo shop ships to the browser. */
  demoWriteKey?: string;
  /** Host names besides loopback names that requests may name (DNS-rebinding guard). */
  allowedHosts?: readonly string[];
  /** Segment's HTTP Tracking API under /v1/; absent, those paths are not found. */
  segment?: SegmentApi;
  /** graphql-ws on /graphql for the `liveEvents` subscription (docs/live.md); absent, upgrades are refused. */
  live?: Omit<LiveSocketServerOptions, 'allowedHosts'>;
}

export interface RunningHttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/** Serves /graphql through Apollo, the playground at /playground, the console at /console, and / redirecting to the playground. */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const server = http.createServer((req, res) => {
    route(options, req, res).catch((error: unknown) => {
      if (error instanceof BodyError)
        return sendJson(res, error.status, { errors: [{ message: error.message }] });
      console.error('request failed', error);
      sendJson(res, 500, { errors: [{ message: 'internal error' }] });
    });
  });
  server.keepAliveTimeout = 65_000;
  const live = options.live
    ? attachLiveSocketServer(server, { ...options.live, allowedHosts: options.allowedHosts ?? [] })
    : undefined;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}`,
    close: async () => {
      // Subscribers are told the server is going away (1001) before requests stop being taken.
      await live?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

async function route(options: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!hostAllowed(req.headers.host, options.allowedHosts ?? []))
    return sendJson(res, 403, {
      errors: [
        { message: 'unknown Host: add it to TRIBUTARY_ALLOWED_HOSTS', extensions: { code: 'FORBIDDEN' } },
      ],
    });
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/graphql') {
    const origin = req.headers.origin;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, preflightHeaders(origin)).end();
      return;
    }
    for (const [name, value] of Object.entries(responseCorsHeaders(origin))) res.setHeader(name, value);
    return graphql(options, req, res, url);
  }
  if (url.pathname.startsWith(SEGMENT_PATH_PREFIX) && options.segment)
    return segment(options.segment, req, res, url);
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return sendJson(res, 405, { errors: [{ message: 'method not allowed' }] });
  if (url.pathname === '/') {
    res.writeHead(302, { location: '/playground' }).end();
    return;
  }
  if (url.pathname === '/playground') {
    const html = playgroundHtml({
      endpoint: '/graphql',
      apiKey: onLoopback(options) ? options.playgroundApiKey : undefined,
    });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
    return;
  }
  if (url.pathname.startsWith('/playground/assets/')) {
    const asset = await playgroundAsset(url.pathname.slice('/playground/assets/'.length));
    if (asset) {
      res
        .writeHead(200, { 'content-type': asset.type, 'cache-control': 'public, max-age=3600' })
        .end(asset.body);
      return;
    }
  }
  if (url.pathname === '/console') {
    // The live tail subscribes on this origin's /graphql (graphql-ws).
    const liveUrl = '/graphql';
    const html = consoleHtml({
      graphqlUrl: '/graphql',
      liveUrl,
      apiKey: (onLoopback(options) ? options.playgroundApiKey : undefined) ?? null,
    });
    res.writeHead(200, consoleHeaders(liveUrl)).end(html);
    return;
  }
  if (url.pathname.startsWith(CONSOLE_ASSET_PREFIX)) {
    const name = url.pathname.slice(CONSOLE_ASSET_PREFIX.length);
    if (isConsoleAsset(name)) {
      const body = (await consoleAssets()).get(name);
      res.writeHead(200, consoleAssetHeaders(name)).end(body);
      return;
    }
  }
  if (url.pathname === '/demo') {
    const html = demoHtml({ endpoint: '/graphql', apiKey: options.demoWriteKey });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
    return;
  }
  if (url.pathname === '/demo/tracker.js') {
    const script = await trackerBundle();
    res
      .writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' })
      .end(script);
    return;
  }
  if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
  sendJson(res, 404, { errors: [{ message: 'not found' }] });
}

async function graphql(options: HttpServerOptions, req: IncomingMessage, res: ServerResponse, url: URL) {
  const plain = plainHeaders(req);
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(plain)) if (value !== undefined) headers.set(key, value);
  const body = await readBody(req, headers.get('content-type'));
  const response = await options.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: url.search, body },
    context: () => options.context(plain, req.socket.remoteAddress),
  });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

async function segment(api: SegmentApi, req: IncomingMessage, res: ServerResponse, url: URL) {
  const headers = plainHeaders(req);
  const answer = await api.handle({
    method: (req.method ?? 'GET').toUpperCase(),
    path: url.pathname,
    query: url.searchParams,
    headers,
    // One byte past the limit is enough for the API to answer 413.
    body: await readRawBody(req, MAX_SEGMENT_REQUEST_BYTES + 1),
    sourceIp: req.socket.remoteAddress,
    publicBase: {
      protocol: headers['x-forwarded-proto'] === 'https' ? 'https' : 'http',
      host: headers.host ?? url.host,
    },
  });
  res.writeHead(answer.status, answer.headers).end(answer.body);
}

/**
 * The body's first `keep` bytes. The rest is read and dropped up to MAX_BODY_BYTES, so the client
 * gets the answer rather than a reset connection; past that the request is refused outright.
 */
function readRawBody(req: IncomingMessage, keep: number): Promise<Buffer> {
  // Listeners rather than `for await`: the stream's async iterator costs a noticeable share of a
  // small request's time on this thread.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (buffer: Buffer) => {
      if (size < keep) chunks.push(buffer.subarray(0, keep - size));
      size += buffer.length;
      if (size > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.destroy();
        reject(new BodyError(413, `request body exceeds ${MAX_BODY_BYTES} bytes`));
      }
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.once('error', reject);
    // Without an error, a client gone before the end; after 'end' this changes nothing.
    req.once('close', () => reject(new BodyError(400, 'request body ended early')));
  });
}

/** Header names in lower case, repeated headers joined as HTTP allows. */
function plainHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(req.headers))
    headers[key] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

async function readBody(req: IncomingMessage, contentType: string | undefined): Promise<unknown> {
  const text = (await readRawBody(req, MAX_BODY_BYTES)).toString('utf8');
  if (text === '') return undefined;
  if (contentType && /^application\/(.+\+)?json/i.test(contentType)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new BodyError(400, 'request body is not valid JSON');
    }
  }
  return text;
}

/** Whether only this machine can reach the server. */
function onLoopback(options: HttpServerOptions): boolean {
  return isLoopbackHost(options.host);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

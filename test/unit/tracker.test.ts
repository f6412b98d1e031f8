import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { backoffDelay } from '../../src/client/backoff';
import {
  createNodeTracker,
  MemoryStore,
  Tracker,
  type TrackerError,
  type TrackerOptions,
} from '../../src/client/node';

/**
 * The tracker against a scripted GraphQL endpoint: answers the real stack cannot be made to give
 * on demand (retryable rejections, refused keys, a batch GraphQL cannot coerce). The whole-stack
 * behaviour is proven in test/e2e/tracker-faults.test.ts.
 */
type Sent = { messageId: string; event: string; sentAt?: string; context?: Record<string, unknown> };
type Body = {
  query?: string;
  variables: { events: Sent[] };
  extensions?: { persistedQuery?: { version: number; sha256Hash: string } };
};
type Answer = (events: Sent[], call: number, body: Body) => { status?: number; body: unknown };

const accept = (events: Sent[]): ReturnType<Answer> => ({
  body: { data: { trackEvents: { results: events.map((e) => result(e, 'ACCEPTED')) } } },
});

function result(event: Sent, status: string, retryable = false, code?: string) {
  const errors = code ? [{ code, path: '/event', message: code }] : [];
  return { messageId: event.messageId, status, retryable, errors };
}

async function scriptedApi(answer: Answer) {
  const batches: Sent[][] = [];
  const bodies: Body[] = [];
  const keys: Array<string | undefined> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sent = JSON.parse(Buffer.concat(chunks).toString()) as Body;
      bodies.push(sent);
      batches.push(sent.variables.events);
      keys.push(req.headers['x-api-key'] as string | undefined);
      const { status = 200, body } = answer(sent.variables.events, batches.length, sent);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/graphql`,
    batches,
    bodies,
    keys,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const fast: Partial<TrackerOptions> = {
  apiKey: 'unit-key-0123',
  flushIntervalMs: 20,
  baseRetryDelayMs: 5,
  maxRetryDelayMs: 20,
  flushTimeoutMs: 2000,
  random: () => 0.5,
};

describe('backoffDelay', () => {
  const options = { baseDelayMs: 100, maxDelayMs: 5000 };
  it('grows exponentially under full jitter, capped, with Retry-After as a floor', () => {
    expect(backoffDelay(0, options, () => 0.999)).toBe(99);
    expect(backoffDelay(3, options, () => 0.5)).toBe(400);
    expect(backoffDelay(20, options, () => 0.999)).toBe(4995);
    expect(backoffDelay(0, options, () => 0)).toBe(0);
    expect(backoffDelay(0, options, () => 0, 2000)).toBe(2000);
    expect(backoffDelay(0, options, () => 0, 60_000)).toBe(5000);
  });
});

describe('Tracker', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('batches by count, then by time, with the API key, context and one messageId per event', async () => {
    api = await scriptedApi(accept);
    const tracker = await Tracker.create({
      ...fast,
      endpoint: api.endpoint,
      apiKey: 'unit-key-0123',
      maxBatchEvents: 3,
      app: { name: 'unit' },
    });
    const ids = Array.from({ length: 7 }, (_, i) => tracker.track('product_viewed', { product_id: `p${i}` }));
    const flushed = await tracker.flush();
    expect(flushed).toEqual({ delivered: 7, rejected: 0, pending: 0 });
    expect(api.batches.map((b) => b.length)).toEqual([3, 3, 1]);
    expect(api.batches.flat().map((e) => e.messageId)).toEqual(ids);
    expect(new Set(ids).size).toBe(7);
    expect(api.keys.every((k) => k === 'unit-key-0123')).toBe(true);
    expect(api.batches[0]?.[0]?.context).toMatchObject({
      app: { name: 'unit' },
      library: { name: 'tributary-tracker' },
    });
    expect(api.batches[0]?.[0]?.sentAt).toEqual(expect.any(String));
    await tracker.close();
  });

  it('batches by bytes', async () => {
    api = await scriptedApi(accept);
    const tracker = await Tracker.create({
      ...fast,
      endpoint: api.endpoint,
      apiKey: 'k',
      maxBatchBytes: 2500,
    });
    for (let i = 0; i < 4; i += 1) tracker.track('note_added', { text: 'x'.repeat(800) });
    await tracker.close();
    expect(api.batches.map((b) => b.length)).toEqual([2, 2]);
  });

  it('resends retryable rejections with the same messageId, reports final ones once, counts DUPLICATE as delivered', async () => {
    api = await scriptedApi((events, call) => ({
      body: {
        data: {
          trackEvents: {
            results: events.map((e) =>
              e.event === 'bad_event'
                ? result(e, 'REJECTED', false, 'ENVELOPE_INVALID')
                : e.event === 'flaky' && call === 1
                  ? result(e, 'REJECTED', true, 'STREAM_WRITE_FAILED')
                  : result(e, call === 1 ? 'ACCEPTED' : 'DUPLICATE'),
            ),
          },
        },
      },
    }));
    const rejected: Array<[string, string]> = [];
    const tracker = await Tracker.create({
      ...fast,
      endpoint: api.endpoint,
      apiKey: 'k',
      onRejected: (event, errors) => rejected.push([event.event, errors[0]?.code ?? '']),
    });
    tracker.track('fine');
    const flaky = tracker.track('flaky');
    tracker.track('bad_event');
    expect(await tracker.flush()).toEqual({ delivered: 2, rejected: 1, pending: 0 });
    expect(rejected).toEqual([['bad_event', 'ENVELOPE_INVALID']]);
    expect(api.batches).toHaveLength(2);
    expect(api.batches[1]?.map((e) => e.messageId)).toEqual([flaky]);
    await tracker.close();
  });

  it('keeps events and reports through onError when the API refuses the key', async () => {
    api = await scriptedApi(() => ({
      status: 401,
      body: { errors: [{ message: 'a valid API key is required', extensions: { code: 'UNAUTHENTICATED' } }] },
    }));
    const errors: TrackerError[] = [];
    const tracker = await Tracker.create({
      ...fast,
      endpoint: api.endpoint,
      apiKey: 'wrong-key',
      onError: (e) => errors.push(e),
    });
    tracker.track('page_viewed');
    const flushed = await tracker.flush({ timeoutMs: 100 });
    expect(flushed.pending).toBe(1);
    expect(errors[0]).toMatchObject({ code: 'API_REQUEST_REFUSED', apiCode: 'UNAUTHENTICATED', status: 401 });
    expect((await tracker.close({ timeoutMs: 50 })).pending).toBe(1);
    expect(() => tracker.track('late')).toThrow(expect.objectContaining({ code: 'TRACKER_CLOSED' }));
  });

  it('isolates an event GraphQL cannot coerce by halving the batch, and delivers the rest', async () => {
    api = await scriptedApi((events) =>
      events.some((e) => e.event === 'poison')
        ? {
            status: 400,
            body: {
              errors: [
                { message: 'Variable "$events" got invalid value', extensions: { code: 'BAD_USER_INPUT' } },
              ],
            },
          }
        : accept(events),
    );
    const rejected: string[] = [];
    const tracker = await Tracker.create({
      ...fast,
      endpoint: api.endpoint,
      apiKey: 'k',
      maxBatchEvents: 8,
      onRejected: (event, errors) => rejected.push(`${event.event}:${errors[0]?.code}`),
    });
    for (let i = 0; i < 8; i += 1) tracker.track(i === 5 ? 'poison' : 'ok');
    expect(await tracker.flush()).toEqual({ delivered: 7, rejected: 1, pending: 0 });
    expect(rejected).toEqual(['poison:BAD_USER_INPUT']);
    await tracker.close();
  });

  it('sends the mutation by hash, and its text only when the API does not know the hash, which is no failure', async () => {
    const registered = new Set<string>();
    api = await scriptedApi((events, _call, body) => {
      const hash = body.extensions?.persistedQuery?.sha256Hash ?? '';
      if (body.query !== undefined) registered.add(hash);
      else if (!registered.has(hash))
        return {
          body: {
            errors: [
              { message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } },
            ],
          },
        };
      return accept(events);
    });
    const errors: TrackerError[] = [];
    const rejected: string[] = [];
    const tracker = await Tracker.create({
      ...fast,
      endpoint: api.endpoint,
      apiKey: 'k',
      maxBatchEvents: 2,
      onError: (e) => errors.push(e),
      onRejected: (event) => rejected.push(event.event),
    });
    for (let i = 0; i < 4; i += 1) tracker.track('product_viewed');
    expect(await tracker.flush()).toEqual({ delivered: 4, rejected: 0, pending: 0 });
    // The first batch goes by hash, is not known, goes again with the text; the second goes by hash.
    expect(api.bodies.map((b) => b.query !== undefined)).toEqual([false, true, false]);
    const [withText] = api.bodies.filter((b) => b.query !== undefined);
    expect(withText?.extensions?.persistedQuery).toEqual({
      version: 1,
      sha256Hash: createHash('sha256')
        .update(withText?.query ?? '')
        .digest('hex'),
    });
    // A server that forgot the hash (restarted) gets the text again, at once.
    registered.clear();
    tracker.track('product_viewed');
    expect(await tracker.flush()).toEqual({ delivered: 1, rejected: 0, pending: 0 });
    expect(api.bodies.slice(3).map((b) => b.query !== undefined)).toEqual([false, true]);
    expect(errors).toEqual([]);
    expect(rejected).toEqual([]);
    await tracker.close();
  });

  it('sends the text at once in a keepalive request while the API is not known to have it', async () => {
    api = await scriptedApi(accept);
    const tracker = await Tracker.create({
      ...fast,
      endpoint: api.endpoint,
      apiKey: 'k',
      flushIntervalMs: 60_000,
    });
    tracker.track('page_viewed');
    await tracker.flush({ keepalive: true });
    tracker.track('page_viewed');
    await tracker.flush({ keepalive: true });
    expect(api.bodies.map((b) => b.query !== undefined)).toEqual([true, false]);
    await tracker.close();
  });

  it('drops the oldest events beyond its bound and says so', async () => {
    const errors: TrackerError[] = [];
    const tracker = await Tracker.create({
      ...fast,
      endpoint: 'http://127.0.0.1:9/graphql',
      apiKey: 'k',
      maxQueueEvents: 3,
      flushIntervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    const ids = ['a', 'b', 'c', 'd'].map((name) => tracker.track(`event_${name}`));
    expect(tracker.stats.pending).toBe(3);
    expect(errors[0]).toMatchObject({
      code: 'QUEUE_OVERFLOW',
      dropped: [expect.objectContaining({ messageId: ids[0] })],
    });
    await tracker.close({ timeoutMs: 50 });
  });

  it('merges, rather than overwrites, events another tracker saved to the same store', async () => {
    const store = new MemoryStore();
    const offline = { ...fast, endpoint: 'http://127.0.0.1:9/graphql', apiKey: 'k', flushIntervalMs: 60_000 };
    const tabA = await Tracker.create({ ...offline, store });
    const tabB = await Tracker.create({ ...offline, store });
    const a = tabA.track('from_a');
    const b = tabB.track('from_b');
    await tabA.close({ timeoutMs: 50 });
    await tabB.close({ timeoutMs: 50 });
    const saved = JSON.parse((await store.get('queue')) ?? '[]') as Sent[];
    expect(saved.map((e) => e.messageId).sort()).toEqual([a, b].sort());
  });
});

describe('createNodeTracker', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tributary-tracker-unit-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps the queue and the anonymousId in files across a restart', async () => {
    const offline = await createNodeTracker({
      ...fast,
      endpoint: 'http://127.0.0.1:9/graphql',
      apiKey: 'k',
      storageDir: dir,
    });
    const id = offline.track('page_viewed');
    offline.identify('user-7', { plan: 'pro' });
    expect((await offline.close({ timeoutMs: 50 })).pending).toBe(2);

    const api = await scriptedApi(accept);
    try {
      const restarted = await createNodeTracker({
        ...fast,
        endpoint: api.endpoint,
        apiKey: 'k',
        storageDir: dir,
      });
      expect(restarted.anonymousId).toBe(offline.anonymousId);
      expect(restarted.userId).toBe('user-7');
      expect(await restarted.flush()).toMatchObject({ delivered: 2, pending: 0 });
      expect(api.batches.flat()[0]?.messageId).toBe(id);
      await restarted.close();
    } finally {
      await api.close();
    }
  });
});

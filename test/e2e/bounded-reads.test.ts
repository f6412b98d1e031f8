import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Tracker } from '../../src/client';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { gql } from '../helpers/graphql-client';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(90_000);

const API_KEY = 'e2e-bounded-secret-key';
const WRITE_KEY = 'e2e-bounded-write-key';
/** Small enough that 60 answers do not all fit, so eviction is exercised. */
const ANSWER_CACHE_BYTES = 4096;
const MAX_QUERY_BYTES = 64 * 1024;

interface Answer {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const codeOf = (answer: Answer) => answer.errors?.[0]?.extensions?.code;

/** A valid `user` query of about `bytes` bytes: distinct by its alias, padded by a comment. */
function largeUserQuery(n: number, bytes: number): string {
  const operation = `{ probe${n}: user(id: "nobody-${n}") { id eventCount } }\n# `;
  return operation + 'x'.repeat(bytes - operation.length);
}

describe('bounded memory under hostile reads, and automatic persisted queries, on the embedded stack', () => {
  let dataDir: string;
  let stack: LocalStack;

  const post = async (body: unknown, key: string | undefined = API_KEY): Promise<Answer> => {
    const response = await fetch(stack.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
      body: JSON.stringify(body),
    });
    return { status: response.status, ...((await response.json()) as object) };
  };
  const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-bounded-'));
    stack = await startLocalStack(
      testConfig(dataDir, API_KEY, {
        TRIBUTARY_WRITE_KEY: WRITE_KEY,
        TRIBUTARY_ANSWER_CACHE_BYTES: String(ANSWER_CACHE_BYTES),
      }),
    );
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps the answer cache within its byte bound under 60 distinct large user queries', async () => {
    for (let n = 0; n < 60; n += 1) {
      const query = largeUserQuery(n, MAX_QUERY_BYTES - 1024);
      const answer = await post({ query });
      expect(answer).toEqual({ status: 200, data: { [`probe${n}`]: null } });
    }
    const { bytes, size, maxBytes } = stack.answerCache;
    expect(maxBytes).toBe(ANSWER_CACHE_BYTES);
    expect(bytes).toBeLessThanOrEqual(ANSWER_CACHE_BYTES);
    // Answers are kept (the cache works) and the oldest gave way (the bound holds).
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThan(60);
    // An entry weighs its answer and a hash, not the 63 KiB text of its query.
    expect(bytes / size).toBeLessThan(256);
  });

  it('refuses a query text over the limit with BAD_USER_INPUT, after the key is checked, and runs nothing', async () => {
    const before = stack.answerCache.size;
    // The attack as found: distinct 4 MiB `user` queries.
    for (let n = 0; n < 3; n += 1) {
      const answer = await post({ query: largeUserQuery(100 + n, 4 * 1024 * 1024) });
      expect(answer.status).toBe(400);
      expect(codeOf(answer)).toBe('BAD_USER_INPUT');
      expect(answer.data).toBeUndefined();
    }
    expect(stack.answerCache.size).toBe(before);

    // One byte over the limit; a mutation, so that running it would leave a trace.
    const mutation =
      'mutation { trackEvent(event: {event: "page_viewed", userId: "oversize"}) { status } }\n# ';
    const oversized = mutation + 'x'.repeat(MAX_QUERY_BYTES + 1 - mutation.length);
    expect(Buffer.byteLength(oversized)).toBe(MAX_QUERY_BYTES + 1);
    const refused = await post({ query: oversized });
    expect([refused.status, codeOf(refused)]).toEqual([400, 'BAD_USER_INPUT']);
    expect(refused.errors?.[0]?.message).toContain(`at most ${MAX_QUERY_BYTES}`);
    // Without a key the answer stays UNAUTHENTICATED: keys are judged before the query.
    expect(codeOf(await post({ query: oversized }, ''))).toBe('UNAUTHENTICATED');
    // Registering it as a persisted query is refused too, and leaves nothing registered.
    const hash = sha256(oversized);
    expect(codeOf(await post({ query: oversized, extensions: persisted(hash) }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await post({ extensions: persisted(hash) }))).toBe('PERSISTED_QUERY_NOT_FOUND');

    // The limit itself is accepted.
    const atLimit = mutation.replace('oversize', 'at-limit');
    const accepted = await post({ query: atLimit + 'x'.repeat(MAX_QUERY_BYTES - atLimit.length) });
    expect(accepted.data).toEqual({ trackEvent: { status: 'ACCEPTED' } });

    await stack.settle();
    const users = await gql(
      stack.graphqlUrl,
      '{ a: user(id: "oversize") { id } b: user(id: "at-limit") { id } }',
      {},
      API_KEY,
    );
    expect(users.data).toEqual({ a: null, b: { id: 'at-limit' } });
  });

  it('answers automatic persisted queries: unknown hash, then registered with its text, then by hash alone', async () => {
    const query = 'query Trending($limit: Int!) { trending(limit: $limit) { itemId } }';
    const hash = sha256(query);
    const variables = { limit: 3 };

    const unknown = await post({ variables, extensions: persisted(hash) });
    expect([unknown.status, codeOf(unknown)]).toEqual([200, 'PERSISTED_QUERY_NOT_FOUND']);
    expect(await post({ query, variables, extensions: persisted(hash) })).toEqual({
      status: 200,
      data: { trending: [] },
    });
    expect(await post({ variables, extensions: persisted(hash) })).toEqual({
      status: 200,
      data: { trending: [] },
    });

    // By GET as well (the x-api-key header satisfies the CSRF rules).
    const search = new URLSearchParams({
      variables: JSON.stringify(variables),
      extensions: JSON.stringify(persisted(hash)),
    });
    const viaGet = await fetch(`${stack.graphqlUrl}?${search}`, { headers: { 'x-api-key': WRITE_KEY } });
    expect([viaGet.status, await viaGet.json()]).toEqual([200, { data: { trending: [] } }]);

    // A hash must be the text's: nobody can register another text under a known hash.
    const hijack = await post({ query: '{ user(id: "u1") { id } }', extensions: persisted(hash) });
    expect(hijack.status).toBe(400);
    expect(await post({ variables, extensions: persisted(hash) })).toEqual({
      status: 200,
      data: { trending: [] },
    });
  });

  it('lets the tracker send its mutation by hash: the text once, then never again', async () => {
    const bodies: Array<{ query?: string; extensions?: unknown }> = [];
    const recording: typeof fetch = (input, init) => {
      bodies.push(JSON.parse(String(init?.body)) as { query?: string });
      return fetch(input, init);
    };
    const errors: string[] = [];
    const rejected: string[] = [];
    const tracker = await Tracker.create({
      endpoint: stack.graphqlUrl,
      apiKey: WRITE_KEY,
      fetch: recording,
      maxBatchEvents: 5,
      flushIntervalMs: 60_000,
      onError: (error) => errors.push(error.code),
      onRejected: (event) => rejected.push(event.event),
    });
    tracker.identify('apq-user');
    for (let i = 0; i < 9; i += 1) tracker.track('product_viewed', { product_id: `sku-${i}` });
    expect(await tracker.flush()).toEqual({ delivered: 10, rejected: 0, pending: 0 });

    // First batch: hash only, not known, then with the text. Second batch: hash only.
    expect(bodies.map((b) => b.query !== undefined)).toEqual([false, true, false]);
    expect(bodies.every((b) => b.extensions !== undefined)).toBe(true);

    // Reads go the same way.
    const read = '{ trending(limit: 1) { itemId } }';
    await tracker.query(read);
    await tracker.query(read);
    expect(bodies.slice(3).map((b) => b.query !== undefined)).toEqual([false, true, false]);

    await tracker.close();
    expect(errors).toEqual([]);
    expect(rejected).toEqual([]);
    await stack.settle();
    const user = await gql(stack.graphqlUrl, '{ user(id: "apq-user") { eventCount } }', {}, API_KEY);
    expect(user.data).toEqual({ user: { eventCount: 10 } });
  });
});

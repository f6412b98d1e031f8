import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { signUserToken } from '../../src/access/user-token';
import { SCOPES, type Scope } from '../../src/access/scopes';
import { ApiRequestError, MemoryStore, Tracker } from '../../src/client';
import { signUserToken as signWithSdk } from '../../src/client/node';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(90_000);

const API_KEY = 'e2e-access-secret-key';
const WRITE_KEY = 'e2e-access-write-key';
const TOKEN_SECRET = 'e2e-user-token-secret-0123456789abcdef';
const RANGE = 'from: "2026-05-04T00:00:00Z", to: "2026-05-05T00:00:00Z"';

interface Answer {
  status: number;
  headers: Headers;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: { code?: string } }>;
}

/** Every root field, the smallest operation that asks for it, and which keys may ask. */
const FIELDS: Array<{ field: string; query: string; allowed: (scopes: ReadonlySet<Scope>) => boolean }> = [
  {
    field: 'trackEvent',
    query: 'mutation { trackEvent(event: {event: "page_viewed", userId: "matrix"}) { status } }',
    allowed: (s) => s.has('INGEST'),
  },
  {
    field: 'trackEvents',
    query: 'mutation { trackEvents(events: [{event: "page_viewed", userId: "matrix"}]) { accepted } }',
    allowed: (s) => s.has('INGEST'),
  },
  { field: 'trending', query: '{ trending { itemId } }', allowed: (s) => s.has('PUBLIC_READ') },
  { field: 'item', query: '{ item(id: "sku-1") { id } }', allowed: (s) => s.has('PUBLIC_READ') },
  {
    field: 'recommendations',
    query: '{ recommendations(itemId: "sku-1") { itemId } }',
    allowed: (s) => s.has('PUBLIC_READ') || s.has('HOT_READ'),
  },
  {
    field: 'recommendations',
    query: '{ recommendations(userId: "u1") { itemId } }',
    allowed: (s) => s.has('HOT_READ'),
  },
  { field: 'user', query: '{ user(id: "u1") { id } }', allowed: (s) => s.has('HOT_READ') },
  { field: 'identity', query: '{ identity(id: "u1") { personId } }', allowed: (s) => s.has('HOT_READ') },
  {
    field: 'unlinkIdentity',
    query: 'mutation { unlinkIdentity(id: "u1") { personId } }',
    allowed: (s) => s.has('ADMIN'),
  },
  { field: 'userToken', query: '{ userToken(userId: "u1") }', allowed: (s) => s.has('HOT_READ') },
  {
    field: 'eventCounts',
    query: `{ eventCounts(${RANGE}) { count } }`,
    allowed: (s) => s.has('ANALYTICS_READ'),
  },
  {
    field: 'uniqueUsers',
    query: `{ uniqueUsers(${RANGE}) { count } }`,
    allowed: (s) => s.has('ANALYTICS_READ'),
  },
  {
    field: 'funnel',
    query: `{ funnel(steps: ["a", "b"], ${RANGE}) { steps { event users } } }`,
    allowed: (s) => s.has('ANALYTICS_READ'),
  },
  {
    field: 'retention',
    query: `{ retention(startEvent: "a", returnEvent: "b", ${RANGE}) { cohorts { users } } }`,
    allowed: (s) => s.has('ANALYTICS_READ'),
  },
  {
    field: 'topItems',
    query: `{ topItems(event: "a", ${RANGE}) { items { itemId } } }`,
    allowed: (s) => s.has('ANALYTICS_READ'),
  },
  { field: 'warehouse', query: '{ warehouse { rows } }', allowed: (s) => s.has('ANALYTICS_READ') },
  {
    field: 'failedEvents',
    query: `{ failedEvents(${RANGE}) { messageId } }`,
    allowed: (s) => s.has('FAILED_EVENTS_READ'),
  },
  {
    field: 'replayFailedEvents',
    query: `mutation { replayFailedEvents(from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z") { replayed } }`,
    allowed: (s) => s.has('ADMIN'),
  },
  {
    field: 'createApiKey',
    query: 'mutation { createApiKey(input: {name: "m", kind: WRITE, scopes: [INGEST]}) { secret } }',
    allowed: (s) => s.has('ADMIN'),
  },
  {
    field: 'revokeApiKey',
    query: 'mutation { revokeApiKey(id: "key_none") { id } }',
    allowed: (s) => s.has('ADMIN'),
  },
  { field: 'apiKeys', query: '{ apiKeys { id } }', allowed: (s) => s.has('ADMIN') },
  {
    field: 'deleteUser',
    query: 'mutation { deleteUser(id: "never-seen", suppress: false) { id } }',
    allowed: (s) => s.has('ADMIN'),
  },
  {
    field: 'deletionRequest',
    query: '{ deletionRequest(id: "del_AAAAAAAAAAAAAAAA") { id } }',
    allowed: (s) => s.has('ADMIN'),
  },
  {
    field: 'unsuppressUser',
    query: 'mutation { unsuppressUser(id: "never-seen") }',
    allowed: (s) => s.has('ADMIN'),
  },
];

describe('access control on the embedded stack', () => {
  let dataDir: string;
  let stack: LocalStack;

  const post = async (
    body: unknown,
    key: string | undefined,
    headers: Record<string, string> = {},
  ): Promise<Answer> => {
    const response = await fetch(stack.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}), ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, headers: response.headers, ...((await response.json()) as object) };
  };
  const run = (query: string, key: string | undefined, headers?: Record<string, string>) =>
    post({ query }, key, headers);
  const codeOf = (answer: Answer) => answer.errors?.[0]?.extensions?.code;

  const createKey = async (input: string): Promise<{ id: string; secret: string }> => {
    const answer = await run(`mutation { createApiKey(input: ${input}) { apiKey { id } secret } }`, API_KEY);
    const created = answer.data?.createApiKey as { apiKey: { id: string }; secret: string } | undefined;
    if (!created) throw new Error(JSON.stringify(answer.errors));
    return { id: created.apiKey.id, secret: created.secret };
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-access-'));
    stack = await startLocalStack(
      testConfig(dataDir, API_KEY, {
        TRIBUTARY_WRITE_KEY: WRITE_KEY,
        TRIBUTARY_USER_TOKEN_SECRET: TOKEN_SECRET,
      }),
    );
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers every root field exactly for the keys whose scopes allow it', async () => {
    const keys: Array<{ label: string; secret: string; scopes: ReadonlySet<Scope> }> = [
      { label: 'bootstrap SECRET', secret: API_KEY, scopes: new Set(SCOPES) },
      { label: 'bootstrap WRITE', secret: WRITE_KEY, scopes: new Set<Scope>(['INGEST', 'PUBLIC_READ']) },
    ];
    for (const scope of SCOPES) {
      const { secret } = await createKey(`{name: "only ${scope}", kind: SECRET, scopes: [${scope}]}`);
      keys.push({ label: `SECRET ${scope}`, secret, scopes: new Set([scope]) });
    }
    for (const scope of ['INGEST', 'PUBLIC_READ'] as const) {
      const { secret } = await createKey(`{name: "write ${scope}", kind: WRITE, scopes: [${scope}]}`);
      keys.push({ label: `WRITE ${scope}`, secret, scopes: new Set([scope]) });
    }
    const mismatches: string[] = [];
    for (const key of keys) {
      for (const { field, query, allowed } of FIELDS) {
        const answer = await run(query, key.secret);
        const forbidden = answer.errors?.some(
          (e) => e.extensions?.code === 'FORBIDDEN' && e.path?.[0] === field,
        );
        if (answer.status !== 200 || forbidden === allowed(key.scopes))
          mismatches.push(`${key.label} ${query}: ${answer.status} ${JSON.stringify(answer.errors)}`);
        // A refused non-null field nulls the whole answer; a nullable one only itself.
        if (forbidden && answer.data !== null && answer.data?.[field] !== null)
          mismatches.push(`${key.label} ${field}: data despite FORBIDDEN`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('answers the fields a key may use beside one it may not, and writes nothing for a refused mutation', async () => {
    const mixed = await run('{ trending { itemId } user(id: "u1") { id } }', WRITE_KEY);
    expect(mixed.data).toEqual({ trending: [], user: null });
    expect(mixed.errors?.map((e) => [e.path?.[0], e.extensions?.code])).toEqual([['user', 'FORBIDDEN']]);

    const { secret } = await createKey('{name: "reader", kind: SECRET, scopes: [HOT_READ]}');
    const refused = await run(
      'mutation { trackEvent(event: {event: "page_viewed", userId: "ghost"}) { status } }',
      secret,
    );
    expect(codeOf(refused)).toBe('FORBIDDEN');
    await stack.settle();
    expect((await run('{ user(id: "ghost") { id } }', API_KEY)).data).toEqual({ user: null });
  });

  it('refuses no key, unknown keys and revoked keys with 401, at once after revoking', async () => {
    for (const key of [undefined, 'trbs_not-a-key']) {
      const answer = await run('{ trending { itemId } }', key);
      expect(answer.status).toBe(401);
      expect(codeOf(answer)).toBe('UNAUTHENTICATED');
    }
    const { id, secret } = await createKey('{name: "short-lived", kind: WRITE, scopes: [INGEST]}');
    expect(
      (await run('mutation { trackEvent(event: {event: "page_viewed", userId: "r"}) { status } }', secret))
        .status,
    ).toBe(200);
    const revoked = await run(`mutation { revokeApiKey(id: "${id}") { id revokedAt } }`, API_KEY);
    expect((revoked.data?.revokeApiKey as { revokedAt: string | null }).revokedAt).not.toBeNull();
    const after = await run(
      'mutation { trackEvent(event: {event: "page_viewed", userId: "r"}) { status } }',
      secret,
    );
    expect(after.status).toBe(401);
    const listed = await run('{ apiKeys { id name kind scopes revokedAt } }', API_KEY);
    expect(listed.data?.apiKeys).toEqual(
      expect.arrayContaining([expect.objectContaining({ id, kind: 'WRITE' })]),
    );
    expect(JSON.stringify(listed.data)).not.toContain(secret);
  });

  it('manages keys from a terminal with npm run keys', async () => {
    const cli = (...args: string[]) =>
      new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          [
            path.join(__dirname, '../../node_modules/tsx/dist/cli.mjs'),
            'scripts/keys.ts',
            ...args,
            '--url',
            stack.graphqlUrl,
          ],
          { cwd: path.join(__dirname, '../..'), env: { ...process.env, TRIBUTARY_API_KEY: API_KEY } },
          (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
        );
      });
    const created = await cli(
      'create',
      '--name',
      'cli shop',
      '--kind',
      'write',
      '--scopes',
      'ingest,public_read',
      '--origins',
      'https://cli.example',
    );
    const secret = created.trim().split('\n').pop() ?? '';
    expect(secret).toMatch(/^trbw_/);
    const id = /^(key_\S+)/.exec(created)?.[1] ?? '';
    expect(await cli('list')).toContain(
      `${id}  WRITE   cli shop  [INGEST, PUBLIC_READ]  https://cli.example`,
    );
    expect((await run('{ trending { itemId } }', secret)).status).toBe(200);
    expect(await cli('revoke', id)).toContain('revoked');
    expect((await run('{ trending { itemId } }', secret)).status).toBe(401);
  });

  it('refuses a WRITE key with a scope a browser must not hold', async () => {
    const answer = await run(
      'mutation { createApiKey(input: {name: "x", kind: WRITE, scopes: [INGEST, HOT_READ]}) { secret } }',
      API_KEY,
    );
    expect(codeOf(answer)).toBe('BAD_USER_INPUT');
  });

  it('lets a user token with a write key read its own user only', async () => {
    await run(
      'mutation { trackEvent(event: {event: "page_viewed", userId: "alice"}) { status } }',
      WRITE_KEY,
    );
    await stack.settle();
    const issued = await run('{ userToken(userId: "alice", ttlSeconds: 600) }', API_KEY);
    const token = issued.data?.userToken as string;
    const bearer = { authorization: `Bearer ${token}` };
    const own = await run(
      '{ user(id: "alice") { id } recommendations(userId: "alice") { itemId } }',
      WRITE_KEY,
      bearer,
    );
    expect(own.errors).toBeUndefined();
    expect(own.data?.user).toEqual({ id: 'alice' });
    const other = await run('{ user(id: "bob") { id } }', WRITE_KEY, bearer);
    expect(codeOf(other)).toBe('FORBIDDEN');
    const forged = await signUserToken('a-different-secret-of-at-least-32-chars', 'alice', 600);
    const expired = await signUserToken(TOKEN_SECRET, 'alice', 60, new Date(Date.now() - 3600_000));
    for (const bad of [forged, expired]) {
      const answer = await run('{ user(id: "alice") { id } }', WRITE_KEY, { authorization: `Bearer ${bad}` });
      expect(answer.status).toBe(401);
      expect(codeOf(answer)).toBe('UNAUTHENTICATED');
    }
  });

  it('lets the tracker read its own user with a token signed by the server SDK, and forgets it on reset', async () => {
    const tracker = await Tracker.create({
      endpoint: stack.graphqlUrl,
      apiKey: WRITE_KEY,
      store: new MemoryStore(),
    });
    try {
      const USER = '{ user(id: "alice") { id } }';
      tracker.identify('alice');
      expect((await tracker.flush()).delivered).toBe(1);
      await stack.settle();
      await expect(tracker.query(USER)).rejects.toMatchObject({ apiCode: 'FORBIDDEN' });
      tracker.setUserToken(await signWithSdk(TOKEN_SECRET, 'alice', 300));
      expect(await tracker.query(USER)).toEqual({ user: { id: 'alice' } });
      expect(await tracker.query('{ trending { itemId } }')).toEqual({ trending: [] });
      tracker.reset();
      await expect(tracker.query(USER)).rejects.toBeInstanceOf(ApiRequestError);
    } finally {
      await tracker.close();
    }
  });

  it('refuses browser origins a key does not list with 403 and writes nothing; CORS reflects allowed ones', async () => {
    const { secret } = await createKey(
      '{name: "site", kind: WRITE, scopes: [INGEST], allowedOrigins: ["https://shop.example"]}',
    );
    const track = 'mutation { trackEvent(event: {event: "page_viewed", userId: "cross-origin"}) { status } }';
    const evil = await run(track, secret, { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(codeOf(evil)).toBe('FORBIDDEN');
    await stack.settle();
    expect((await run('{ user(id: "cross-origin") { id } }', API_KEY)).data).toEqual({ user: null });

    const good = await run(track, secret, { origin: 'https://shop.example' });
    expect(good.status).toBe(200);
    expect(good.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const preflight = await fetch(stack.graphqlUrl, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-api-key');
  });

  it('answers 429 with Retry-After over a key’s rate, and nothing runs', async () => {
    const { secret } = await createKey(
      '{name: "tiny", kind: WRITE, scopes: [INGEST], rateLimitPerSecond: 2}',
    );
    const answers: Answer[] = [];
    for (let i = 0; i < 6; i++)
      answers.push(
        await run(
          `mutation { trackEvent(event: {event: "page_viewed", userId: "rl-${i}"}) { status } }`,
          secret,
        ),
      );
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(codeOf(limited[0] as Answer)).toBe('RATE_LIMITED');
    expect(Number(limited[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('prices operations before they run: over the budget or over 10 aliases is QUERY_TOO_COMPLEX', async () => {
    const steps = Array.from({ length: 10 }, (_, i) => `"s${i}"`).join(', ');
    const funnels = Array.from(
      { length: 5 },
      (_, i) => `f${i}: funnel(steps: [${steps}], ${RANGE}) { steps { users } }`,
    );
    const expensive = await run(`{ ${funnels.join(' ')} }`, API_KEY);
    expect(codeOf(expensive)).toBe('QUERY_TOO_COMPLEX');
    expect(expensive.data).toBeUndefined();

    const aliases = Array.from({ length: 11 }, (_, i) => `w${i}: warehouse { rows }`).join(' ');
    expect(codeOf(await run(`{ ${aliases} }`, API_KEY))).toBe('QUERY_TOO_COMPLEX');
    const ten = Array.from({ length: 10 }, (_, i) => `w${i}: warehouse { rows }`).join(' ');
    expect((await run(`{ ${ten} }`, API_KEY)).errors).toBeUndefined();
    // A cost is remembered per document and the variables it depends on, never across limits.
    const trending = 'query($n: Int, $w: TrendWindow) { trending(limit: $n, window: $w) { itemId } }';
    const priced = (variables: Record<string, unknown>) => post({ query: trending, variables }, WRITE_KEY);
    expect((await priced({ n: 10, w: 'HOUR' })).errors).toBeUndefined();
    expect(codeOf(await priced({ n: 6000, w: 'HOUR' }))).toBe('QUERY_TOO_COMPLEX');
    expect((await priced({ n: 10, w: 'DAY' })).errors).toBeUndefined();
    expect(codeOf(await priced({ n: 6000, w: 'DAY' }))).toBe('QUERY_TOO_COMPLEX');
    // Through a fragment, too.
    expect(codeOf(await run(`{ ...F } fragment F on Query { ${aliases} }`, API_KEY))).toBe(
      'QUERY_TOO_COMPLEX',
    );
  });

  it('refuses analytics ranges over 400 days', async () => {
    const answer = await run(
      '{ uniqueUsers(from: "2024-01-01T00:00:00Z", to: "2025-03-01T00:00:00Z") { count } }',
      API_KEY,
    );
    expect(codeOf(answer)).toBe('BAD_USER_INPUT');
  });

  it('shows the schema and its suggestions only to ADMIN and ANALYTICS_READ keys', async () => {
    const introspection = '{ __schema { queryType { name } } }';
    const refused = await run(introspection, WRITE_KEY);
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.data).toBeUndefined();
    expect((await run(introspection, API_KEY)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });

    const typo = '{ trendin { itemId } }';
    expect((await run(typo, API_KEY)).errors?.[0]?.message).toContain('Did you mean');
    const hidden = await run(typo, WRITE_KEY);
    expect(hidden.errors?.[0]?.message).toContain('Cannot query field');
    expect(hidden.errors?.[0]?.message).not.toContain('Did you mean');
  });

  it('ships only the write key to browsers in the demo shop; the playground on loopback gets the secret key', async () => {
    const demo = await (await fetch(`${stack.url}/demo`)).text();
    expect(demo).toContain(WRITE_KEY);
    expect(demo).not.toContain(API_KEY);
    expect(await (await fetch(`${stack.url}/playground`)).text()).toContain(API_KEY);
  });

  it('refuses requests naming a host other than loopback or a configured one (DNS rebinding)', async () => {
    const { port } = new URL(stack.url);
    const http = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/playground', headers: { host: `rebound.example:${port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
    expect((await fetch(`${stack.url}/playground`)).status).toBe(200);
  });
});

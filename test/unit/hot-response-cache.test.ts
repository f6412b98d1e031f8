import 'reflect-metadata';
import { parse, type FormattedExecutionResult, type OperationDefinitionNode } from 'graphql';
import { createApiServer } from '../../src/api/apollo-server';
import { ByteBoundedCache } from '../../src/api/byte-bounded-cache';
import { hotResponseCachePlugin, isCacheableOperation } from '../../src/api/hot-response-cache';
import type { Principal } from '../../src/access/principal';
import type { RequestContext } from '../../src/resolvers/context';
import type { Services } from '../../src/services/services';
import { CachedHotStore } from '../../src/sinks/hot-tier/cached-hot-store';
import { ProfileService } from '../../src/services/profile-service';
import { RecommendationService } from '../../src/services/recommendation-service';
import type { HotStore, IdRecord, UserProfileRecord } from '../../src/sinks/hot-tier/port';

const operation = (source: string) => parse(source).definitions[0] as OperationDefinitionNode;

function profile(id: string, eventCount: number): UserProfileRecord {
  return {
    id,
    eventCount,
    firstSeen: '2024-05-01T10:00:00.000Z',
    lastSeen: '2024-05-01T10:05:00.000Z',
    lastEvent: 'product_viewed',
    lastSeq: '1',
    counts: { product_viewed: eventCount },
    traits: {},
    sessions: [{ start: '2024-05-01T10:00:00.000Z', end: '2024-05-01T10:05:00.000Z', events: eventCount }],
    sessionCount: 1,
    recentEvents: [],
    recentItems: [],
    purchased: [],
  };
}

const running: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
});

/** A hot store over a mutable map of event counts per user, counting its profile reads. */
async function harness(options: { ttlMs?: number; now?: () => number; maxBytes?: number } = {}) {
  const counts = new Map<string, number>([['u1', 3]]);
  const reads = { users: 0, trends: 0 };
  const faults = { nextUserRead: false, afterUserRead: undefined as (() => Promise<void>) | undefined };
  const errors: unknown[] = [];
  const store: HotStore = {
    applyActivity: async (activity) => {
      for (const a of activity) counts.set(a.profileId, (counts.get(a.profileId) ?? 0) + 1);
    },
    getUser: async () => null,
    // A person's profile is read through readIds: here every id is its own person.
    readIds: async (ids) => {
      reads.users += 1;
      if (faults.nextUserRead) {
        faults.nextUserRead = false;
        throw new Error('table unavailable');
      }
      const found = new Map<string, IdRecord>();
      for (const id of ids) {
        const n = counts.get(id);
        if (n !== undefined) found.set(id, { profile: profile(id, n), identity: null });
      }
      await faults.afterUserRead?.();
      return found;
    },
    getItem: async () => null,
    unlink: async () => false,
    getNeighbours: async () => new Map(),
    getTrend: async () => {
      reads.trends += 1;
      return null;
    },
  };
  // With the response cache alone in front of the store, every executed query reads the store.
  const hot = new CachedHotStore(store, { ttlMs: 0, maxEntries: 100 });
  const answers = new ByteBoundedCache<FormattedExecutionResult>({
    maxBytes: options.maxBytes ?? 1024 * 1024,
    ttlMs: options.ttlMs ?? Number.POSITIVE_INFINITY,
    now: options.now,
  });
  const server = createApiServer({
    maxQueryDepth: 10,
    access: { queryBudget: { WRITE: 1000, SECRET: 20000 }, maxAliasesPerRootField: 10 },
    queries: { maxBytes: 64 * 1024, persistedCacheBytes: 1024 * 1024 },
    logger: { error: (...args: unknown[]) => errors.push(args) },
    plugins: [hotResponseCachePlugin({ generation: () => hot.generation, answers })],
  });
  const services = {
    profiles: new ProfileService(hot),
    recommendations: new RecommendationService(hot),
  } as unknown as Services;
  await server.start();
  running.push(server);
  const contextValue: RequestContext = { services, principal: SECRET, edge: { receivedAt: new Date() } };
  const run = async (query: string, variables?: Record<string, unknown>, principal: Principal = SECRET) => {
    const response = await server.executeOperation(
      { query, variables },
      { contextValue: { ...contextValue, principal } },
    );
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return response.body.singleResult;
  };
  const write = (profileId: string) =>
    hot.applyActivity([{ profileId } as unknown as Parameters<HotStore['applyActivity']>[0][number]]);
  return { run, write, reads, counts, faults, errors, answers };
}

const USER = 'query ($id: ID!) { user(id: $id) { id eventCount } }';
const SECRET: Principal = { keyId: 'secret', kind: 'SECRET', scopes: new Set(['HOT_READ', 'PUBLIC_READ']) };
const WRITE: Principal = { keyId: 'write', kind: 'WRITE', scopes: new Set(['INGEST', 'PUBLIC_READ']) };

describe('hot response cache', () => {
  it('caches queries that only read profiles, recommendations and items', () => {
    expect(
      isCacheableOperation(operation('{ user(id: "u") { id } recommendations(userId: "u") { itemId } }')),
    ).toBe(true);
    expect(isCacheableOperation(operation('{ item(id: "i") { id } __typename }'))).toBe(true);
    // Trending scores decay with the clock; analytics and mutations are not hot-tier reads.
    expect(isCacheableOperation(operation('{ trending { itemId } }'))).toBe(false);
    expect(isCacheableOperation(operation('{ user(id: "u") { id } warehouse { rows } }'))).toBe(false);
    expect(isCacheableOperation(operation('mutation { trackEvent(event: {}) { accepted } }'))).toBe(false);
    expect(isCacheableOperation(operation('{ ...F } fragment F on Query { user(id: "u") { id } }'))).toBe(
      false,
    );
    expect(
      isCacheableOperation(operation('query ($s: Boolean!) { user(id: "u") @skip(if: $s) { id } }')),
    ).toBe(false);
  });

  it('answers a repeated query without executing it, per set of variables', async () => {
    const { run, reads } = await harness();
    const first = await run(USER, { id: 'u1' });
    expect(first).toEqual({ data: { user: { id: 'u1', eventCount: 3 } } });
    expect(await run(USER, { id: 'u1' })).toEqual(first);
    expect(reads.users).toBe(1);
    expect(await run(USER, { id: 'nobody' })).toEqual({ data: { user: null } });
    expect(reads.users).toBe(2);
  });

  it('serves a cached answer only to callers allowed the same fields', async () => {
    const { run, reads } = await harness();
    const answer = await run(USER, { id: 'u1' });
    expect(answer.data).toEqual({ user: { id: 'u1', eventCount: 3 } });
    const refused = await run(USER, { id: 'u1' }, WRITE);
    expect(refused.data).toEqual({ user: null });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // The user's own token may read it; that answer is computed for it, not taken from the secret key's.
    const own = await run(USER, { id: 'u1' }, { ...WRITE, userId: 'u1' });
    expect(own.data).toEqual(answer.data);
    expect(reads.users).toBe(2);
  });

  it('executes again after a write through the hot store, so nothing stale is served', async () => {
    const { run, reads, write } = await harness();
    await run(USER, { id: 'u1' });
    await write('u1');
    expect(await run(USER, { id: 'u1' })).toEqual({ data: { user: { id: 'u1', eventCount: 4 } } });
    expect(reads.users).toBe(2);
    await run(USER, { id: 'u1' });
    expect(reads.users).toBe(2);
  });

  it('keeps no answer computed while a write landed', async () => {
    const { run, reads, write, faults } = await harness();
    // The write lands between the read of the old profile and the answer.
    faults.afterUserRead = async () => {
      faults.afterUserRead = undefined;
      await write('u1');
    };
    expect(await run(USER, { id: 'u1' })).toEqual({ data: { user: { id: 'u1', eventCount: 3 } } });
    expect(await run(USER, { id: 'u1' })).toEqual({ data: { user: { id: 'u1', eventCount: 4 } } });
    expect(reads.users).toBe(2);
  });

  it('expires answers after the TTL when writes happen elsewhere', async () => {
    let now = 1_000;
    const { run, reads, counts } = await harness({ ttlMs: 250, now: () => now });
    await run(USER, { id: 'u1' });
    counts.set('u1', 10); // written by another process: no generation change here
    now += 249;
    expect(await run(USER, { id: 'u1' })).toEqual({ data: { user: { id: 'u1', eventCount: 3 } } });
    now += 1;
    expect(await run(USER, { id: 'u1' })).toEqual({ data: { user: { id: 'u1', eventCount: 10 } } });
    expect(reads.users).toBe(2);
  });

  it('keeps no answer with errors, and no answer to an uncacheable query', async () => {
    const { run, reads, faults, errors } = await harness();
    faults.nextUserRead = true;
    expect((await run(USER, { id: 'u1' })).errors?.[0]?.message).toBe('internal error');
    expect(errors).toHaveLength(1);
    expect(await run(USER, { id: 'u1' })).toEqual({ data: { user: { id: 'u1', eventCount: 3 } } });
    await run('{ trending { itemId } }');
    await run('{ trending { itemId } }');
    expect(reads.trends).toBe(2);
  });

  it('keys answers by a hash, so a large query costs the bytes of its answer and not of its text', async () => {
    const { run, reads, answers } = await harness();
    // Distinct comments make distinct operation texts of about 32 KiB each, with one small answer.
    const large = (n: number) => `# ${String(n).repeat(32 * 1024)}\n${USER}`;
    for (let n = 0; n < 10; n += 1) await run(large(n), { id: 'u1' });
    expect(answers.size).toBe(10);
    expect(answers.bytes).toBeLessThan(10 * 200);
    await run(large(3), { id: 'u1' });
    expect(reads.users).toBe(10);
  });

  it('keeps answers within its byte bound, evicting the least recently used', async () => {
    const { run, reads, answers } = await harness({ maxBytes: 400 });
    for (const id of ['u1', 'u2', 'u3', 'u4', 'u5']) await run(USER, { id });
    expect(answers.bytes).toBeLessThanOrEqual(400);
    expect(answers.size).toBeLessThan(5);
    // The latest answer is still served; the first was evicted and is executed again.
    await run(USER, { id: 'u5' });
    expect(reads.users).toBe(5);
    await run(USER, { id: 'u1' });
    expect(reads.users).toBe(6);
  });
});

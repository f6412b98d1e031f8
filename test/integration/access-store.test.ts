import { DynamoDbApiKeyStore } from '../../src/access/dynamodb/dynamodb-api-key-store';
import { DynamoDbRateLimiter } from '../../src/access/dynamodb/dynamodb-rate-limiter';
import { signUserToken } from '../../src/access/user-token';
import { SCOPES } from '../../src/access/scopes';
import { ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import {
  AccessService,
  type AccessLimits,
  type AccessServiceOptions,
} from '../../src/services/access-service';
import { InMemoryRateLimiter } from '../../src/access/memory/in-memory-rate-limiter';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';

jest.setTimeout(30_000);

const BOOTSTRAP = {
  secretKey: 'bootstrap-secret-key',
  writeKey: 'bootstrap-write-key',
  userTokenSecret: 'a-user-token-signing-secret-of-32-chars!',
};
const LIMITS: AccessLimits = {
  defaultRatePerSecond: { WRITE: 1000, SECRET: 1000 },
  bootstrapRatePerSecond: { WRITE: 1000, SECRET: 1000 },
  keyCacheMs: 60_000,
};
const request = (apiKey: string | undefined, extra: { origin?: string; authorization?: string } = {}) => ({
  apiKey,
  origin: extra.origin,
  authorization: extra.authorization,
});

/** The ApiError's code, or 'OK'. */
async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    return String((error as { extensions?: { code?: string } }).extensions?.code ?? error);
  }
}

describe('access on dynalite', () => {
  let emulators: TestEmulators;
  let clock = Date.parse('2026-05-04T12:00:00Z');
  const now = () => new Date(clock);

  /** One API instance's access service over the shared table; a test may swap its limiter or key cap. */
  const service = (options: Partial<Pick<AccessServiceOptions, 'limiter' | 'maxKeys'>> = {}) =>
    new AccessService({
      store: new DynamoDbApiKeyStore({ client: emulators.dynamodb, tableName: 'hot' }),
      limiter: new InMemoryRateLimiter(() => clock),
      bootstrap: () => Promise.resolve(BOOTSTRAP),
      limits: LIMITS,
      now,
      ...options,
    });

  beforeAll(async () => {
    emulators = await startTestEmulators('tributary-access-');
    await ensureHotTable(emulators.dynamodb, 'hot');
  });

  afterAll(async () => {
    await emulators?.stop();
  });

  it('stores keys hashed, authenticates them with their scopes and lists them newest first', async () => {
    const access = service();
    const write = await access.createKey({ name: 'shop', kind: 'WRITE', scopes: ['INGEST'] });
    clock += 1000;
    const secret = await access.createKey({ name: 'analyst', kind: 'SECRET', scopes: ['ANALYTICS_READ'] });
    const stored = await emulators.dynamodb.send(
      new (await import('@aws-sdk/lib-dynamodb')).ScanCommand({ TableName: 'hot' }),
    );
    expect(JSON.stringify(stored.Items)).not.toContain(write.secret);
    expect(JSON.stringify(stored.Items)).not.toContain(secret.secret);

    const principal = await access.authenticate(request(write.secret));
    expect(principal).toMatchObject({ keyId: write.record.id, kind: 'WRITE' });
    expect([...principal.scopes]).toEqual(['INGEST']);
    expect((await access.listKeys()).map((k) => k.name)).toEqual(['analyst', 'shop']);
  });

  it('refuses a WRITE key with a scope beyond INGEST and PUBLIC_READ, and bad origins and limits', async () => {
    const access = service();
    for (const scope of ['HOT_READ', 'ANALYTICS_READ', 'FAILED_EVENTS_READ', 'ADMIN'] as const)
      expect(await outcome(access.createKey({ name: 'x', kind: 'WRITE', scopes: ['INGEST', scope] }))).toBe(
        'BAD_USER_INPUT',
      );
    expect(
      await outcome(
        access.createKey({ name: 'x', kind: 'WRITE', scopes: ['INGEST'], allowedOrigins: ['*'] }),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(
      await outcome(
        access.createKey({ name: 'x', kind: 'SECRET', scopes: ['ADMIN'], rateLimitPerSecond: 0 }),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(await outcome(access.createKey({ name: '', kind: 'SECRET', scopes: ['ADMIN'] }))).toBe(
      'BAD_USER_INPUT',
    );
    expect(await outcome(access.createKey({ name: 'x', kind: 'SECRET', scopes: [] }))).toBe('BAD_USER_INPUT');
  });

  it('bounds every input of key management: list lengths, string sizes, ids and the number of keys', async () => {
    const access = service();
    // One more than there are scopes: a list no key can need.
    const tooMany = Array.from({ length: SCOPES.length + 1 }, () => 'INGEST' as const);
    expect(await outcome(access.createKey({ name: 'x', kind: 'WRITE', scopes: tooMany }))).toBe(
      'BAD_USER_INPUT',
    );
    const origins = Array.from({ length: 51 }, (_, i) => `https://s${i}.example`);
    expect(
      await outcome(
        access.createKey({ name: 'x', kind: 'WRITE', scopes: ['INGEST'], allowedOrigins: origins }),
      ),
    ).toBe('BAD_USER_INPUT');
    const longOrigin = `https://${'a'.repeat(300)}.example`;
    expect(
      await outcome(
        access.createKey({ name: 'x', kind: 'WRITE', scopes: ['INGEST'], allowedOrigins: [longOrigin] }),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(
      await outcome(access.createKey({ name: 'n'.repeat(101), kind: 'SECRET', scopes: ['ADMIN'] })),
    ).toBe('BAD_USER_INPUT');
    expect(
      await outcome(
        access.createKey({ name: 'x', kind: 'SECRET', scopes: ['ADMIN'], rateLimitPerSecond: 100_001 }),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(await outcome(access.revokeKey('k'.repeat(65)))).toBe('BAD_USER_INPUT');
    expect(await outcome(access.revokeKey('key/../x'))).toBe('BAD_USER_INPUT');
    expect(await outcome(access.userToken('u'.repeat(257), 3600))).toBe('BAD_USER_INPUT');
    expect(await outcome(access.userToken('u1', 8 * 86400))).toBe('BAD_USER_INPUT');

    const stored = (await access.listKeys()).length;
    const capped = service({ maxKeys: stored + 1 });
    expect(await outcome(capped.createKey({ name: 'last', kind: 'WRITE', scopes: ['INGEST'] }))).toBe('OK');
    expect(await outcome(capped.createKey({ name: 'one too many', kind: 'WRITE', scopes: ['INGEST'] }))).toBe(
      'BAD_USER_INPUT',
    );
  });

  it('refuses unknown keys and, at once in this process, revoked ones; other processes within the cache bound', async () => {
    const here = service();
    const elsewhere = service();
    const { record, secret } = await here.createKey({
      name: 'rotating',
      kind: 'SECRET',
      scopes: ['HOT_READ'],
    });
    expect(await outcome(elsewhere.authenticate(request(secret)))).toBe('OK');
    expect(await outcome(here.authenticate(request('trbs_unknown')))).toBe('UNAUTHENTICATED');
    expect(await outcome(here.authenticate(request(undefined)))).toBe('UNAUTHENTICATED');

    const revoked = await here.revokeKey(record.id);
    expect(revoked.revokedAt).toBe(now().toISOString());
    expect(await outcome(here.authenticate(request(secret)))).toBe('UNAUTHENTICATED');
    // The other instance still has the key cached, for at most keyCacheMs.
    expect(await outcome(elsewhere.authenticate(request(secret)))).toBe('OK');
    clock += LIMITS.keyCacheMs + 1;
    expect(await outcome(elsewhere.authenticate(request(secret)))).toBe('UNAUTHENTICATED');
    // Revoking twice keeps the first time; unknown ids and bootstrap keys are refused.
    const again = await here.revokeKey(record.id);
    expect(again.revokedAt).toBe(revoked.revokedAt);
    expect(await outcome(here.revokeKey('key_nope'))).toBe('NOT_FOUND');
    expect(await outcome(here.revokeKey('bootstrap-secret'))).toBe('BAD_USER_INPUT');
  });

  it('authenticates the bootstrap keys with their fixed scopes', async () => {
    const access = service();
    const secret = await access.authenticate(request(BOOTSTRAP.secretKey));
    expect(secret.kind).toBe('SECRET');
    expect(secret.scopes.has('ADMIN')).toBe(true);
    const write = await access.authenticate(request(BOOTSTRAP.writeKey));
    expect(write.kind).toBe('WRITE');
    expect([...write.scopes].sort()).toEqual(['INGEST', 'PUBLIC_READ']);
  });

  it('refuses browser origins a key does not allow, before counting the request', async () => {
    const access = service();
    const { secret } = await access.createKey({
      name: 'site',
      kind: 'WRITE',
      scopes: ['INGEST'],
      allowedOrigins: ['https://shop.example', 'https://*.brand.example'],
    });
    expect(await outcome(access.authenticate(request(secret, { origin: 'https://shop.example' })))).toBe(
      'OK',
    );
    expect(await outcome(access.authenticate(request(secret, { origin: 'https://eu.brand.example' })))).toBe(
      'OK',
    );
    expect(await outcome(access.authenticate(request(secret, { origin: 'https://evil.example' })))).toBe(
      'FORBIDDEN',
    );
    // Servers send no Origin header: the key works there.
    expect(await outcome(access.authenticate(request(secret)))).toBe('OK');
  });

  it('limits each key to its rate with a burst of twice that, and says when to retry', async () => {
    const access = service();
    const { secret } = await access.createKey({
      name: 'slow',
      kind: 'WRITE',
      scopes: ['INGEST'],
      rateLimitPerSecond: 5,
    });
    const results: string[] = [];
    for (let i = 0; i < 12; i++) results.push(await outcome(access.authenticate(request(secret))));
    expect(results.filter((r) => r === 'OK')).toHaveLength(10);
    expect(results.slice(10)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    try {
      await access.authenticate(request(secret));
    } catch (error) {
      const http = (error as { extensions: { http: { status: number; headers: Map<string, string> } } })
        .extensions.http;
      expect(http.status).toBe(429);
      expect(http.headers.get('retry-after')).toBe('1');
    }
    clock += 1000;
    expect(await outcome(access.authenticate(request(secret)))).toBe('OK');
  });

  it('reads a user token for its own user only, and refuses expired and forged ones', async () => {
    const access = service();
    const token = await access.userToken('u-42', 3600);
    const principal = await access.authenticate(
      request(BOOTSTRAP.writeKey, { authorization: `Bearer ${token}` }),
    );
    expect(principal.userId).toBe('u-42');

    const forged = await signUserToken('another-secret-of-at-least-32-chars!!', 'u-42', 3600, now());
    expect(
      await outcome(access.authenticate(request(BOOTSTRAP.writeKey, { authorization: `Bearer ${forged}` }))),
    ).toBe('UNAUTHENTICATED');
    const [header, payload] = token.split('.');
    expect(
      await outcome(
        access.authenticate(request(BOOTSTRAP.writeKey, { authorization: `Bearer ${header}.${payload}.` })),
      ),
    ).toBe('UNAUTHENTICATED');
    expect(
      await outcome(access.authenticate(request(BOOTSTRAP.writeKey, { authorization: 'Basic abc' }))),
    ).toBe('UNAUTHENTICATED');
    clock += 3601_000;
    expect(
      await outcome(access.authenticate(request(BOOTSTRAP.writeKey, { authorization: `Bearer ${token}` }))),
    ).toBe('UNAUTHENTICATED');
    expect(await outcome(access.userToken('u-42', 10))).toBe('BAD_USER_INPUT');
  });

  it('holds a shared limit across two API instances (one table)', async () => {
    const instance = () =>
      service({
        limiter: new DynamoDbRateLimiter({ client: emulators.dynamodb, tableName: 'hot', now: () => clock }),
      });
    const [a, b] = [instance(), instance()];
    const { secret } = await a.createKey({
      name: 'shared',
      kind: 'WRITE',
      scopes: ['INGEST'],
      rateLimitPerSecond: 5,
    });
    clock = Math.ceil(clock / 1000) * 1000 + 100;
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => outcome((i % 2 === 0 ? a : b).authenticate(request(secret)))),
    );
    // Ten (twice the rate) pass in a quiet second, whichever instance they reach.
    expect(results.filter((r) => r === 'OK')).toHaveLength(10);
    expect(results.filter((r) => r === 'RATE_LIMITED')).toHaveLength(20);
    // The next second still sees the previous one's count; a second later the key works again.
    clock += 1000;
    expect(await outcome(b.authenticate(request(secret)))).toBe('RATE_LIMITED');
    clock += 1000;
    expect(await outcome(a.authenticate(request(secret)))).toBe('OK');
  });
});

import { hashSecret, newKeySecret } from '../../src/access/api-key';
import { normaliseOrigin, originAllowed } from '../../src/access/origins';
import { accessFingerprint, allows, type Principal } from '../../src/access/principal';
import { TokenBucket, windowDecision } from '../../src/access/rate-limit';
import { scopesNotAllowed, SCOPES, PUBLISHABLE_SCOPES } from '../../src/access/scopes';
import { hostAllowed } from '../../src/local/allowed-hosts';

const principal = (scopes: string[], userId?: string): Principal =>
  ({ keyId: 'k', kind: 'SECRET', scopes: new Set(scopes), userId }) as Principal;

describe('scopes', () => {
  it('lets a WRITE key hold only the publishable scopes', () => {
    for (const scope of SCOPES) {
      const refused = scopesNotAllowed('WRITE', [scope]);
      expect(refused.length === 0).toBe(PUBLISHABLE_SCOPES.includes(scope));
      expect(scopesNotAllowed('SECRET', [scope])).toEqual([]);
    }
  });
});

describe('field rules', () => {
  it('allows a field when any rule holds', () => {
    const rules = [{ scope: 'HOT_READ' as const }, { self: 'id' }];
    expect(allows(principal(['HOT_READ']), rules, { id: 'u1' })).toBe(true);
    expect(allows(principal(['INGEST'], 'u1'), rules, { id: 'u1' })).toBe(true);
    expect(allows(principal(['INGEST'], 'u1'), rules, { id: 'u2' })).toBe(false);
    expect(allows(principal(['INGEST']), rules, { id: 'u1' })).toBe(false);
  });

  it('reads whenAbsent as "only without that argument"', () => {
    const rules = [{ scope: 'PUBLIC_READ' as const, whenAbsent: 'userId' }];
    expect(allows(principal(['PUBLIC_READ']), rules, { itemId: 'i' })).toBe(true);
    expect(allows(principal(['PUBLIC_READ']), rules, { itemId: 'i', userId: null })).toBe(true);
    expect(allows(principal(['PUBLIC_READ']), rules, { userId: 'u1' })).toBe(false);
  });

  it('fingerprints principals by what they may read', () => {
    expect(accessFingerprint(principal(['B', 'A']))).toBe(accessFingerprint(principal(['A', 'B'])));
    expect(accessFingerprint(principal(['A'], 'u1'))).not.toBe(accessFingerprint(principal(['A'], 'u2')));
    expect(accessFingerprint(principal(['A']))).not.toBe(accessFingerprint(principal(['A', 'B'])));
  });
});

describe('key secrets', () => {
  it('are random, carry their kind and are stored as their hash', () => {
    const a = newKeySecret('WRITE');
    expect(a).toMatch(/^trbw_[A-Za-z0-9_-]{43}$/);
    expect(newKeySecret('SECRET')).toMatch(/^trbs_/);
    expect(newKeySecret('WRITE')).not.toBe(a);
    expect(hashSecret(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret(a)).toBe(hashSecret(`${a}`));
    expect(hashSecret(`${a}x`)).not.toBe(hashSecret(a));
  });
});

describe('origins', () => {
  it('normalises origins and refuses anything else', () => {
    expect(normaliseOrigin('https://Shop.Example/')).toBe('https://shop.example');
    expect(normaliseOrigin('http://localhost:3000')).toBe('http://localhost:3000');
    expect(normaliseOrigin('https://*.shop.example')).toBe('https://*.shop.example');
    expect(normaliseOrigin('https://shop.example/path')).toBeUndefined();
    expect(normaliseOrigin('javascript:alert(1)')).toBeUndefined();
    expect(normaliseOrigin('*')).toBeUndefined();
  });

  it('matches exact origins and subdomain patterns only', () => {
    const allowed = ['https://shop.example', 'https://*.brand.example'];
    expect(originAllowed(allowed, 'https://shop.example')).toBe(true);
    expect(originAllowed(allowed, 'http://shop.example')).toBe(false);
    expect(originAllowed(allowed, 'https://shop.example.evil.test')).toBe(false);
    expect(originAllowed(allowed, 'https://eu.brand.example')).toBe(true);
    expect(originAllowed(allowed, 'https://brand.example')).toBe(false);
    expect(originAllowed(allowed, 'https://evilbrand.example')).toBe(false);
    expect(originAllowed(null, 'https://anything.example')).toBe(true);
    expect(originAllowed([], 'https://shop.example')).toBe(false);
  });
});

describe('rate limits', () => {
  it('lets a burst of twice the rate through, then the rate', () => {
    const bucket = new TokenBucket(10, 0);
    let allowed = 0;
    for (let i = 0; i < 50; i++) if (bucket.take(0).allowed) allowed++;
    expect(allowed).toBe(20);
    const refused = bucket.take(0);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // One second later, ten more.
    allowed = 0;
    for (let i = 0; i < 50; i++) if (bucket.take(1000).allowed) allowed++;
    expect(allowed).toBe(10);
  });

  it('holds the average over shared one-second windows', () => {
    expect(windowDecision(20, 0, 10).allowed).toBe(true);
    expect(windowDecision(21, 0, 10).allowed).toBe(false);
    expect(windowDecision(11, 10, 10).allowed).toBe(false);
    expect(windowDecision(10, 10, 10).allowed).toBe(true);
  });
});

describe('local host check', () => {
  it('allows loopback names and configured hosts only', () => {
    for (const host of ['localhost:4000', '127.0.0.1:4000', '[::1]:4000', 'app.localhost', 'localhost'])
      expect(hostAllowed(host, [])).toBe(true);
    for (const host of ['evil.example:4000', '', undefined, '10.0.0.5:4000', 'localhost.evil.example'])
      expect(hostAllowed(host, [])).toBe(false);
    expect(hostAllowed('tributary.lan:4000', ['tributary.lan'])).toBe(true);
  });
});

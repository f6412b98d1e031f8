import { timingSafeEqual } from 'node:crypto';
import {
  hashSecret,
  MAX_KEY_NAME_LENGTH,
  MAX_RATE_LIMIT_PER_SECOND,
  newKeyId,
  newKeySecret,
  sha256,
  type ApiKeyRecord,
} from '../access/api-key';
import { MAX_ALLOWED_ORIGINS, normaliseOrigin, originAllowed } from '../access/origins';
import type { ApiKeyStore, RateLimiter } from '../access/port';
import type { Principal } from '../access/principal';
import { PUBLISHABLE_SCOPES, SCOPES, scopesNotAllowed, type ApiKeyKind, type Scope } from '../access/scopes';
import {
  signUserToken,
  verifyUserToken,
  USER_TOKEN_MAX_TTL_SECONDS,
  USER_TOKEN_MIN_TTL_SECONDS,
} from '../access/user-token';
import { ApiError, badUserInput, forbidden, unauthenticated } from './errors';

/** Keys configured in the environment; they are never stored and never revoked through the API. */
export interface BootstrapKeys {
  /** TRIBUTARY_API_KEY: a SECRET key with every scope. */
  secretKey: string;
  /** TRIBUTARY_WRITE_KEY: a WRITE key with INGEST and PUBLIC_READ. */
  writeKey: string;
  /** HS256 key that signs user tokens. */
  userTokenSecret: string;
}

export interface AccessLimits {
  /** Requests a second of keys created without their own limit, per kind. */
  defaultRatePerSecond: Record<ApiKeyKind, number>;
  /** Requests a second of the bootstrap keys. */
  bootstrapRatePerSecond: Record<ApiKeyKind, number>;
  /** How long a key lookup is reused: the bound on how long a revoked key keeps working elsewhere. */
  keyCacheMs: number;
}

export interface AccessServiceOptions {
  store: ApiKeyStore;
  limiter: RateLimiter;
  /** Read once (Secrets Manager in AWS), then kept. */
  bootstrap: () => Promise<BootstrapKeys>;
  limits: AccessLimits;
  /** Keys that may be stored at most (default MAX_STORED_KEYS). */
  maxKeys?: number;
  logger?: Pick<Console, 'error'>;
  now?: () => Date;
}

/** What the edge knows about a request, for authentication. */
export interface AccessRequest {
  apiKey: string | undefined;
  /** The Origin header: browsers send it on cross-origin requests. */
  origin: string | undefined;
  /** The Authorization header; a `Bearer` user token when present. */
  authorization: string | undefined;
}

export interface CreateKeyInput {
  name: string;
  kind: ApiKeyKind;
  scopes: Scope[];
  allowedOrigins?: string[] | null;
  rateLimitPerSecond?: number | null;
}

const BOOTSTRAP_IDS: Record<ApiKeyKind, string> = { SECRET: 'bootstrap-secret', WRITE: 'bootstrap-write' };
/** lastUsedAt is a hint, not an audit log: one write a minute per key at most. */
const TOUCH_INTERVAL_MS = 60_000;
const MAX_CACHED_KEYS = 10_000;
/** Keys live in one partition that every listing reads whole: a bound keeps it small. */
export const MAX_STORED_KEYS = 1000;
/** A scheme, a host name of at most 253 characters and a port. */
const MAX_ORIGIN_LENGTH = 270;
const KEY_ID = /^[\w-]{1,64}$/;

interface CachedKey {
  record: ApiKeyRecord | null;
  expiresAt: number;
}

/** Authenticates requests (keys, user tokens, origins, rate limits) and manages keys. */
export class AccessService {
  private readonly cache = new Map<string, CachedKey>();
  private readonly touchedAt = new Map<string, number>();
  private bootstrapDigests: { secretKey: Buffer; writeKey: Buffer } | undefined;
  private readonly now: () => Date;
  private readonly logger: Pick<Console, 'error'>;

  constructor(private readonly options: AccessServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger ?? console;
  }

  /**
   * The caller of a request, or an ApiError: 401 for no, an unknown or a revoked key or a bad user
   * token; 403 for a browser origin the key does not allow; 429 over the key's rate.
   */
  async authenticate(request: AccessRequest): Promise<Principal> {
    if (!request.apiKey) throw unauthenticated();
    const key = await this.lookup(request.apiKey);
    if (!key || key.revokedAt) throw unauthenticated();
    if (request.origin !== undefined && !originAllowed(key.allowedOrigins, request.origin)) {
      throw forbidden(`this key may not be used from ${request.origin}`, 403);
    }
    const decision = await this.options.limiter.take(key.id, this.rateOf(key));
    if (!decision.allowed) {
      throw new ApiError(
        'RATE_LIMITED',
        `over this key's rate of ${this.rateOf(key)} requests a second`,
        429,
        {
          headers: { 'retry-after': String(decision.retryAfterSeconds) },
        },
      );
    }
    const userId = await this.userOf(request.authorization);
    this.touch(key);
    return { keyId: key.id, kind: key.kind, scopes: new Set(key.scopes), userId };
  }

  async createKey(input: CreateKeyInput): Promise<{ record: ApiKeyRecord; secret: string }> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > MAX_KEY_NAME_LENGTH)
      throw badUserInput(`name: 1 to ${MAX_KEY_NAME_LENGTH} characters`);
    if (input.scopes.length > SCOPES.length)
      throw badUserInput(`scopes: at most ${SCOPES.length}, one of each`);
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0) throw badUserInput('scopes: a key needs at least one scope');
    const refused = scopesNotAllowed(input.kind, scopes);
    if (refused.length > 0) {
      throw badUserInput(
        `scopes: a WRITE key is publishable and may hold only ${PUBLISHABLE_SCOPES.join(' and ')}, not ${refused.join(', ')}`,
      );
    }
    const allowedOrigins = input.allowedOrigins == null ? null : this.origins(input.allowedOrigins);
    const rate = input.rateLimitPerSecond ?? null;
    if (rate !== null && (!Number.isSafeInteger(rate) || rate < 1 || rate > MAX_RATE_LIMIT_PER_SECOND))
      throw badUserInput(`rateLimitPerSecond: an integer from 1 to ${MAX_RATE_LIMIT_PER_SECOND}`);
    const maxKeys = this.options.maxKeys ?? MAX_STORED_KEYS;
    if ((await this.options.store.list()).length >= maxKeys)
      throw badUserInput(`at most ${maxKeys} keys may be stored, revoked ones included`);
    const secret = newKeySecret(input.kind);
    const record: ApiKeyRecord = {
      id: newKeyId(),
      name,
      kind: input.kind,
      scopes,
      allowedOrigins,
      rateLimitPerSecond: rate,
      createdAt: this.now().toISOString(),
      lastUsedAt: null,
      revokedAt: null,
      secretHash: hashSecret(secret),
    };
    await this.options.store.create(record);
    return { record, secret };
  }

  listKeys(): Promise<ApiKeyRecord[]> {
    return this.options.store.list();
  }

  /** Revokes a key; it stops working in this process at once, elsewhere within `keyCacheMs`. */
  async revokeKey(id: string): Promise<ApiKeyRecord> {
    if (!KEY_ID.test(id)) throw badUserInput('id: a key id, like key_AbC123');
    if (Object.values(BOOTSTRAP_IDS).includes(id))
      throw badUserInput('a bootstrap key is set in the environment: change it there to rotate it');
    const record = await this.options.store.revoke(id, this.now().toISOString());
    if (!record) throw new ApiError('NOT_FOUND', `no key with id ${id}`);
    this.cache.delete(record.secretHash);
    return record;
  }

  async userToken(userId: string, ttlSeconds: number): Promise<string> {
    if (userId.length === 0 || userId.length > 256) throw badUserInput('userId: 1 to 256 characters');
    if (
      !Number.isSafeInteger(ttlSeconds) ||
      ttlSeconds < USER_TOKEN_MIN_TTL_SECONDS ||
      ttlSeconds > USER_TOKEN_MAX_TTL_SECONDS
    )
      throw badUserInput(
        `ttlSeconds: an integer from ${USER_TOKEN_MIN_TTL_SECONDS} to ${USER_TOKEN_MAX_TTL_SECONDS}`,
      );
    const { userTokenSecret } = await this.options.bootstrap();
    return signUserToken(userTokenSecret, userId, ttlSeconds, this.now());
  }

  private rateOf(key: ApiKeyRecord): number {
    if (key.rateLimitPerSecond !== null) return key.rateLimitPerSecond;
    const isBootstrap = key.id === BOOTSTRAP_IDS[key.kind];
    return (
      isBootstrap ? this.options.limits.bootstrapRatePerSecond : this.options.limits.defaultRatePerSecond
    )[key.kind];
  }

  private async lookup(secret: string): Promise<ApiKeyRecord | null> {
    // One hash of what was sent, compared in constant time with the bootstrap keys' hashes and
    // looked up as is among the stored keys.
    const digest = sha256(secret);
    const bootstrap = (this.bootstrapDigests ??= await this.digestBootstrapKeys());
    if (timingSafeEqual(bootstrap.secretKey, digest)) return this.bootstrapRecord('SECRET', SCOPES);
    if (timingSafeEqual(bootstrap.writeKey, digest)) return this.bootstrapRecord('WRITE', PUBLISHABLE_SCOPES);
    const hash = digest.toString('hex');
    const now = this.now().getTime();
    const cached = this.cache.get(hash);
    if (cached && cached.expiresAt > now) return cached.record;
    const record = await this.options.store.findBySecretHash(hash);
    if (this.cache.size >= MAX_CACHED_KEYS) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(hash, { record, expiresAt: now + this.options.limits.keyCacheMs });
    return record;
  }

  private async digestBootstrapKeys(): Promise<{ secretKey: Buffer; writeKey: Buffer }> {
    const { secretKey, writeKey } = await this.options.bootstrap();
    return { secretKey: sha256(secretKey), writeKey: sha256(writeKey) };
  }

  private bootstrapRecord(kind: ApiKeyKind, scopes: readonly Scope[]): ApiKeyRecord {
    return {
      id: BOOTSTRAP_IDS[kind],
      name: kind === 'SECRET' ? 'TRIBUTARY_API_KEY' : 'TRIBUTARY_WRITE_KEY',
      kind,
      scopes: [...scopes],
      allowedOrigins: null,
      rateLimitPerSecond: null,
      createdAt: new Date(0).toISOString(),
      lastUsedAt: null,
      revokedAt: null,
      secretHash: '',
    };
  }

  private async userOf(authorization: string | undefined): Promise<string | undefined> {
    if (authorization === undefined || authorization === '') return undefined;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match?.[1]) throw unauthenticated('the Authorization header must be "Bearer <user token>"');
    const { userTokenSecret } = await this.options.bootstrap();
    const userId = await verifyUserToken(userTokenSecret, match[1], this.now());
    if (userId === undefined) throw unauthenticated('the user token is expired or invalid');
    return userId;
  }

  private origins(values: string[]): string[] {
    if (values.length > MAX_ALLOWED_ORIGINS)
      throw badUserInput(`allowedOrigins: at most ${MAX_ALLOWED_ORIGINS}`);
    return [
      ...new Set(
        values.map((value) => {
          const origin = value.length <= MAX_ORIGIN_LENGTH ? normaliseOrigin(value) : undefined;
          if (!origin)
            throw badUserInput(`allowedOrigins: "${value}" is not an origin like https://shop.example`);
          return origin;
        }),
      ),
    ];
  }

  private touch(key: ApiKeyRecord): void {
    if (!key.secretHash) return;
    const now = this.now().getTime();
    if ((this.touchedAt.get(key.id) ?? 0) + TOUCH_INTERVAL_MS > now) return;
    if (this.touchedAt.size >= MAX_CACHED_KEYS) this.touchedAt.clear();
    this.touchedAt.set(key.id, now);
    this.options.store.touch(key.secretHash, new Date(now).toISOString()).catch((error: unknown) => {
      this.logger.error('could not record a key as used', error);
    });
  }
}

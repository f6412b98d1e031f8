import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyKind, Scope } from './scopes';

/** A key as stored: the secret itself is never kept, only its SHA-256. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  kind: ApiKeyKind;
  scopes: Scope[];
  /** Browser origins allowed to use the key (`https://shop.example`); null: any origin. */
  allowedOrigins: string[] | null;
  /** Requests a second (burst: twice that); null: the default for its kind. */
  rateLimitPerSecond: number | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** SHA-256 of the secret, hex. Secrets are 256 random bits, so a fast hash cannot be brute-forced. */
  secretHash: string;
}

/** Bounds of a key's settings, checked by the access service and named in the GraphQL schema. */
export const MAX_KEY_NAME_LENGTH = 100;
export const MAX_RATE_LIMIT_PER_SECOND = 100_000;

/** Secrets carry their kind in a prefix, so a leaked secret key is recognisable (and scannable) as one. */
const SECRET_PREFIX: Record<ApiKeyKind, string> = { WRITE: 'trbw_', SECRET: 'trbs_' };

export function newKeySecret(kind: ApiKeyKind): string {
  return `${SECRET_PREFIX[kind]}${randomBytes(32).toString('base64url')}`;
}

export function newKeyId(): string {
  return `key_${randomBytes(9).toString('base64url')}`;
}

export const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

/** How a secret is stored and looked up: its SHA-256, hex. */
export function hashSecret(secret: string): string {
  return sha256(secret).toString('hex');
}

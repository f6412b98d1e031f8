import type { ApiKeyRecord } from './api-key';
import type { RateDecision } from './rate-limit';

/** Where keys live (the hot table in DynamoDB, dynalite locally); only hashes of secrets are stored. */
export interface ApiKeyStore {
  /** Stores a new key. */
  create(record: ApiKeyRecord): Promise<void>;
  /** The key whose secret has this hash, revoked or not; null when there is none. */
  findBySecretHash(secretHash: string): Promise<ApiKeyRecord | null>;
  /** Every key, newest first. */
  list(): Promise<ApiKeyRecord[]>;
  /** Marks a key revoked at `at` (idempotent: a second revoke keeps the first time); null when unknown. */
  revoke(id: string, at: string): Promise<ApiKeyRecord | null>;
  /** Records that a key was used at `at` (best effort). */
  touch(secretHash: string, at: string): Promise<void>;
}

/** Per-key request rate, checked before a request runs. */
export interface RateLimiter {
  /** Counts one request of `keyId` and says whether it is within `perSecond` (burst twice that). */
  take(keyId: string, perSecond: number): Promise<RateDecision>;
}

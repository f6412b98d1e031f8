import type { RateLimiter } from '../port';
import { TokenBucket, type RateDecision } from '../rate-limit';

/** One process's limiter (the embedded stack): a token bucket per key, bounded in number. */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { perSecond: number; bucket: TokenBucket }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  take(keyId: string, perSecond: number): Promise<RateDecision> {
    const now = this.now();
    let entry = this.buckets.get(keyId);
    if (!entry || entry.perSecond !== perSecond) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
      entry = { perSecond, bucket: new TokenBucket(perSecond, now) };
      this.buckets.set(keyId, entry);
    }
    return Promise.resolve(entry.bucket.take(now));
  }
}

/** The outcome of asking for one request's worth of a key's rate. */
export interface RateDecision {
  allowed: boolean;
  /** When refused: whole seconds until a request would be allowed again (at least 1). */
  retryAfterSeconds: number;
}

/** A key's limit: `perSecond` on average, with bursts of up to twice that. */
export const burstOf = (perSecond: number): number => perSecond * 2;

/**
 * A token bucket (capacity twice the rate, refilled at the rate), for one process. Pure: the caller
 * passes the time, so tests need no clock.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = burstOf(perSecond);
    this.updatedAt = now;
  }

  take(now: number): RateDecision {
    const elapsed = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(burstOf(this.perSecond), this.tokens + elapsed * this.perSecond);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond)) };
  }
}

/**
 * The shared limit's rule, over one-second windows counted in a store every API instance sees: a
 * request is allowed when this second's and the previous second's counts together stay within
 * twice the rate. Over any two consecutive seconds at most 2×rate pass, so the average holds at
 * the rate while a quiet second lets a burst of 2×rate through.
 */
export function windowDecision(
  countThisSecond: number,
  countPreviousSecond: number,
  perSecond: number,
): RateDecision {
  const allowed = countThisSecond + countPreviousSecond <= burstOf(perSecond);
  return { allowed, retryAfterSeconds: allowed ? 0 : 1 };
}

export interface BackoffOptions {
  /** Delay cap for the first retry; it doubles with every consecutive failure. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter: a random delay in [0, min(max, base·2^attempt)). Jitter
 * keeps many clients that failed together from retrying together (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"). A server's Retry-After is a floor, still capped at the max.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number,
  retryAfterMs = 0,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.min(options.maxDelayMs, Math.max(Math.floor(random() * ceiling), retryAfterMs));
}

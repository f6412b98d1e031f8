/**
 * What every AWS adapter needs to decide whether a failed call is worth another attempt, and
 * how long to wait before it. One place, so Kinesis, Firehose and DynamoDB retry alike.
 */

/** The parts of an SDK (or Node network) error that classification looks at. */
export interface SdkErrorFacts {
  name: string;
  code: string | undefined;
  status: number | undefined;
  message: string;
}

export function sdkErrorFacts(err: unknown): SdkErrorFacts {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    code: typeof e.code === 'string' ? e.code : undefined,
    status: e.$metadata?.httpStatusCode,
    message: typeof e.message === 'string' ? e.message : String(err),
  };
}

/** Exception names AWS services use for throttling and their own faults. */
export const TRANSIENT_ERROR_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'LimitExceededException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'KMSThrottlingException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalFailureException',
  'InternalServerError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** Socket-level failures: the request may never have reached the service. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_HTTP2_STREAM_ERROR',
]);

export const ACCESS_DENIED_ERROR_NAMES: ReadonlySet<string> = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'MissingAuthenticationTokenException',
]);

/** Throttling, a service fault, a 5xx or a network failure. */
export function isTransient({ name, code, status }: SdkErrorFacts): boolean {
  return (
    TRANSIENT_ERROR_NAMES.has(name) ||
    (code !== undefined && NETWORK_ERROR_CODES.has(code)) ||
    (status !== undefined && status >= 500)
  );
}

/**
 * Full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog): a random wait up to
 * min(max, base · 2^(retry−1)), which spreads the retries of many concurrent callers.
 */
export function fullJitterDelay(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** (retry - 1)));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

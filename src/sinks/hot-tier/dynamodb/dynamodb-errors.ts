import { HotStoreError } from '../errors';

const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** The expected outcome of an optimistic write whose assumption about the item no longer holds. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return errorName(error) === 'ConditionalCheckFailedException';
}

/** Errors worth retrying after a pause: capacity, not correctness. */
export function isThrottling(error: unknown): boolean {
  const name = errorName(error);
  return name !== undefined && THROTTLING_ERRORS.has(name);
}

export function isResourceNotFound(error: unknown): boolean {
  return errorName(error) === 'ResourceNotFoundException';
}

export function isResourceInUse(error: unknown): boolean {
  return errorName(error) === 'ResourceInUseException';
}

/** Wraps anything unknown so callers see one error type, keeping the original as `cause`. */
export function toHotStoreError(error: unknown, action: string): HotStoreError {
  if (error instanceof HotStoreError) return error;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new HotStoreError(`Hot store ${action} failed (${detail})`, 'HOT_STORE_FAILED', { cause: error });
}

/**
 * Whether retrying can never help: DynamoDB refused the data itself (a number out of its range, an
 * item past 400 KB, maps nested too deep), or the activity is malformed. Looks through causes,
 * since the hot store wraps SDK errors.
 */
export function isRefusedData(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    if (current.name === 'ValidationException') return true;
    if (current instanceof HotStoreError && current.code === 'HOT_STORE_INVALID_ACTIVITY') return true;
    current = current.cause;
  }
  return false;
}

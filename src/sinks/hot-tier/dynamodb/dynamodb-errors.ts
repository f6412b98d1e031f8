import { fromEngineError, HotStoreError } from '../errors';

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

/**
 * DynamoDB refusing the data itself: an item past 400 KB, a number out of its range, maps nested
 * too deep, a key too long. Retrying the same data can never succeed.
 */
function isValidationException(error: unknown): boolean {
  return errorName(error) === 'ValidationException';
}

/**
 * Translates into the port's error, keeping the original as `cause`: the engine's refusal of a
 * malformed batch as HOT_STORE_INVALID_ACTIVITY, DynamoDB's refusal of the data as
 * HOT_STORE_REFUSED_DATA, anything unknown as HOT_STORE_FAILED.
 */
export function toHotStoreError(error: unknown, action: string): HotStoreError {
  if (error instanceof HotStoreError) return error;
  const engineError = fromEngineError(error);
  if (engineError !== undefined) return engineError;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const code = isValidationException(error) ? 'HOT_STORE_REFUSED_DATA' : 'HOT_STORE_FAILED';
  return new HotStoreError(`Hot store ${action} failed (${detail})`, code, { cause: error });
}

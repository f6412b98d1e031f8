/** Errors of the hot-tier port, whatever the engine. */
import { InvalidActivityError } from '../../realtime/errors';

/** Stable codes callers can branch on without parsing messages. */
export type HotStoreErrorCode =
  | 'HOT_STORE_THROTTLED'
  | 'HOT_STORE_CONFLICT'
  | 'HOT_STORE_INVALID_ACTIVITY'
  | 'HOT_STORE_REFUSED_DATA'
  | 'HOT_STORE_TABLE_NOT_READY'
  | 'HOT_STORE_FAILED';

/** A hot-tier operation that did not complete; `cause` holds the SDK error when there is one. */
export class HotStoreError extends Error {
  readonly code: HotStoreErrorCode;

  constructor(message: string, code: HotStoreErrorCode = 'HOT_STORE_FAILED', options?: ErrorOptions) {
    super(message, options);
    this.name = 'HotStoreError';
    this.code = code;
  }
}

/**
 * The engine's refusal of a malformed batch as the port's error (HOT_STORE_INVALID_ACTIVITY);
 * undefined for any other error, which the adapter translates itself.
 */
export function fromEngineError(error: unknown): HotStoreError | undefined {
  if (error instanceof InvalidActivityError) {
    return new HotStoreError(error.message, 'HOT_STORE_INVALID_ACTIVITY', { cause: error });
  }
  return undefined;
}

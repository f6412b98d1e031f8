/** Errors of the hot-tier port, whatever the engine. */

/** Stable codes callers can branch on without parsing messages. */
export type HotStoreErrorCode =
  | 'HOT_STORE_THROTTLED'
  | 'HOT_STORE_CONFLICT'
  | 'HOT_STORE_INVALID_ACTIVITY'
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

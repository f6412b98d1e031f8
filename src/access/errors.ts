export type AccessErrorCode = 'ACCESS_STORE_FAILED';

/** A key store or rate-limit store operation that did not complete; `cause` holds the engine's error. */
export class AccessStoreError extends Error {
  readonly code: AccessErrorCode = 'ACCESS_STORE_FAILED';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AccessStoreError';
  }
}

/** Errors of the privacy stores (deletion requests, the suppression list), whatever the engine. */

/** Stable codes callers can branch on without parsing messages. */
export type PrivacyStoreErrorCode = 'PRIVACY_STORE_THROTTLED' | 'PRIVACY_STORE_FAILED';

/** A deletion-request or suppression store operation that did not complete; `cause` holds the engine's error. */
export class PrivacyStoreError extends Error {
  readonly code: PrivacyStoreErrorCode;

  constructor(message: string, code: PrivacyStoreErrorCode = 'PRIVACY_STORE_FAILED', options?: ErrorOptions) {
    super(message, options);
    this.name = 'PrivacyStoreError';
    this.code = code;
  }
}

/**
 * Deletion steps that kept failing: a store away for this long is no passing outage, and someone
 * must look (the step's `detail` says why). The requests stay as they are, and are retried.
 */
export class DeletionStuckError extends Error {
  readonly code = 'DELETION_STUCK';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeletionStuckError';
  }
}

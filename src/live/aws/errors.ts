export type LiveAwsErrorCode = 'LIVE_STORE_FAILED' | 'LIVE_TRANSPORT_FAILED';

/** A connections-table operation that did not complete; `cause` holds DynamoDB's error. */
export class LiveStoreError extends Error {
  readonly code: LiveAwsErrorCode = 'LIVE_STORE_FAILED';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LiveStoreError';
  }
}

/** A message API Gateway would not take for a connection that still exists (throttled, forbidden, down). */
export class LiveTransportError extends Error {
  readonly code: LiveAwsErrorCode = 'LIVE_TRANSPORT_FAILED';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LiveTransportError';
  }
}

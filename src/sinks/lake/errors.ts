/** Errors raised by lake deliveries (local folder, Firehose). Each has a stable `code` callers can branch on. */

export type LakeErrorCode = 'LAKE_WRITE_FAILED' | 'LAKE_RECORD_INVALID' | 'DELIVERY_CLOSED';

/** A record that could not be written to the local lake; `cause` holds the I/O error when there is one. */
export class LakeWriteError extends Error {
  readonly code: LakeErrorCode;

  constructor(message: string, code: LakeErrorCode = 'LAKE_WRITE_FAILED', options?: ErrorOptions) {
    super(message, options);
    this.name = 'LakeWriteError';
    this.code = code;
  }
}

export type DeliveryErrorCode =
  | 'RECORD_TOO_LARGE'
  | 'RECORD_NOT_SERIALIZABLE'
  | 'DELIVERY_STREAM_NOT_FOUND'
  | 'DELIVERY_REJECTED'
  | 'DELIVERY_ACCESS_DENIED'
  | 'DELIVERY_UNAVAILABLE'
  | 'DELIVERY_ENTRY_FAILED'
  | 'DELIVERY_FAILED';

export interface DeliveryErrorOptions extends ErrorOptions {
  /** Whether sending the same records again later may succeed. */
  retryable?: boolean;
}

/** A record the Firehose delivery could not deliver; `cause` holds the SDK error when there is one. */
export class DeliveryError extends Error {
  readonly code: DeliveryErrorCode;
  readonly retryable: boolean;

  constructor(message: string, code: DeliveryErrorCode = 'DELIVERY_FAILED', options?: DeliveryErrorOptions) {
    super(message, options);
    this.name = 'DeliveryError';
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** A record over Firehose's 1,000 KiB limit once serialised; it is never sent. */
export class RecordTooLargeError extends DeliveryError {
  readonly bytes: number;
  readonly limit: number;

  constructor(bytes: number, limit: number, options?: ErrorOptions) {
    super(
      `record is ${bytes} bytes once serialised, Firehose accepts at most ${limit}`,
      'RECORD_TOO_LARGE',
      options,
    );
    this.name = 'RecordTooLargeError';
    this.bytes = bytes;
    this.limit = limit;
  }
}

export type LakeEraseErrorCode = 'LAKE_ERASE_INCOMPLETE' | 'LAKE_ACCESS_DENIED' | 'LAKE_BUCKET_NOT_FOUND';

export interface LakeEraseErrorOptions extends ErrorOptions {
  /** Records removed before the erasure stopped; a rerun removes the rest. */
  removed?: number;
}

/**
 * An erasure that did not finish: some files could not be read, rewritten or have their old versions
 * removed. What was done stays done; running the erasure again finishes it.
 */
export class LakeEraseError extends Error {
  readonly code: LakeEraseErrorCode;
  readonly removed: number;

  constructor(message: string, code: LakeEraseErrorCode, options?: LakeEraseErrorOptions) {
    super(message, options);
    this.name = 'LakeEraseError';
    this.code = code;
    this.removed = options?.removed ?? 0;
  }
}

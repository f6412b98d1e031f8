/** Errors raised by delivery and warehouse adapters. Each has a stable `code` callers can branch on. */

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

export type WarehouseErrorCode =
  | 'WAREHOUSE_MIGRATION_FAILED'
  | 'WAREHOUSE_LOAD_FAILED'
  | 'WAREHOUSE_QUERY_FAILED'
  | 'WAREHOUSE_INVALID_QUERY'
  | 'WAREHOUSE_CLOSED'
  | 'WAREHOUSE_STATEMENT_FAILED'
  | 'WAREHOUSE_STATEMENT_ABORTED'
  | 'WAREHOUSE_TIMEOUT'
  | 'WAREHOUSE_BUSY'
  | 'WAREHOUSE_UNAVAILABLE';

/** A warehouse operation that did not complete; `cause` holds the engine's error when there is one. */
export class WarehouseError extends Error {
  readonly code: WarehouseErrorCode;

  constructor(message: string, code: WarehouseErrorCode = 'WAREHOUSE_QUERY_FAILED', options?: ErrorOptions) {
    super(message, options);
    this.name = 'WarehouseError';
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

export interface WarehouseStatementErrorOptions extends ErrorOptions {
  /** The Data API statement id, for the console and `sys_query_history`. */
  statementId?: string;
  /** Whether running the same statement again later may succeed. */
  retryable?: boolean;
}

/** A Redshift Data API statement that failed, was aborted, timed out or was refused. */
export class WarehouseStatementError extends WarehouseError {
  readonly statementId: string | undefined;
  readonly retryable: boolean;

  constructor(message: string, code: WarehouseErrorCode, options?: WarehouseStatementErrorOptions) {
    super(message, code, options);
    this.name = 'WarehouseStatementError';
    this.statementId = options?.statementId;
    this.retryable = options?.retryable ?? false;
  }
}

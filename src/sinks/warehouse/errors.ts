/** Errors raised by warehouse adapters (DuckDB, Redshift, Athena). Each has a stable `code` callers can branch on. */

export type WarehouseErrorCode =
  | 'WAREHOUSE_MIGRATION_FAILED'
  | 'WAREHOUSE_LOAD_FAILED'
  | 'WAREHOUSE_ERASURE_FAILED'
  | 'WAREHOUSE_PURGE_FAILED'
  | 'WAREHOUSE_MAINTENANCE_FAILED'
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

export interface WarehouseStatementErrorOptions extends ErrorOptions {
  /** The Data API statement id or Athena query execution id, for the console and query history. */
  statementId?: string;
  /** Whether running the same statement again later may succeed. */
  retryable?: boolean;
}

/** A Redshift Data API statement or Athena query that failed, was aborted, timed out or was refused. */
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

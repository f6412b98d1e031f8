export type CostModelErrorCode = 'PRICE_TABLE_INVALID' | 'INPUT_INVALID' | 'UNSUPPORTED_CAPACITY';

/** A cost estimate that cannot be made: a bad price table, a bad input, or a setup the model does not price. */
export class CostModelError extends Error {
  readonly code: CostModelErrorCode;

  constructor(message: string, code: CostModelErrorCode, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CostModelError';
    this.code = code;
  }
}

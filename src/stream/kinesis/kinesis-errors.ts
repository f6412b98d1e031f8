import { ACCESS_DENIED_ERROR_NAMES, isTransient, sdkErrorFacts } from '../../aws/retry';
/**
 * Errors of the Kinesis adapters and the local poller, and the translation of Kinesis SDK
 * exceptions into them. No SDK import here: exceptions are recognised by `name`, which is
 * stable across SDK versions and also what kinesalite sends.
 */

export class KinesisError extends Error {
  readonly code: string;
  /** Whether the same request may succeed if sent again later. */
  readonly retryable: boolean;
  constructor(code: string, message: string, retryable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KinesisError';
    this.code = code;
    this.retryable = retryable;
  }
}

export class StreamNotFoundError extends KinesisError {
  constructor(message: string, options?: ErrorOptions) {
    super('StreamNotFound', message, false, options);
    this.name = 'StreamNotFoundError';
  }
}

export class KinesisValidationError extends KinesisError {
  constructor(message: string, options?: ErrorOptions) {
    super('ValidationError', message, false, options);
    this.name = 'KinesisValidationError';
  }
}

export class KinesisAccessDeniedError extends KinesisError {
  constructor(message: string, options?: ErrorOptions) {
    super('AccessDenied', message, false, options);
    this.name = 'KinesisAccessDeniedError';
  }
}

export class KinesisKmsError extends KinesisError {
  constructor(message: string, options?: ErrorOptions) {
    super('KmsError', message, false, options);
    this.name = 'KinesisKmsError';
  }
}

/** Throttling, 5xx and network failures: worth another attempt after a backoff. */
export class KinesisTransientError extends KinesisError {
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, true, options);
    this.name = 'KinesisTransientError';
  }
}

/** A record over Kinesis's 1 MiB limit (data plus partition key); it is never sent. */
export class RecordTooLargeError extends KinesisError {
  constructor(bytes: number, options?: ErrorOptions) {
    super('RecordTooLarge', `record is ${bytes} bytes, Kinesis accepts at most 1048576`, false, options);
    this.name = 'RecordTooLargeError';
  }
}

/** A shard iterator older than five minutes; get a new one from the last position. */
export class ExpiredIteratorError extends KinesisError {
  constructor(message: string, options?: ErrorOptions) {
    super('ExpiredIterator', message, true, options);
    this.name = 'ExpiredIteratorError';
  }
}

/** The local poller did not reach the awaited state in time. */
export class PollerTimeoutError extends Error {
  readonly code = 'POLLER_TIMEOUT';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PollerTimeoutError';
  }
}

/**
 * Maps a Kinesis SDK (or network) exception to a typed error, or returns undefined for
 * exceptions this adapter does not know, which callers rethrow.
 */
export function translateKinesisError(err: unknown): KinesisError | undefined {
  if (err instanceof KinesisError) return err;
  const facts = sdkErrorFacts(err);
  const { name, message } = facts;
  const options = { cause: err };
  if (ACCESS_DENIED_ERROR_NAMES.has(name)) return new KinesisAccessDeniedError(message, options);
  switch (name) {
    case 'ResourceNotFoundException':
      return new StreamNotFoundError(message, options);
    case 'ExpiredIteratorException':
      return new ExpiredIteratorError(message, options);
    case 'ValidationException':
    case 'InvalidArgumentException':
    case 'SerializationException':
      return new KinesisValidationError(message, options);
    case 'KMSDisabledException':
    case 'KMSInvalidStateException':
    case 'KMSAccessDeniedException':
    case 'KMSNotFoundException':
    case 'KMSOptInRequired':
      return new KinesisKmsError(message, options);
  }
  if (isTransient(facts)) return new KinesisTransientError(facts.code ?? name, message, options);
  return undefined;
}

/** Per-entry PutRecords error codes that another attempt cannot fix. */
export const PERMANENT_ENTRY_ERROR_CODES: ReadonlySet<string> = new Set([
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSAccessDeniedException',
  'KMSNotFoundException',
  'KMSOptInRequired',
]);

import type { TrackEventInput } from '../generated/graphql';

/** Base of every error the tracker reports; `code` is stable and documented in docs/tracker.md. */
export class TrackerError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TrackerError';
  }
}

/** `track()` was called after `close()`: a bug in the app, so it throws instead of queueing. */
export class TrackerClosedError extends TrackerError {
  constructor(options?: ErrorOptions) {
    super('TRACKER_CLOSED', 'the tracker is closed; create a new one to track more events', options);
    this.name = 'TrackerClosedError';
  }
}

/**
 * The API refused a whole request for a reason that retrying soon will not fix (a wrong API key,
 * a client built against an older schema). The events stay queued and are retried with backoff.
 */
export class ApiRequestError extends TrackerError {
  constructor(
    /** The GraphQL `extensions.code`, or `HTTP_<status>` when the answer carried none. */
    readonly apiCode: string,
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super('API_REQUEST_REFUSED', `the API refused the request (${apiCode}): ${message}`, options);
    this.name = 'ApiRequestError';
  }
}

/** The queue reached its bound and dropped its oldest events to make room. */
export class QueueOverflowError extends TrackerError {
  constructor(readonly dropped: TrackEventInput[]) {
    super('QUEUE_OVERFLOW', `the queue is full: dropped the ${dropped.length} oldest event(s)`);
    this.name = 'QueueOverflowError';
  }
}

/** The queue could not be written to its store; the events are still held in memory. */
export class StorageError extends TrackerError {
  constructor(message: string, options?: ErrorOptions) {
    super('STORAGE_FAILED', message, options);
    this.name = 'StorageError';
  }
}

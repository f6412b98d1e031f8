/** Stable codes of the prediction engine's own failures. */
export type RealtimeErrorCode = 'ACTIVITY_INVALID';

/**
 * A batch of activity the engine cannot apply (a time that does not parse, a sequence number that
 * is not one, traits that are not an object); raised before any state is read or written, so the
 * whole batch is refused and no store is left half updated.
 */
export class InvalidActivityError extends Error {
  readonly code: RealtimeErrorCode = 'ACTIVITY_INVALID';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidActivityError';
  }
}

/** Errors of the embedded stack's pipeline thread. */

/** Stable codes callers can branch on without parsing messages. */
export type PipelineThreadErrorCode =
  /** The thread threw: while starting, or later (an uncaught error ends a thread). */
  | 'PIPELINE_THREAD_FAILED'
  /** The thread ended without being asked to stop. */
  | 'PIPELINE_THREAD_EXITED'
  /** A request to the thread (drain, stop) failed there, or the thread is gone. */
  | 'PIPELINE_REQUEST_FAILED';

/** The pipeline thread failed, or a request to it did. */
export class PipelineThreadError extends Error {
  readonly code: PipelineThreadErrorCode;

  constructor(message: string, code: PipelineThreadErrorCode, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PipelineThreadError';
    this.code = code;
  }
}

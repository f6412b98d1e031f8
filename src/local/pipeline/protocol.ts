import type { Config } from '../../config';
import type { HotActivity } from '../../sinks/hot-tier/port';

/** What the pipeline thread starts from (its workerData): plain data, copied into the thread. */
export interface PipelineWorkerData {
  /** The stack's configuration, with the emulators' endpoints in `aws`. */
  config: Config;
  /** The HMAC key for `x-pii` fields, as the stack resolved it. */
  piiSecret: string;
}

/** Messages from the API thread to the pipeline thread. */
export type ToPipeline =
  /** Records were put: idle shards read now. */
  | { kind: 'wake' }
  /** Answer once everything on the stream now is processed. */
  | { kind: 'drain'; id: number; timeoutMs: number }
  /** Finish the batch in flight, checkpoint, write out the lake buffers, then answer. */
  | { kind: 'stop'; id: number }
  /** The API thread forgot what a `hot-writes` message named. */
  | { kind: 'forgotten'; id: number };

/** Messages from the pipeline thread to the API thread. */
export type FromPipeline =
  | { kind: 'started' }
  /** A request (drain, stop) succeeded. */
  | { kind: 'done'; id: number }
  /** A request failed; `error` is its message and stack. */
  | { kind: 'failed'; id: number; error: string }
  /** A batch was applied to the hot tier: forget what it changed, then answer `forgotten`. */
  | { kind: 'hot-writes'; id: number; activity: HotActivity[] };

/** Requests sent to the other thread, each waiting for the answer carrying its id. */
export class PendingReplies {
  private next = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  /** A new request id, and the promise its answer settles. */
  open(): { id: number; answered: Promise<void> } {
    const id = ++this.next;
    const answered = new Promise<void>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    return { id, answered };
  }

  resolve(id: number): void {
    this.waiting.get(id)?.resolve();
    this.waiting.delete(id);
  }

  reject(id: number, error: Error): void {
    this.waiting.get(id)?.reject(error);
    this.waiting.delete(id);
  }

  /** Fails every request still waiting: the other side will never answer them. */
  rejectAll(error: Error): void {
    for (const { reject } of this.waiting.values()) reject(error);
    this.waiting.clear();
  }
}

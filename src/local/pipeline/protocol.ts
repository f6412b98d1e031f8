import type { Config } from '../../config';
import type { LiveEvent } from '../../live/live-event';
import type { HotActivity } from '../../sinks/hot-tier/port';

/** What the pipeline thread starts from (its workerData): plain data, copied into the thread. */
export interface PipelineWorkerData {
  /** The stack's configuration, with the emulators' endpoints in `aws`. */
  config: Config;
  /** The HMAC key for `x-pii` fields, as the stack resolved it. */
  piiSecret: string;
}

/** The worker's data as the thread starts it: the stack's, and the wake latch's and lake notice's memory. */
export interface PipelineThreadData extends PipelineWorkerData {
  wakeLatch: SharedArrayBuffer;
  lakeNotice: SharedArrayBuffer;
}

const ARMED = 0;
const PUTS = 1;

/**
 * Whether a shard sleeps until woken, in memory both threads share: the API thread posts `wake`
 * only then, so while the pipeline is busy the API pays no message per request. It also counts
 * puts, so a shard whose empty read crossed a put reads again instead of sleeping: either the
 * shard sees the put counted, or the API thread sees the latch armed and posts a wake.
 */
export class WakeLatch {
  private readonly cells: Int32Array;
  /** Per shard, the put count it last saw (pipeline thread only). */
  private readonly seen = new Map<string, number>();

  constructor(readonly buffer = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT)) {
    this.cells = new Int32Array(buffer);
  }

  /** The pipeline thread, as a shard is about to sleep: false when records were put since it last asked. */
  arm(shardId: string): boolean {
    Atomics.store(this.cells, ARMED, 1);
    const puts = Atomics.load(this.cells, PUTS);
    const quiet = this.seen.get(shardId) === puts;
    this.seen.set(shardId, puts);
    return quiet;
  }

  /** The API thread, after records were put: whether a shard sleeps (once per arming); if so, post a `wake`. */
  put(): boolean {
    Atomics.add(this.cells, PUTS, 1);
    return Atomics.exchange(this.cells, ARMED, 0) === 1;
  }
}

/**
 * Whether a `lake-files` message is on its way to the API thread, in memory both threads share: the
 * pipeline posts one only when none is, so however often the lake flushes, the API thread has at
 * most one notice pending. The API thread takes the notice before it schedules a load, so files a
 * flush makes durable after that raise a new one, and files made durable before it are listed by
 * that load.
 */
export class LakeNotice {
  private readonly pending: Int32Array;

  constructor(readonly buffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)) {
    this.pending = new Int32Array(buffer);
  }

  /** The pipeline thread, after a flush made lake files durable: whether to post `lake-files`. */
  raise(): boolean {
    return Atomics.exchange(this.pending, 0, 1) === 0;
  }

  /** The API thread, on `lake-files`, before it acts on it. */
  take(): void {
    Atomics.store(this.pending, 0, 0);
  }
}

/** Messages from the API thread to the pipeline thread. */
export type ToPipeline =
  /** Records were put: idle shards read now. */
  | { kind: 'wake' }
  /** Answer once everything on the stream now is processed. */
  | { kind: 'drain'; id: number; timeoutMs: number }
  /** Finish the batch in flight, checkpoint, write out the lake buffers, then answer. */
  | { kind: 'stop'; id: number }
  /** The API thread forgot what a `hot-writes` or `hot-folded` message said changed. */
  | { kind: 'forgotten'; id: number }
  /** Whether the API thread has live subscribers: only then does the pipeline send live events. */
  | { kind: 'live-subscribers'; active: boolean };

/** Messages from the pipeline thread to the API thread. */
export type FromPipeline =
  | { kind: 'started' }
  /** A request (drain, stop) succeeded. */
  | { kind: 'done'; id: number }
  /** A request failed; `error` is its message and stack. */
  | { kind: 'failed'; id: number; error: string }
  /** A batch was applied to the hot tier: forget what it changed, then answer `forgotten`. */
  | { kind: 'hot-writes'; id: number; activity: HotActivity[] }
  /** Pending item and trend changes were folded in: forget items and trends, then answer `forgotten`. */
  | { kind: 'hot-folded'; id: number }
  /** Failed events just written, for the live view's subscribers; nobody answers. */
  | { kind: 'live-events'; events: LiveEvent[] }
  /** New lake files are durable, for the warehouse loader; at most one is pending (LakeNotice). */
  | { kind: 'lake-files' };

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

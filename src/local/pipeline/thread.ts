import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LivePublisher } from '../../live/port';
import type { HotActivity } from '../../sinks/hot-tier/port';
import { PipelineThreadError } from './errors';
import {
  LakeNotice,
  PendingReplies,
  WakeLatch,
  type FromPipeline,
  type PipelineThreadData,
  type PipelineWorkerData,
  type ToPipeline,
} from './protocol';

export interface PipelineThreadOptions {
  data: PipelineWorkerData;
  /** The API's hot-tier read cache, told of every batch the pipeline applies (CachedHotStore). */
  hotReads: { forgetWritesOf(activity: readonly HotActivity[]): void; forgetFolded(): void };
  /** Where the failed events the pipeline shows in the live view go (the API thread's hub). */
  live?: LivePublisher;
  /** Called once if the thread dies after it started and before stop(); it is not restarted. */
  onCrash(error: PipelineThreadError): void;
  /** The thread's entry file; the pipeline's own unless given. */
  entry?: string;
}

const ENTRY = path.join(__dirname, 'entry.js');
const WAKE: ToPipeline = { kind: 'wake' };

/**
 * The API thread's handle on the pipeline thread (poller, stream processor, lake deliveries; see
 * worker.ts). It forwards wake-ups and requests, and has the API's read cache forget what each
 * batch wrote before the batch counts as processed.
 */
export class PipelineThread {
  private readonly replies = new PendingReplies();
  private stopping: Promise<void> | undefined;
  private failure: PipelineThreadError | undefined;
  private lakeFilesListener: (() => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly options: PipelineThreadOptions,
    private readonly wakeLatch: WakeLatch,
    private readonly lakeNotice: LakeNotice,
  ) {}

  /** Starts the thread; resolves once its poller runs, rejects if the thread fails first. */
  static start(options: PipelineThreadOptions): Promise<PipelineThread> {
    const wakeLatch = new WakeLatch();
    const lakeNotice = new LakeNotice();
    const workerData: PipelineThreadData = {
      ...options.data,
      wakeLatch: wakeLatch.buffer,
      lakeNotice: lakeNotice.buffer,
    };
    const worker = new Worker(options.entry ?? ENTRY, { workerData });
    const thread = new PipelineThread(worker, options, wakeLatch, lakeNotice);
    return new Promise((resolve, reject) => {
      let started = false;
      const fail = (error: PipelineThreadError) => {
        if (thread.failure) return;
        thread.failure = error;
        thread.replies.rejectAll(error);
        // While stopping, stop() fails with it instead.
        if (started && thread.stopping === undefined) options.onCrash(error);
        else if (!started) void worker.terminate().then(() => reject(error));
      };
      worker.on('message', (message: FromPipeline) => {
        if (message.kind === 'started') {
          started = true;
          resolve(thread);
        } else thread.receive(message);
      });
      worker.on('error', (cause) =>
        fail(
          new PipelineThreadError(`the pipeline thread failed: ${cause.message}`, 'PIPELINE_THREAD_FAILED', {
            cause,
          }),
        ),
      );
      worker.on('exit', (code) => {
        const error = new PipelineThreadError(
          `the pipeline thread exited with code ${code}`,
          'PIPELINE_THREAD_EXITED',
        );
        // Asked to stop, it ends after answering; whatever is left unanswered never will be.
        if (thread.stopping === undefined) fail(error);
        else thread.replies.rejectAll(error);
      });
    });
  }

  /** The pipeline's thread, as `worker_threads.threadId` reads there. */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** Idle shards read now: records were just put. A message goes only when a shard sleeps. */
  wake(): void {
    if (this.failure === undefined && this.stopping === undefined && this.wakeLatch.put())
      this.worker.postMessage(WAKE);
  }

  /** Tells the pipeline whether anyone watches the live view, so it sends live events only then. */
  watchLive(active: boolean): void {
    if (this.failure === undefined && this.stopping === undefined)
      this.worker.postMessage({ kind: 'live-subscribers', active } satisfies ToPipeline);
  }

  /**
   * Calls `listener` whenever the pipeline has made new lake files durable, at most once per notice
   * however many flushes it covers. Notices before a listener is set are dropped: whoever sets one
   * looks at the lake once when it starts.
   */
  onLakeFilesWritten(listener: () => void): void {
    this.lakeFilesListener = listener;
  }

  /** Resolves when everything that was on the stream when called has been processed and checkpointed. */
  drain(timeoutMs = 30_000): Promise<void> {
    if (this.stopping !== undefined) {
      return Promise.reject(
        new PipelineThreadError('the pipeline thread is stopped', 'PIPELINE_REQUEST_FAILED'),
      );
    }
    return this.request((id) => ({ kind: 'drain', id, timeoutMs }));
  }

  /** Finishes the batch in flight, checkpoints, writes out the lake buffers, then ends the thread. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        if (this.failure === undefined) await this.request((id) => ({ kind: 'stop', id }));
      } finally {
        await this.worker.terminate();
      }
    })();
    return this.stopping;
  }

  /** Sends a request; it settles with the thread's answer, or fails when the thread is gone. */
  private request(message: (id: number) => ToPipeline): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const { id, answered } = this.replies.open();
    this.worker.postMessage(message(id));
    return answered;
  }

  private receive(message: Exclude<FromPipeline, { kind: 'started' }>): void {
    switch (message.kind) {
      case 'done':
        return this.replies.resolve(message.id);
      case 'failed':
        return this.replies.reject(
          message.id,
          new PipelineThreadError(
            `the pipeline thread could not do it: ${message.error}`,
            'PIPELINE_REQUEST_FAILED',
          ),
        );
      case 'hot-writes':
        this.options.hotReads.forgetWritesOf(message.activity);
        this.worker.postMessage({ kind: 'forgotten', id: message.id } satisfies ToPipeline);
        return;
      case 'hot-folded':
        this.options.hotReads.forgetFolded();
        this.worker.postMessage({ kind: 'forgotten', id: message.id } satisfies ToPipeline);
        return;
      case 'live-events':
        void this.options.live?.publish(message.events);
        return;
      case 'lake-files':
        // Taken first: a flush from now on sends a notice of its own.
        this.lakeNotice.take();
        this.lakeFilesListener?.();
        return;
    }
  }
}

import {
  DEFAULT_RETRY_POLICY,
  failureDetail,
  nextStep,
  recordFailure,
  recordSuccess,
  retryDelayMs,
  startStep,
  type RetryPolicy,
} from '../privacy/deletion-plan';
import type { DeletionRequest, DeletionRequestStore, PersonEraser } from '../privacy/port';

/** What the deletion service needs of whoever runs its requests. */
export interface DeletionWorker {
  /** The stores a new request goes through, in order: one step each. */
  readonly stores: readonly string[];
  /** Looks for requests to run, soon; returns at once. */
  wake(): void;
}

/** Timers the runner schedules its retries with; tests drive them by hand. */
export interface RetryTimers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export interface DeletionRunnerOptions {
  store: DeletionRequestStore;
  /** One per store, in the order a request's steps run; store names are unique. */
  erasers: readonly PersonEraser[];
  retry?: RetryPolicy;
  now?: () => number;
  timers?: RetryTimers;
  logger?: Pick<Console, 'error'>;
}

/** The waiting slot of a failed listing; no request's id is empty. */
const LIST = '';

/** Real timers that never keep a process alive by themselves. */
const NODE_TIMERS: RetryTimers = {
  set: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Runs deletion requests through the erasers, one request and one step at a time. Every step is
 * saved as it starts and as it ends, so a crash resumes at the step it was in, and a COMPLETED
 * step never runs again (each eraser is idempotent, so the step that was cut short is simply run
 * again). A failed step is retried after the plan's backoff; meanwhile the other requests go on.
 * One runner per deployment: two would run the same step at once.
 */
export class DeletionRunner implements DeletionWorker {
  readonly stores: readonly string[];
  private readonly erasers: ReadonlyMap<string, PersonEraser>;
  private readonly retry: RetryPolicy;
  private readonly now: () => number;
  private readonly timers: RetryTimers;
  private readonly logger: Pick<Console, 'error'>;
  /** Retry timers by request id: such a request is passed over until its retry is due. */
  private readonly waiting = new Map<string, unknown>();
  private pass: Promise<void> | null = null;
  private wanted = false;
  private closed = false;

  constructor(private readonly options: DeletionRunnerOptions) {
    this.stores = options.erasers.map((eraser) => eraser.store);
    this.erasers = new Map(options.erasers.map((eraser) => [eraser.store, eraser]));
    if (this.erasers.size !== this.stores.length) {
      throw new Error(`two erasers name the same store: ${this.stores.join(', ')}`);
    }
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? NODE_TIMERS;
    this.logger = options.logger ?? console;
  }

  /** Picks up every unfinished request (at start); resolves once they have all had their turn. */
  resume(): Promise<void> {
    this.wake();
    return this.idle();
  }

  /** Looks for requests to run (a new one, a retry that is due); returns at once. */
  wake(): void {
    if (this.closed) return;
    this.wanted = true;
    if (this.pass !== null) return;
    this.pass = this.runWhileWanted().finally(() => {
      this.pass = null;
      // A wake that came after the pass last looked, while it was ending.
      if (this.wanted) this.wake();
    });
  }

  /** Resolves when nothing is running: every request is done, or waits for a retry. */
  async idle(): Promise<void> {
    while (this.pass !== null) await this.pass;
  }

  /** Stops: no new step starts, retries are cancelled, and the step in progress is waited for. */
  async close(): Promise<void> {
    this.closed = true;
    for (const handle of this.waiting.values()) this.timers.clear(handle);
    this.waiting.clear();
    await this.idle();
  }

  private async runWhileWanted(): Promise<void> {
    while (this.wanted && !this.closed) {
      this.wanted = false;
      let requests: DeletionRequest[];
      try {
        requests = await this.options.store.unfinished();
      } catch (error) {
        this.logger.error('deletion runner could not list unfinished requests; trying again later', error);
        // The retry lists everything again; wakes meanwhile need no pass of their own.
        this.wanted = false;
        this.later(LIST, 1);
        return;
      }
      for (const request of requests) {
        if (this.closed) return;
        if (!this.waiting.has(request.id)) await this.run(request);
      }
    }
  }

  /** Runs a request's steps until it completes, a step fails, or the runner closes. */
  private async run(request: DeletionRequest): Promise<void> {
    let current = request;
    try {
      for (let step = nextStep(current); step !== null && !this.closed; step = nextStep(current)) {
        const { store } = step;
        const eraser = this.erasers.get(store);
        if (eraser === undefined) {
          current = recordFailure(current, store, `no eraser for store ${store} runs here`);
        } else {
          current = startStep(current, store);
          await this.options.store.save(current);
          current = await this.erase(current, eraser);
        }
        await this.options.store.save(current);
        const ended = current.steps.find((s) => s.store === store);
        if (ended?.status === 'FAILED') {
          this.logger.error(
            `deletion ${current.id}: step ${store} failed (attempt ${ended.attempts}): ${ended.detail ?? ''}`,
          );
          this.later(current.id, ended.attempts);
          return;
        }
      }
    } catch (error) {
      // The request store failed: the next try starts from what was saved last.
      this.logger.error(`deletion ${current.id}: could not save its progress; trying again later`, error);
      this.later(current.id, 1);
    }
  }

  private async erase(request: DeletionRequest, eraser: PersonEraser): Promise<DeletionRequest> {
    try {
      const result = await eraser.erase(request.subjectIds);
      return recordSuccess(request, eraser.store, result, new Date(this.now()).toISOString());
    } catch (error) {
      return recordFailure(request, eraser.store, failureDetail(error));
    }
  }

  /**
   * Wakes the runner after the backoff of `attempts` failures; until then `key` (a request's id,
   * or LIST when listing failed) is passed over.
   */
  private later(key: string, attempts: number): void {
    if (this.closed) return;
    const previous = this.waiting.get(key);
    if (previous !== undefined) this.timers.clear(previous);
    const handle = this.timers.set(
      () => {
        this.waiting.delete(key);
        this.wake();
      },
      retryDelayMs(attempts, this.retry),
    );
    this.waiting.set(key, handle);
  }
}

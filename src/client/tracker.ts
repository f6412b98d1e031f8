import type { AppContextInput, EventContextInput, TrackEventInput } from '../generated/graphql';
import { backoffDelay } from './backoff';
import { QueueOverflowError, StorageError, TrackerClosedError, TrackerError } from './errors';
import { newId } from './ids';
import { PersistentQueue, type QueuedEvent } from './queue';
import { MemoryStore, type TrackerStore } from './storage';
import {
  runQuery,
  sendBatch,
  type SendOutcome,
  type TrackResultData,
  type TransportOptions,
} from './transport';
import { LIBRARY } from './version';

export type EventError = TrackResultData['errors'][number];

export interface TrackerOptions {
  /** The GraphQL endpoint, e.g. `https://api.example.com/graphql`, or `/graphql` on the API's own origin. */
  endpoint: string;
  /** Sent as `x-api-key` on every request: a publishable WRITE key in browsers and apps. */
  apiKey: string;
  /**
   * A user token for the signed-in user (from your server: Tributary's `userToken` field or
   * `signUserToken` of `@tributary/client/node`), sent as `Authorization: Bearer …` so that
   * `query()` may read that user's profile and recommendations with the write key.
   */
  userToken?: string;
  /** Where the queue and the anonymousId survive restarts; in memory when absent. */
  store?: TrackerStore;
  fetch?: typeof fetch;
  /** The app sending events, added to every event's context. */
  app?: AppContextInput;
  /** Context of the environment (page, locale, user agent), read at each event. */
  context?: () => EventContextInput;
  /** A batch is sent once this many events wait (the API takes at most 500). Default 100. */
  maxBatchEvents?: number;
  /** A batch is sent once this many bytes of events wait. Default 512 KiB. */
  maxBatchBytes?: number;
  /** Otherwise a batch is sent this long after its first event. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Queue bound; the oldest events give way (reported as QUEUE_OVERFLOW). Default 10,000 events. */
  maxQueueEvents?: number;
  /** Queue bound in bytes of JSON. Default 4 MiB. */
  maxQueueBytes?: number;
  /** First retry waits up to this long; each consecutive failure doubles it. Default 500 ms. */
  baseRetryDelayMs?: number;
  /** Longest wait between retries. Default 30 s. */
  maxRetryDelayMs?: number;
  /** A request not answered in this time counts as failed and is retried. Default 15 s. */
  requestTimeoutMs?: number;
  /** How long `flush()` tries to deliver before settling for persisting. Default 10 s. */
  flushTimeoutMs?: number;
  /** Jitter source in [0, 1); tests pass a seeded one. */
  random?: () => number;
  /** An event the API refused for good (invalid); it is not retried. Default: console.warn. */
  onRejected?: (event: TrackEventInput, errors: EventError[]) => void;
  /** Anything the app should know about: a refused API key, a full queue, a failing store. Default: console.warn. */
  onError?: (error: TrackerError) => void;
  /** Installs the environment's flush-on-exit hooks and returns their remover (set by the Node.js and browser entry points). */
  attach?: (tracker: Tracker) => () => void;
}

export interface TrackOptions {
  /** When the event happened; now by default. */
  timestamp?: Date;
  /** Merged over the environment's context for this event. */
  context?: EventContextInput;
}

export interface FlushOptions {
  timeoutMs?: number;
  /** Send the next request with `fetch(…, { keepalive: true })`, which outlives the page. */
  keepalive?: boolean;
}

export interface FlushResult {
  /** Settled without a rejection during this call: ACCEPTED, DUPLICATE, or SUPPRESSED (dropped by the API, not resent). */
  delivered: number;
  /** Rejected for good during this call (reported to onRejected). */
  rejected: number;
  /** Still queued, and persisted, when the call resolved. */
  pending: number;
}

export interface TrackerStats {
  tracked: number;
  delivered: number;
  rejected: number;
  pending: number;
}

interface Identity {
  anonymousId: string;
  userId?: string;
}

const QUEUE_KEY = 'queue';
const IDENTITY_KEY = 'identity';
/** fetch's keepalive bodies are capped at 64 KiB; this leaves room for the query text. */
const KEEPALIVE_MAX_BYTES = 60 * 1024;
const API_MAX_BATCH = 500;

const unref = (timer: unknown): void => {
  if (typeof timer === 'object' && timer !== null && 'unref' in timer && typeof timer.unref === 'function') {
    timer.unref();
  }
};

function positive(
  name: string,
  value: number | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new TrackerError(
      'OPTIONS_INVALID',
      `${name} must be an integer between 1 and ${max}, got ${value}`,
    );
  }
  return value;
}

/**
 * Tracks events for an app: stamps each with a messageId, time and context, queues it durably,
 * and delivers batches through `trackEvents`, retrying with backoff until the API has answered
 * for every event. Apps never see a network error: they see events delivered, or rejected ones
 * on `onRejected`, or problems they must fix on `onError`.
 */
export class Tracker {
  private readonly queue: PersistentQueue;
  private readonly store: TrackerStore;
  private readonly transport: TransportOptions;
  private readonly limits: {
    batchEvents: number;
    batchBytes: number;
    intervalMs: number;
    baseDelayMs: number;
    maxDelayMs: number;
    flushTimeoutMs: number;
  };
  private readonly random: () => number;
  private readonly onRejected: NonNullable<TrackerOptions['onRejected']>;
  private readonly onError: NonNullable<TrackerOptions['onError']>;
  private identity: Identity = { anonymousId: '' };
  private identitySaved: Promise<void> = Promise.resolve();
  private detach: (() => void) | undefined;

  private draining: Promise<void> | undefined;
  private intervalTimer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private failures = 0;
  /** Set while isolating an event the API refuses as a whole batch (halved on each refusal). */
  private batchCap: number | undefined;
  private keepaliveNext = false;
  private stopping = false;
  private closing: Promise<FlushResult> | undefined;
  private readonly counts = { tracked: 0, delivered: 0, rejected: 0 };

  /** Creates a tracker and loads the queue and identity kept by an earlier run. */
  static async create(options: TrackerOptions): Promise<Tracker> {
    const tracker = new Tracker(options);
    await tracker.load();
    tracker.detach = options.attach?.(tracker);
    return tracker;
  }

  private constructor(private readonly options: TrackerOptions) {
    this.limits = {
      batchEvents: positive('maxBatchEvents', options.maxBatchEvents, 100, API_MAX_BATCH),
      batchBytes: positive('maxBatchBytes', options.maxBatchBytes, 512 * 1024),
      intervalMs: positive('flushIntervalMs', options.flushIntervalMs, 1000),
      baseDelayMs: positive('baseRetryDelayMs', options.baseRetryDelayMs, 500),
      maxDelayMs: positive('maxRetryDelayMs', options.maxRetryDelayMs, 30_000),
      flushTimeoutMs: positive('flushTimeoutMs', options.flushTimeoutMs, 10_000),
    };
    this.random = options.random ?? Math.random;
    this.onRejected =
      options.onRejected ??
      ((event, errors) => console.warn(`[tributary] event ${event.event} rejected`, errors));
    this.onError = options.onError ?? ((error) => console.warn(`[tributary] ${error.message}`));
    this.store = options.store ?? new MemoryStore();
    this.transport = {
      endpoint: options.endpoint,
      apiKey: options.apiKey,
      userToken: options.userToken,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      timeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 15_000),
    };
    this.queue = new PersistentQueue({
      store: this.store,
      key: QUEUE_KEY,
      limits: {
        maxEvents: positive('maxQueueEvents', options.maxQueueEvents, 10_000),
        maxBytes: positive('maxQueueBytes', options.maxQueueBytes, 4 * 1024 * 1024),
      },
      onOverflow: (dropped) => this.report(new QueueOverflowError(dropped)),
      onStorageError: (error) => this.report(error),
    });
  }

  get anonymousId(): string {
    return this.identity.anonymousId;
  }

  get userId(): string | undefined {
    return this.identity.userId;
  }

  get stats(): TrackerStats {
    return { ...this.counts, pending: this.queue.length };
  }

  /** Queues an event and returns its messageId; delivery happens in the background. */
  track(event: string, properties?: Record<string, unknown>, options: TrackOptions = {}): string {
    if (this.closing) throw new TrackerClosedError();
    const queued: QueuedEvent = {
      messageId: newId(),
      event,
      anonymousId: this.identity.anonymousId,
      userId: this.identity.userId,
      timestamp: (options.timestamp ?? new Date()).toISOString(),
      // A copy as JSON: what is queued, persisted and sent stays what the app passed at this moment.
      properties:
        properties === undefined
          ? undefined
          : (JSON.parse(JSON.stringify(properties)) as Record<string, unknown>),
      context: {
        ...this.options.context?.(),
        ...options.context,
        app: this.options.app,
        library: { ...LIBRARY },
      },
    };
    this.queue.push(queued);
    this.counts.tracked += 1;
    void this.queue.persist();
    this.schedule();
    return queued.messageId;
  }

  /** Tracks `page_viewed`; in browsers the page itself travels in `context.page`. */
  page(name?: string, properties?: Record<string, unknown>, options?: TrackOptions): string {
    return this.track('page_viewed', name === undefined ? properties : { name, ...properties }, options);
  }

  /** Ties this visitor to a known user from now on (kept across runs) and tracks `identify` with the traits. */
  identify(userId: string, traits?: Record<string, unknown>, options?: TrackOptions): string {
    this.identity = { ...this.identity, userId };
    this.saveIdentity();
    return this.track('identify', traits, options);
  }

  /** Forgets the user (and their user token) and starts a new anonymous visitor (on logout). */
  reset(): void {
    this.identity = { anonymousId: newId() };
    this.transport.userToken = undefined;
    this.saveIdentity();
  }

  /** Sets the user token sent with every request, after sign-in (undefined forgets it). */
  setUserToken(token: string | undefined): void {
    this.transport.userToken = token;
  }

  /**
   * Runs a read with this tracker's key and user token: what a write key may read (trending,
   * item recommendations) and, with a user token, that user's profile and recommendations.
   * Rejects with ApiRequestError when the API answers with errors.
   */
  async query<T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
  ): Promise<T> {
    return runQuery<T>(this.transport, query, variables);
  }

  /**
   * Sends what is queued, retrying through failures until it is delivered or `timeoutMs` passes,
   * then makes sure what is left is persisted. Resolves, never rejects.
   */
  async flush(options: FlushOptions = {}): Promise<FlushResult> {
    const before = { ...this.counts };
    void this.queue.persist();
    if (options.keepalive) this.keepaliveNext = true;
    if (this.queue.length > 0) {
      const draining = this.kick();
      // An explicit flush tries now rather than waiting out the current backoff.
      this.wake?.();
      await this.waitAtMost(draining, options.timeoutMs ?? this.limits.flushTimeoutMs);
    }
    await Promise.all([this.queue.persist(), this.identitySaved]);
    return {
      delivered: this.counts.delivered - before.delivered,
      rejected: this.counts.rejected - before.rejected,
      pending: this.queue.length,
    };
  }

  /** Flushes, stops retrying, removes the exit hooks and persists what is left. Idempotent. */
  close(options: { timeoutMs?: number } = {}): Promise<FlushResult> {
    this.closing ??= (async () => {
      const before = { ...this.counts };
      clearTimeout(this.intervalTimer);
      this.detach?.();
      await this.flush(options);
      this.stopping = true;
      this.wake?.();
      await this.draining;
      await Promise.all([this.queue.persist(), this.identitySaved]);
      return {
        delivered: this.counts.delivered - before.delivered,
        rejected: this.counts.rejected - before.rejected,
        pending: this.queue.length,
      };
    })();
    return this.closing;
  }

  private async load(): Promise<void> {
    await this.queue.load();
    const raw = await this.store.get(IDENTITY_KEY);
    const stored = raw === undefined ? undefined : parseIdentity(raw);
    if (stored) {
      this.identity = stored;
    } else {
      this.identity = { anonymousId: newId() };
      this.saveIdentity();
      await this.identitySaved;
    }
    // Events an earlier run could not deliver go out at once.
    if (this.queue.length > 0) void this.kick();
  }

  private saveIdentity(): void {
    const value = JSON.stringify(this.identity);
    this.identitySaved = this.identitySaved
      .then(() => this.store.set(IDENTITY_KEY, value))
      .catch((error: unknown) =>
        this.report(new StorageError('could not save the identity', { cause: error })),
      );
  }

  private schedule(): void {
    if (this.queue.length >= this.limits.batchEvents || this.queue.bytes >= this.limits.batchBytes) {
      void this.kick();
      return;
    }
    if (this.draining || this.intervalTimer) return;
    this.intervalTimer = setTimeout(() => void this.kick(), this.limits.intervalMs);
    // A pending batch must not keep a Node.js process alive; beforeExit flushes it instead.
    unref(this.intervalTimer);
  }

  private kick(): Promise<void> {
    clearTimeout(this.intervalTimer);
    this.intervalTimer = undefined;
    this.draining ??= this.drain();
    return this.draining;
  }

  /** The one delivery loop: sends batches from the head of the queue until it is empty. */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.stopping) {
        const keepalive = this.keepaliveNext;
        this.keepaliveNext = false;
        const maxBytes = keepalive
          ? Math.min(this.limits.batchBytes, KEEPALIVE_MAX_BYTES)
          : this.limits.batchBytes;
        const batch = this.queue.head(this.batchCap ?? this.limits.batchEvents, maxBytes);
        const outcome = await sendBatch(this.transport, batch, { keepalive, now: new Date() });
        const delayMs = this.apply(batch, outcome);
        void this.queue.persist();
        if (delayMs > 0 && !this.stopping) await this.sleep(delayMs);
      }
    } finally {
      this.draining = undefined;
    }
  }

  /** Applies an outcome to the queue; returns how long to wait before the next request. */
  private apply(batch: QueuedEvent[], outcome: SendOutcome): number {
    if (outcome.kind === 'retry') {
      if (outcome.error) this.report(outcome.error);
      return this.backoff(outcome.retryAfterMs);
    }
    if (outcome.kind === 'invalid') {
      const [only] = batch;
      if (batch.length > 1 || !only) {
        this.batchCap = Math.ceil(batch.length / 2);
        return 0;
      }
      this.batchCap = undefined;
      this.queue.remove(new Set([only.messageId]));
      this.reject(only, [{ code: outcome.error.apiCode, path: null, message: outcome.error.message }]);
      return 0;
    }
    const settled: QueuedEvent[] = [];
    let retryable = false;
    for (const event of batch) {
      const result = outcome.results.get(event.messageId);
      // No answer for an event, or "valid but not written": it stays queued for the next attempt.
      if (!result || (result.status === 'REJECTED' && result.retryable)) {
        retryable = true;
        continue;
      }
      settled.push(event);
      if (result.status === 'REJECTED') this.reject(event, result.errors);
      else this.counts.delivered += 1;
    }
    this.queue.remove(new Set(settled.map((e) => e.messageId)));
    if (retryable) return this.backoff();
    this.failures = 0;
    return 0;
  }

  private reject(event: QueuedEvent, errors: EventError[]): void {
    this.counts.rejected += 1;
    try {
      this.onRejected(event, errors);
    } catch (error) {
      console.error('[tributary] onRejected threw', error);
    }
  }

  private report(error: TrackerError): void {
    try {
      this.onError(error);
    } catch (thrown) {
      console.error('[tributary] onError threw', thrown);
    }
  }

  private backoff(retryAfterMs?: number): number {
    const delay = backoffDelay(
      this.failures,
      { baseDelayMs: this.limits.baseDelayMs, maxDelayMs: this.limits.maxDelayMs },
      this.random,
      retryAfterMs,
    );
    this.failures += 1;
    // Never 0: a failing API must not be hammered in a tight loop.
    return Math.max(1, delay);
  }

  /** Waits for a backoff; `wake` ends it early (flush, close). The timer does not hold a process open. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      unref(timer);
      this.wake = done;
    });
  }

  /** This timer is not unref'd: a flush at process exit keeps the process alive until it is done. */
  private async waitAtMost(promise: Promise<void>, ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}

function parseIdentity(raw: string): Identity | undefined {
  try {
    const value = JSON.parse(raw) as Partial<Identity>;
    if (typeof value.anonymousId !== 'string' || value.anonymousId === '') return undefined;
    return typeof value.userId === 'string'
      ? { anonymousId: value.anonymousId, userId: value.userId }
      : { anonymousId: value.anonymousId };
  } catch {
    return undefined;
  }
}

/**
 * The embedded stack's live view (docs/live.md): publishers hand events to every subscription
 * whose filter matches, at once and without waiting on anyone. Each subscription has a token bucket
 * of `eventsPerSecond` (a burst of one second's worth) and a queue of at most that many events;
 * an event past either is dropped and counted, and the count reaches the subscriber in a heartbeat
 * every `heartbeatMs`. A slow reader only loses its own events: the publisher never waits.
 */
import {
  LIVE_EVENTS_PER_SECOND,
  LIVE_HEARTBEAT_MS,
  matchesLiveFilter,
  type LiveEvent,
  type LiveEventFilter,
} from './live-event';
import type { LiveFeed, LiveFeedItem, LivePublisher, LiveSubscription } from './port';

export interface LiveHubOptions {
  eventsPerSecond?: number;
  heartbeatMs?: number;
  now?: () => number;
}

const RESOLVED = Promise.resolve();

export class LiveHub implements LivePublisher, LiveFeed {
  private readonly subscriptions = new Set<Subscription>();
  private readonly eventsPerSecond: number;
  private readonly heartbeatMs: number;
  private readonly now: () => number;
  private subscribersListener: ((active: boolean) => void) | undefined;

  constructor(options: LiveHubOptions = {}) {
    this.eventsPerSecond = options.eventsPerSecond ?? LIVE_EVENTS_PER_SECOND;
    this.heartbeatMs = options.heartbeatMs ?? LIVE_HEARTBEAT_MS;
    this.now = options.now ?? Date.now;
  }

  hasSubscribers(): boolean {
    return this.subscriptions.size > 0;
  }

  /** `listener` is told when the hub gets its first subscription (true) and loses its last (false). */
  onSubscribersChange(listener: (active: boolean) => void): void {
    this.subscribersListener = listener;
  }

  /** Subscriptions open now. */
  get size(): number {
    return this.subscriptions.size;
  }

  publish(events: readonly LiveEvent[]): Promise<void> {
    for (const subscription of this.subscriptions) {
      for (const event of events) subscription.offer(event);
    }
    return RESOLVED;
  }

  /** A new subscription; the caller ends it with `return()`. */
  subscribe(filter: LiveEventFilter | null | undefined): LiveSubscription {
    const subscription = new Subscription(filter ?? null, {
      eventsPerSecond: this.eventsPerSecond,
      heartbeatMs: this.heartbeatMs,
      now: this.now,
      onEnd: () => {
        this.subscriptions.delete(subscription);
        if (this.subscriptions.size === 0) this.subscribersListener?.(false);
      },
    });
    this.subscriptions.add(subscription);
    if (this.subscriptions.size === 1) this.subscribersListener?.(true);
    return subscription;
  }

  /** Ends every subscription (the server is stopping). */
  close(): void {
    for (const subscription of [...this.subscriptions]) void subscription.return();
  }
}

interface SubscriptionSettings {
  eventsPerSecond: number;
  heartbeatMs: number;
  now: () => number;
  onEnd: () => void;
}

const DONE: IteratorResult<LiveFeedItem> = { done: true, value: undefined };

class Subscription implements LiveSubscription {
  private readonly queue: LiveEvent[] = [];
  private tokens: number;
  private refilledAt: number;
  private dropped = 0;
  private heartbeatDue = false;
  private ended = false;
  private waiting: ((result: IteratorResult<LiveFeedItem>) => void) | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly filter: LiveEventFilter | null,
    private readonly settings: SubscriptionSettings,
  ) {
    this.tokens = settings.eventsPerSecond;
    this.refilledAt = settings.now();
    this.timer = setInterval(() => {
      this.heartbeatDue = true;
      this.wake();
    }, settings.heartbeatMs);
    // A subscription alone must not keep the process alive.
    this.timer.unref();
  }

  offer(event: LiveEvent): void {
    if (this.ended || !matchesLiveFilter(this.filter, event)) return;
    this.refill();
    if (this.tokens < 1 || this.queue.length >= this.settings.eventsPerSecond) {
      this.dropped++;
      return;
    }
    this.tokens -= 1;
    this.queue.push(event);
    this.wake();
  }

  next(): Promise<IteratorResult<LiveFeedItem>> {
    const ready = this.take();
    if (ready !== undefined) return Promise.resolve(ready);
    // One reader at a time, as `for await` reads: a second call would replace the first's wait.
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<LiveFeedItem>> {
    if (!this.ended) {
      this.ended = true;
      clearInterval(this.timer);
      this.queue.length = 0;
      this.settings.onEnd();
      this.wake();
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): LiveSubscription {
    return this;
  }

  private take(): IteratorResult<LiveFeedItem> | undefined {
    if (this.ended) return DONE;
    if (this.heartbeatDue) {
      this.heartbeatDue = false;
      const heartbeat = { dropped: this.dropped, at: new Date(this.settings.now()).toISOString() };
      this.dropped = 0;
      return { done: false, value: { kind: 'heartbeat', heartbeat } };
    }
    const event = this.queue.shift();
    return event === undefined ? undefined : { done: false, value: { kind: 'event', event } };
  }

  private wake(): void {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    const ready = this.take();
    if (ready === undefined) return;
    this.waiting = undefined;
    waiting(ready);
  }

  private refill(): void {
    const now = this.settings.now();
    const rate = this.settings.eventsPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilledAt) * rate) / 1000);
    this.refilledAt = now;
  }
}

import { forEachLimited } from '../../sinks/hot-tier/dynamodb/dynamodb-batch';
import { LIVE_EVENTS_PER_SECOND, LIVE_HEARTBEAT_MS, matchesLiveFilter, type LiveEvent } from '../live-event';
import type { LiveHeartbeat } from '../port';
import type { LiveConnections } from './api-gateway-connections';
import type { LiveConnectionTable, LiveSubscription } from './connection-table';
import { next } from './graphql-ws-messages';
import type { LiveDocuments } from './live-documents';

export interface LiveFanOutOptions {
  table: LiveConnectionTable;
  connections: LiveConnections;
  documents: LiveDocuments;
  /** Events one subscription is sent per second at most (LIVE_EVENTS_PER_SECOND). */
  eventsPerSecond?: number;
  /** The least time between two heartbeats of one subscription (LIVE_HEARTBEAT_MS). */
  heartbeatMs?: number;
  /** Subscriptions sent to at once. */
  concurrency?: number;
  logger?: Pick<Console, 'warn' | 'error'>;
  now?: () => number;
}

/** What one publish or heartbeat run did, for the log. */
export interface FanOutSummary {
  subscriptions: number;
  sent: number;
  dropped: number;
  heartbeats: number;
  /** Connections found gone (410) and removed. */
  gone: number;
  /** Subscriptions that could not be served (throttled, table errors); logged, never retried. */
  failed: number;
}

/**
 * The AWS publisher's work (src/handlers/live-publish.ts): sends a batch of live events to every
 * subscription whose filter matches, within each subscription's rate, over the WebSocket stage's
 * Management API. Events past the rate are counted, and the count reaches the subscriber in a
 * heartbeat at most every `heartbeatMs`; a scheduled run sends every subscription one whatever it
 * dropped. A connection found gone (410) is removed with all it holds. Nothing here fails the
 * invocation: a retry would send the same events twice.
 */
export class LiveFanOut {
  private readonly eventsPerSecond: number;
  private readonly heartbeatMs: number;
  private readonly concurrency: number;
  private readonly logger: Pick<Console, 'warn' | 'error'>;
  private readonly now: () => number;

  constructor(private readonly options: LiveFanOutOptions) {
    this.eventsPerSecond = options.eventsPerSecond ?? LIVE_EVENTS_PER_SECOND;
    this.heartbeatMs = options.heartbeatMs ?? LIVE_HEARTBEAT_MS;
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.logger = options.logger ?? console;
    this.now = options.now ?? Date.now;
  }

  /** Sends `events` to the subscriptions they match. */
  async publish(events: readonly LiveEvent[]): Promise<FanOutSummary> {
    return this.forEachSubscription(async (subscription, run) => {
      const matching = events.filter((event) => matchesLiveFilter(subscription.filter, event));
      if (matching.length === 0) return;
      const allowed = await this.options.table.takeRate(subscription, matching.length, this.eventsPerSecond);
      run.dropped += matching.length - allowed;
      for (const event of matching.slice(0, allowed)) {
        if (
          !(await run.send(
            subscription,
            next(subscription.subscriptionId, this.options.documents.render(subscription.request, event)),
          ))
        )
          return;
        run.sent += 1;
      }
      if (allowed < matching.length) await this.heartbeat(subscription, run, { onlyWhenDropped: true });
    });
  }

  /** The scheduled run: a heartbeat to every subscription, with what it dropped since its last one. */
  async heartbeats(): Promise<FanOutSummary> {
    return this.forEachSubscription((subscription, run) =>
      this.heartbeat(subscription, run, { onlyWhenDropped: false }),
    );
  }

  private async heartbeat(
    subscription: LiveSubscription,
    run: Run,
    options: { onlyWhenDropped: boolean },
  ): Promise<void> {
    const dropped = await this.options.table.takeHeartbeat(subscription, this.heartbeatMs, options);
    if (dropped === null) return;
    const heartbeat: LiveHeartbeat = { dropped, at: new Date(this.now()).toISOString() };
    if (await run.send(subscription, heartbeatMessage(subscription.subscriptionId, heartbeat)))
      run.heartbeats += 1;
  }

  private async forEachSubscription(
    task: (subscription: LiveSubscription, run: Run) => Promise<void>,
  ): Promise<FanOutSummary> {
    const subscriptions = await this.options.table.subscriptions();
    const run = new Run(this.options.connections, this.options.table);
    await forEachLimited(subscriptions, this.concurrency, async (subscription) => {
      if (run.isGone(subscription.connectionId)) return;
      try {
        await task(subscription, run);
      } catch (error) {
        run.failed += 1;
        this.logger.error('could not serve a live subscription', {
          connectionId: subscription.connectionId,
          subscriptionId: subscription.subscriptionId,
          error,
        });
      }
    });
    try {
      await run.removeGone();
    } catch (error) {
      // Their items expire with the TTL, and the next publish finds them gone again.
      this.logger.error('could not remove gone live connections', { error });
    }
    return {
      subscriptions: subscriptions.length,
      sent: run.sent,
      dropped: run.dropped,
      heartbeats: run.heartbeats,
      gone: run.gone.size,
      failed: run.failed,
    };
  }
}

/**
 * A heartbeat as a graphql-ws `next` message without data: the payload's `extensions.liveHeartbeat`,
 * which the graphql-ws client passes through to the subscriber as it is.
 */
export function heartbeatMessage(subscriptionId: string, heartbeat: LiveHeartbeat): string {
  return next(subscriptionId, { extensions: { liveHeartbeat: heartbeat } });
}

/** One publish's tallies and the connections it found gone. */
class Run {
  sent = 0;
  dropped = 0;
  heartbeats = 0;
  failed = 0;
  readonly gone = new Set<string>();

  constructor(
    private readonly connections: LiveConnections,
    private readonly table: LiveConnectionTable,
  ) {}

  isGone(connectionId: string): boolean {
    return this.gone.has(connectionId);
  }

  /** Sends one message; false when the connection is gone (then nothing more goes to it). */
  async send(subscription: LiveSubscription, message: string): Promise<boolean> {
    if (this.gone.has(subscription.connectionId)) return false;
    if ((await this.connections.send(subscription.connectionId, message)) === 'sent') return true;
    this.gone.add(subscription.connectionId);
    return false;
  }

  async removeGone(): Promise<void> {
    for (const connectionId of this.gone) await this.table.removeConnection(connectionId);
  }
}

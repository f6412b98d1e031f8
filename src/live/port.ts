import type { LiveEvent, LiveEventFilter } from './live-event';

/**
 * Where the edge and the stream processor hand live events. Publishing never waits on a subscriber:
 * the embedded stack enqueues in process and resolves at once; the AWS publisher resolves once the
 * batch is handed off (one call, whatever the number of subscribers), so a Lambda can await it
 * before it returns. It never rejects: a publisher that fails logs and drops, because the live view
 * is a debugging aid, never a delivery path.
 */
export interface LivePublisher {
  /** Whether anyone could be listening; callers skip building live events when not. May lag a few seconds. */
  hasSubscribers(): boolean;
  publish(events: readonly LiveEvent[]): Promise<void>;
}

/** The publisher of a stack with the live view off, or of code paths that have none. */
export const NO_LIVE_PUBLISHER: LivePublisher = {
  hasSubscribers: () => false,
  publish: () => Promise.resolve(),
};

/** What a subscription yields: a live event, or the heartbeat that says how many it was not sent. */
export type LiveFeedItem =
  { kind: 'event'; event: LiveEvent } | { kind: 'heartbeat'; heartbeat: LiveHeartbeat };

export interface LiveHeartbeat {
  /** Events that matched the filter but were dropped since the previous heartbeat. */
  dropped: number;
  /** When the heartbeat was sent, ISO 8601. */
  at: string;
}

/** One subscriber's stream; `return()` ends it (graphql-ws calls it when the client completes). */
export type LiveSubscription = AsyncIterableIterator<LiveFeedItem>;

/**
 * Where the API's `liveEvents` subscription reads from, in a process that holds its subscribers
 * (the embedded stack's hub). Subscribing never fails; the filter is checked before.
 */
export interface LiveFeed {
  subscribe(filter: LiveEventFilter | null | undefined): LiveSubscription;
}

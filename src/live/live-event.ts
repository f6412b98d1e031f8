/**
 * The live view's event (docs/live.md): what a `liveEvents` subscriber sees of an event at the moment
 * the edge answers it (ACCEPTED, REJECTED, SUPPRESSED) or the stream processor fails it (FAILED).
 * Pure data, shared by the embedded stack's in-process hub and the AWS WebSocket publisher. Payloads
 * follow the failed events' PII rules (IPs anonymised, `x-pii` properties hashed) before they get
 * here: a live event never carries more than the lake would.
 */
import type { EventError, FailureType } from '../events/types';

export const LIVE_EVENT_STATUSES = ['ACCEPTED', 'REJECTED', 'FAILED', 'SUPPRESSED'] as const;
export type LiveEventStatus = (typeof LIVE_EVENT_STATUSES)[number];

export interface LiveEvent {
  /** Null only for a record so broken that it names none (the GraphQL type then shows a generated id). */
  messageId: string | null;
  event: string | null;
  userId: string | null;
  anonymousId: string | null;
  status: LiveEventStatus;
  failureType: FailureType | null;
  errors: EventError[];
  /** ISO 8601, the edge's time (or the processor's, for a record that carries none). */
  receivedAt: string;
  properties: Record<string, unknown> | null;
  context: Record<string, unknown> | null;
}

export interface LiveEventFilter {
  /** Event names; any of them matches. */
  events?: readonly string[] | null;
  userId?: string | null;
  anonymousId?: string | null;
  statuses?: readonly LiveEventStatus[] | null;
}

/** Bounds on a filter, so a subscription costs the same to match whatever it asks. */
export const LIVE_FILTER_LIMITS = {
  /** Event names in one filter. */
  events: 50,
  /** Characters of an event name or id in a filter (the envelope's own bound on them). */
  value: 256,
} as const;

/** Events a subscriber is sent per second at most; past it they are dropped and counted. */
export const LIVE_EVENTS_PER_SECOND = 100;

/** How often a subscriber hears how many events it was not sent (the heartbeat). */
export const LIVE_HEARTBEAT_MS = 10_000;

/** Subscriptions one connection may hold at once. */
export const LIVE_SUBSCRIPTIONS_PER_CONNECTION = 5;

/** Why a filter is refused, or null when it is within LIVE_FILTER_LIMITS. */
export function liveFilterProblem(filter: LiveEventFilter | null | undefined): string | null {
  if (!filter) return null;
  const events = filter.events ?? [];
  if (events.length > LIVE_FILTER_LIMITS.events) {
    return `filter.events has ${events.length} names; at most ${LIVE_FILTER_LIMITS.events}`;
  }
  const statuses = filter.statuses ?? [];
  if (statuses.length > LIVE_EVENT_STATUSES.length) {
    return `filter.statuses has ${statuses.length} values; at most ${LIVE_EVENT_STATUSES.length}, one of each`;
  }
  const values = [...events, filter.userId ?? '', filter.anonymousId ?? ''];
  if (values.some((value) => value.length > LIVE_FILTER_LIMITS.value)) {
    return `filter values are at most ${LIVE_FILTER_LIMITS.value} characters`;
  }
  return null;
}

/** Whether `event` is one a subscription with `filter` should see. Empty lists match everything. */
export function matchesLiveFilter(filter: LiveEventFilter | null | undefined, event: LiveEvent): boolean {
  if (!filter) return true;
  if (filter.events?.length && (event.event === null || !filter.events.includes(event.event))) return false;
  if (filter.statuses?.length && !filter.statuses.includes(event.status)) return false;
  if (filter.userId != null && event.userId !== filter.userId) return false;
  if (filter.anonymousId != null && event.anonymousId !== filter.anonymousId) return false;
  return true;
}

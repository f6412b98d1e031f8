/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** The app that sent the event. */
export type AppContextInput = {
  build?: string | null | undefined;
  name?: string | null | undefined;
  version?: string | null | undefined;
};

/** Where the event happened: page, user agent, locale, app, library and client IP. */
export type EventContextInput = {
  app?: AppContextInput | null | undefined;
  /** Client IP; defaults to the request source IP. */
  ip?: string | null | undefined;
  library?: LibraryContextInput | null | undefined;
  locale?: string | null | undefined;
  page?: PageContextInput | null | undefined;
  userAgent?: string | null | undefined;
};

/** Why the stream refused a record: not UTF-8 JSON (MALFORMED), envelope rules, its schema, no schema, too large, or enrichment. PROFILE_LIMIT, HOT_TIER_REFUSED and IDENTITY_CONFLICT name events that were delivered (they are in the warehouse) but that the hot tier applied only in part (traits past the profile caps, named in the errors) or not at all, or whose identity link was refused. */
export type FailureType =
  | 'ENRICHMENT_FAILED'
  | 'ENVELOPE_INVALID'
  /** Delivered; the hot tier refused it for good, so no hot counter has it. */
  | 'HOT_TIER_REFUSED'
  /** Delivered and counted; the link it claimed between two ids was refused (the id belongs to another person, the person is at its cap, or it would merge two users). The error code says which. */
  | 'IDENTITY_CONFLICT'
  | 'MALFORMED'
  /** Delivered; the profile kept the event but dropped the traits its errors name. */
  | 'PROFILE_LIMIT'
  | 'SCHEMA_UNKNOWN'
  | 'SCHEMA_VIOLATION'
  | 'SIZE_EXCEEDED';

/** Time bucket size (UTC). Weeks start on Monday 00:00 UTC. */
export type Granularity =
  | 'DAY'
  | 'HOUR'
  | 'WEEK';

/** The tracking library that sent the event. */
export type LibraryContextInput = {
  name: string;
  version: string;
};

/** Which events a liveEvents subscription sees; every field given must match, a list when any of its values does. At most 50 event names and 4 statuses, each value at most 256 characters. */
export type LiveEventFilter = {
  anonymousId?: string | null | undefined;
  /** Event names. */
  events?: Array<string> | null | undefined;
  statuses?: Array<LiveEventStatus> | null | undefined;
  userId?: string | null | undefined;
};

/** What became of an event, as the live view shows it (docs/live.md). */
export type LiveEventStatus =
  /** The edge answered ACCEPTED: the event is on the stream. */
  | 'ACCEPTED'
  /** The stream processor wrote it to failed events (see failureType and errors). */
  | 'FAILED'
  /** The edge answered REJECTED (see errors). An invalid event goes on to the stream, which shows it again as FAILED. */
  | 'REJECTED'
  /** It names a suppressed id (deleteUser): dropped, shown without its payload. */
  | 'SUPPRESSED';

/** The page the event happened on (browsers). */
export type PageContextInput = {
  path?: string | null | undefined;
  referrer?: string | null | undefined;
  search?: string | null | undefined;
  title?: string | null | undefined;
  url?: string | null | undefined;
};

/** One event. Either userId or anonymousId is required. */
export type TrackEventInput = {
  anonymousId?: string | null | undefined;
  context?: EventContextInput | null | undefined;
  /** Event name, e.g. product_viewed: ^[a-z][a-z0-9_]{0,63}$ */
  event: string;
  /** Idempotency key end to end; generated at the edge when absent. Reuse it on retries. */
  messageId?: string | null | undefined;
  properties?: Record<string, unknown> | null | undefined;
  /** Pin a schema version (MODEL-REVISION-ADDITION); the latest of its model applies otherwise. */
  schemaVersion?: string | null | undefined;
  /** When the client sent the event, by the client clock. */
  sentAt?: string | null | undefined;
  sessionId?: string | null | undefined;
  /** When the event happened, by the client clock. */
  timestamp?: string | null | undefined;
  userId?: string | null | undefined;
};

/** ACCEPTED: durably on the stream. DUPLICATE: seen before. SUPPRESSED: one of its ids is suppressed (deleteUser); dropped and stored nowhere, do not resend it. REJECTED: not written, see errors. */
export type TrackStatus =
  | 'ACCEPTED'
  | 'DUPLICATE'
  | 'REJECTED'
  | 'SUPPRESSED';

/** How fast trending forgets: scores halve every hour (HOUR) or every day (DAY). */
export type TrendWindow =
  | 'DAY'
  | 'HOUR';

export type TrackEventsMutationVariables = Exact<{
  events: Array<TrackEventInput> | TrackEventInput;
}>;


export type TrackEventsMutation = { trackEvents: { results: Array<{ messageId: string, status: TrackStatus, retryable: boolean, errors: Array<{ code: string, path: string | null, message: string }> }> } };

export type ConsoleEventCountsQueryVariables = Exact<{
  from: string;
  to: string;
  granularity: Granularity;
}>;


export type ConsoleEventCountsQuery = { eventCounts: Array<{ bucket: string, event: string | null, count: number }> };

export type ConsoleFunnelQueryVariables = Exact<{
  steps: Array<string> | string;
  from: string;
  to: string;
}>;


export type ConsoleFunnelQuery = { funnel: { dataAsOf: string | null, steps: Array<{ event: string, users: number, conversion: number }> } };

export type ConsoleRetentionQueryVariables = Exact<{
  startEvent: string;
  returnEvent: string;
  from: string;
  to: string;
  period: Granularity;
}>;


export type ConsoleRetentionQuery = { retention: { dataAsOf: string | null, cohorts: Array<{ start: string, users: number, returned: Array<number> }> } };

export type ConsoleTopItemsQueryVariables = Exact<{
  event: string;
  from: string;
  to: string;
  limit: number;
}>;


export type ConsoleTopItemsQuery = { topItems: { dataAsOf: string | null, items: Array<{ itemId: string, count: number, users: number }> } };

export type ConsoleTrendingQueryVariables = Exact<{
  event?: string | null | undefined;
  window: TrendWindow;
  limit: number;
}>;


export type ConsoleTrendingQuery = { trending: Array<{ itemId: string, count: number, score: number }> };

export type ConsoleFailedEventsQueryVariables = Exact<{
  from: string;
  to: string;
  limit: number;
}>;


export type ConsoleFailedEventsQuery = { failedEvents: Array<{ failureType: FailureType }> };

export type ConsoleLiveEventsSubscriptionVariables = Exact<{
  filter?: LiveEventFilter | null | undefined;
}>;


export type ConsoleLiveEventsSubscription = { liveEvents: { messageId: string, event: string | null, userId: string | null, anonymousId: string | null, status: LiveEventStatus, failureType: FailureType | null, receivedAt: string, properties: Record<string, unknown> | null, context: Record<string, unknown> | null, errors: Array<{ code: string, path: string | null, message: string }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const TrackEventsDocument = new TypedDocumentString(`
    mutation TrackEvents($events: [TrackEventInput!]!) {
  trackEvents(events: $events) {
    results {
      messageId
      status
      retryable
      errors {
        code
        path
        message
      }
    }
  }
}
    `) as unknown as TypedDocumentString<TrackEventsMutation, TrackEventsMutationVariables>;
export const ConsoleEventCountsDocument = new TypedDocumentString(`
    query ConsoleEventCounts($from: DateTimeISO!, $to: DateTimeISO!, $granularity: Granularity!) {
  eventCounts(from: $from, to: $to, granularity: $granularity) {
    bucket
    event
    count
  }
}
    `) as unknown as TypedDocumentString<ConsoleEventCountsQuery, ConsoleEventCountsQueryVariables>;
export const ConsoleFunnelDocument = new TypedDocumentString(`
    query ConsoleFunnel($steps: [String!]!, $from: DateTimeISO!, $to: DateTimeISO!) {
  funnel(steps: $steps, from: $from, to: $to) {
    steps {
      event
      users
      conversion
    }
    dataAsOf
  }
}
    `) as unknown as TypedDocumentString<ConsoleFunnelQuery, ConsoleFunnelQueryVariables>;
export const ConsoleRetentionDocument = new TypedDocumentString(`
    query ConsoleRetention($startEvent: String!, $returnEvent: String!, $from: DateTimeISO!, $to: DateTimeISO!, $period: Granularity!) {
  retention(
    startEvent: $startEvent
    returnEvent: $returnEvent
    from: $from
    to: $to
    period: $period
  ) {
    cohorts {
      start
      users
      returned
    }
    dataAsOf
  }
}
    `) as unknown as TypedDocumentString<ConsoleRetentionQuery, ConsoleRetentionQueryVariables>;
export const ConsoleTopItemsDocument = new TypedDocumentString(`
    query ConsoleTopItems($event: String!, $from: DateTimeISO!, $to: DateTimeISO!, $limit: Int!) {
  topItems(event: $event, from: $from, to: $to, limit: $limit) {
    items {
      itemId
      count
      users
    }
    dataAsOf
  }
}
    `) as unknown as TypedDocumentString<ConsoleTopItemsQuery, ConsoleTopItemsQueryVariables>;
export const ConsoleTrendingDocument = new TypedDocumentString(`
    query ConsoleTrending($event: String, $window: TrendWindow!, $limit: Int!) {
  trending(event: $event, window: $window, limit: $limit) {
    itemId
    count
    score
  }
}
    `) as unknown as TypedDocumentString<ConsoleTrendingQuery, ConsoleTrendingQueryVariables>;
export const ConsoleFailedEventsDocument = new TypedDocumentString(`
    query ConsoleFailedEvents($from: DateTimeISO!, $to: DateTimeISO!, $limit: Int!) {
  failedEvents(from: $from, to: $to, limit: $limit) {
    failureType
  }
}
    `) as unknown as TypedDocumentString<ConsoleFailedEventsQuery, ConsoleFailedEventsQueryVariables>;
export const ConsoleLiveEventsDocument = new TypedDocumentString(`
    subscription ConsoleLiveEvents($filter: LiveEventFilter) {
  liveEvents(filter: $filter) {
    messageId
    event
    userId
    anonymousId
    status
    failureType
    errors {
      code
      path
      message
    }
    receivedAt
    properties
    context
  }
}
    `) as unknown as TypedDocumentString<ConsoleLiveEventsSubscription, ConsoleLiveEventsSubscriptionVariables>;
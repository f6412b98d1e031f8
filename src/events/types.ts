/**
 * The event domain's data shapes. A record on the stream is the UTF-8 JSON of one `StreamRecordBody`:
 * a `TrackEvent` plus the edge fields the GraphQL front door adds.
 */

export interface PageContext {
  url?: string;
  path?: string;
  referrer?: string;
  title?: string;
  search?: string;
}

export interface AppContext {
  name?: string;
  version?: string;
  build?: string;
}

export interface LibraryContext {
  name: string;
  version: string;
}

/** The context fields the envelope rules check; a context may carry others, kept as sent. */
export interface KnownContext {
  page?: PageContext;
  userAgent?: string;
  locale?: string;
  app?: AppContext;
  library?: LibraryContext;
  ip?: string;
}

export interface EventContext extends KnownContext {
  [key: string]: unknown;
}

/** What a client sends: the GraphQL `TrackEventInput`, as plain data. */
export interface TrackEvent {
  messageId?: string;
  event: string;
  userId?: string;
  anonymousId?: string;
  sessionId?: string;
  timestamp?: string;
  sentAt?: string;
  properties?: Record<string, unknown>;
  context?: EventContext;
  /** Pins a schema version (MODEL-REVISION-ADDITION); the latest of its model applies otherwise. */
  schemaVersion?: string;
}

/**
 * An event's envelope once read, its times as dates: what the envelope rules check, at the edge
 * (from GraphQL) and in the stream (from a record) alike. Its context may hold other keys too, which
 * no rule checks.
 */
export interface EventEnvelope extends Omit<TrackEvent, 'timestamp' | 'sentAt' | 'context'> {
  timestamp?: Date;
  sentAt?: Date;
  context?: KnownContext;
}

/** Fields the edge adds. A record written straight to Kinesis may lack them. */
export interface EdgeFields {
  messageId: string;
  receivedAt?: string;
  /** Where the event entered: `graphql` for the API, anything else for direct producers. */
  source?: string;
  sourceIp?: string;
  /** The User-Agent header of the HTTP request that carried the event. */
  requestUserAgent?: string;
  /**
   * Set on an `alias` sent with a key holding ADMIN: it may merge two userIds. The edge writes it,
   * never copies it from what a client sent.
   */
  mergesUsers?: true;
}

export type StreamRecordBody = TrackEvent & EdgeFields;

export type ReferrerClass = 'search' | 'social' | 'email' | 'internal' | 'other';

/** What enrichment adds to a valid event (pure functions in src/events compute it). */
export interface Enrichment {
  browser: string | null;
  browserVersion: string | null;
  os: string | null;
  osVersion: string | null;
  /** desktop, mobile, tablet, smarttv, console, wearable, embedded, bot, or null when unknown. */
  deviceType: string | null;
  isBot: boolean;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  utmTerm: string | null;
  utmContent: string | null;
  referrerClass: ReferrerClass | null;
  referrerHost: string | null;
  /** receivedAt − sentAt, the client clock's offset applied to `timestamp`; null without sentAt. */
  clockSkewMs: number | null;
  /** Set when the corrected event time is over 24 h in the future or older than the configured horizon. */
  timeFlag: 'future' | 'too_old' | null;
}

/** A valid event as it is stored in the lake and the warehouse. */
export interface StoredEvent {
  messageId: string;
  event: string;
  userId: string | null;
  anonymousId: string | null;
  sessionId: string | null;
  /** Event time (ISO 8601). */
  timestamp: string;
  sentAt: string | null;
  receivedAt: string;
  source: string;
  properties: Record<string, unknown>;
  context: EventContext;
  processorVersion: string;
  /** The schema version the event was validated against (MODEL-REVISION-ADDITION), null when it has none. */
  schemaVersion?: string | null;
  /** The item the event is about, from the property its schema names (e.g. product_id). */
  itemId?: string | null;
  /** The client's `timestamp` as sent, before clock-skew correction. */
  originalTimestamp?: string | null;
  enrichment?: Enrichment;
  /**
   * An `alias` allowed to merge two userIds: sent with an ADMIN key, or by a configured merge
   * source (docs/identity.md). Absent or false otherwise.
   */
  mergesUsers?: boolean;
}

export type FailureType =
  | 'malformed'
  | 'envelope_invalid'
  | 'schema_violation'
  | 'schema_unknown'
  | 'size_exceeded'
  | 'enrichment_failed'
  /** Delivered, but the hot tier kept only part of it (traits past the profile's caps). */
  | 'profile_limit'
  /** Delivered, but the hot tier refused it for good: the warehouse has it, the hot tier does not. */
  | 'hot_tier_refused'
  /** Delivered, but a link it claimed was refused (docs/identity.md): the id stays with its person. */
  | 'identity_conflict';

export interface EventError {
  code: string;
  path: string | null;
  message: string;
}

/** An event that could not be accepted, with everything needed to understand and replay it. */
export interface FailedEvent {
  messageId: string | null;
  failureType: FailureType;
  event: string | null;
  errors: EventError[];
  /** The raw record: UTF-8 text, or base64 where it is not valid UTF-8. */
  payload: string;
  payloadEncoding: 'utf8' | 'base64';
  schema: string | null;
  receivedAt: string;
  processorVersion: string;
}

/** The identity a profile is kept under: userId when known, else anonymousId. */
export function profileId(event: {
  userId?: string | null;
  anonymousId?: string | null;
}): string | undefined {
  return event.userId ?? event.anonymousId ?? undefined;
}

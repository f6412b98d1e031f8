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

/** The tracking library that sent the event. */
export type LibraryContextInput = {
  name: string;
  version: string;
};

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

export type TrackEventsMutationVariables = Exact<{
  events: Array<TrackEventInput> | TrackEventInput;
}>;


export type TrackEventsMutation = { trackEvents: { results: Array<{ messageId: string, status: TrackStatus, retryable: boolean, errors: Array<{ code: string, path: string | null, message: string }> }> } };

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
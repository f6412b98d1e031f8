import type { Principal } from '../../access/principal';
import type { SegmentEventNames } from '../../events/segment/event-name';
import {
  bodyWriteKey,
  segmentMessages,
  segmentRoute,
  type SegmentMessage,
} from '../../events/segment/segment-message';
import { segmentToEnvelope } from '../../events/segment/to-envelope';
import type { AccessService } from '../../services/access-service';
import { ApiError } from '../../services/errors';
import { mayMergeUsers, type IngestService, type TrackOutcome } from '../../services/ingest-service';
import { preflightHeaders, responseCorsHeaders } from '../cors';
import {
  MAX_SEGMENT_EVENT_BYTES,
  MAX_SEGMENT_REQUEST_BYTES,
  parseSegmentBody,
  SegmentBodyError,
} from './segment-body';

/** Every path this API answers starts with it. */
export const SEGMENT_PATH_PREFIX = '/v1/';

/** How long a client waits before resending a batch the stream did not take. */
export const STREAM_RETRY_AFTER_SECONDS = 2;

/** An HTTP request as the local server and the Lambda handler both see it. */
export interface SegmentHttpRequest {
  method: string;
  /** The path, starting with /v1/. */
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
  sourceIp?: string;
  /** Where clients reach this server, for the settings that point analytics.js back at it. */
  publicBase: { protocol: 'http' | 'https'; host: string };
}

export interface SegmentHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface SegmentApiOptions {
  access: AccessService;
  ingest: IngestService;
  names: SegmentEventNames;
  now?: () => Date;
  logger?: Pick<Console, 'error'>;
}

const SETTINGS_PATH = /^\/v1\/projects\/([^/]+)\/settings$/;

/**
 * Segment's HTTP Tracking API over the ingest service: the same keys, validation, dedupe and
 * failed-events path as GraphQL, answered the way Segment's clients expect, so they retry what
 * may be retried (429, 5xx) and drop nothing else silently.
 */
export class SegmentApi {
  private readonly now: () => Date;

  constructor(private readonly options: SegmentApiOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async handle(request: SegmentHttpRequest): Promise<SegmentHttpResponse> {
    const origin = request.headers.origin;
    if (request.method === 'OPTIONS') return { status: 204, headers: preflightHeaders(origin), body: '' };
    const response = await this.answer(request).catch(errorResponse);
    return { ...response, headers: { ...response.headers, ...responseCorsHeaders(origin) } };
  }

  private async answer(request: SegmentHttpRequest): Promise<SegmentHttpResponse> {
    const settings = SETTINGS_PATH.exec(request.path);
    if (settings) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed('GET');
      return this.settings(decodeURIComponent(settings[1] ?? ''), request);
    }
    const route = segmentRoute(request.path.slice(SEGMENT_PATH_PREFIX.length));
    if (route === undefined) return json(404, { success: false, message: 'not found' });
    if (request.method !== 'POST') return methodNotAllowed('POST');

    // A single call is one event: it may be no larger than one.
    const limit = route === 'batch' ? MAX_SEGMENT_REQUEST_BYTES : MAX_SEGMENT_EVENT_BYTES;
    const body = await parseSegmentBody(request.body, request.headers['content-encoding'], limit);
    const principal = await this.authenticate(
      basicUser(request.headers.authorization) ?? bodyWriteKey(body),
      request,
    );
    const messages = segmentMessages(route, body);
    if (messages === undefined) throw new SegmentBodyError(400, 'the body holds no events');

    let outcomes: TrackOutcome[];
    try {
      outcomes = await this.track(messages, request, principal);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      // The stream could not be written at all: the client resends the batch (messageIds dedupe).
      (this.options.logger ?? console).error('Segment batch not written to the stream', error);
      return streamUnavailable(
        `the stream did not take the ${messages.length} events; resend the request`,
        {},
      );
    }
    const unwritten = outcomes.filter((outcome) => outcome.retryable).length;
    const results = request.query.get('results') === 'true' ? { results: outcomes } : {};
    if (unwritten > 0) {
      return streamUnavailable(
        `the stream did not take ${unwritten} of ${outcomes.length} events; resend the request`,
        results,
      );
    }
    return json(200, { success: true, ...results });
  }

  /** Oversized events (32 KiB) are rejected by the ingest service, which passes them on to failed events. */
  private track(
    messages: SegmentMessage[],
    request: SegmentHttpRequest,
    principal: Principal,
  ): Promise<TrackOutcome[]> {
    return this.options.ingest.track(
      messages.map((message) => segmentToEnvelope(message, this.options.names)),
      {
        receivedAt: this.now(),
        sourceIp: request.sourceIp,
        userAgent: request.headers['user-agent'],
        source: 'segment',
        mayMergeUsers: mayMergeUsers(principal),
      },
    );
  }

  /**
   * What analytics.js loads at start-up, pointing it back at this server. The write key is in the
   * page anyway, yet only a key that may send events gets an answer: any other is not a project.
   */
  private async settings(writeKey: string, request: SegmentHttpRequest): Promise<SegmentHttpResponse> {
    try {
      await this.authenticate(writeKey, request);
    } catch (error) {
      if (error instanceof ApiError && statusOf(error) !== 429)
        return json(404, { success: false, message: 'no project with this write key' });
      throw error;
    }
    const { protocol, host } = request.publicBase;
    const apiHost = `${host}${SEGMENT_PATH_PREFIX.slice(0, -1)}`;
    return json(
      200,
      {
        integrations: {
          'Segment.io': {
            apiKey: writeKey,
            apiHost,
            protocol,
            unbundledIntegrations: [],
            addBundledMetadata: false,
            maybeBundledConfigIds: {},
            versionSettings: { version: '4.4.7', componentTypes: ['browser'] },
          },
        },
        plan: { track: { __default: { enabled: true, integrations: {} } }, identify: {}, group: {} },
        edgeFunction: {},
        analyticsNextEnabled: true,
        middlewareSettings: {},
        enabledMiddleware: {},
        // No metrics to Segment: a sample rate of 0 sends none, and the host points here regardless.
        metrics: { sampleRate: 0, host: apiHost },
        legacyVideoPluginsEnabled: false,
        remotePlugins: [],
      },
      { 'cache-control': 'no-store' },
    );
  }

  private async authenticate(apiKey: string | undefined, request: SegmentHttpRequest): Promise<Principal> {
    // A user token is a GraphQL notion: here the Authorization header carries the write key.
    const principal = await this.options.access.authenticate({
      apiKey,
      origin: request.headers.origin,
      authorization: undefined,
    });
    if (!principal.scopes.has('INGEST'))
      throw new ApiError('FORBIDDEN', 'this key may not send events: it lacks the INGEST scope', 403);
    return principal;
  }
}

/** The user name of HTTP Basic credentials: Segment's clients send the write key there. */
export function basicUser(authorization: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const user = decoded.split(':', 1)[0];
  return user === undefined || user === '' ? undefined : user;
}

function statusOf(error: ApiError): number {
  const http = error.extensions.http as { status?: number } | undefined;
  return http?.status ?? 400;
}

/** 503 with Retry-After: Segment's clients resend the whole batch after it. */
function streamUnavailable(message: string, extra: Record<string, unknown>): SegmentHttpResponse {
  return json(
    503,
    { success: false, message, ...extra },
    { 'retry-after': String(STREAM_RETRY_AFTER_SECONDS) },
  );
}

function errorResponse(error: unknown): SegmentHttpResponse {
  if (error instanceof SegmentBodyError)
    return json(error.status, { success: false, message: error.message });
  if (error instanceof ApiError) {
    const http = error.extensions.http as { headers?: Map<string, string> } | undefined;
    return json(
      statusOf(error),
      { success: false, code: error.extensions.code, message: error.message },
      Object.fromEntries(http?.headers ?? []),
    );
  }
  throw error;
}

const methodNotAllowed = (allow: string) =>
  json(405, { success: false, message: 'method not allowed' }, { allow });

function json(status: number, body: unknown, headers: Record<string, string> = {}): SegmentHttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

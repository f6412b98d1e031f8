/**
 * The graphql-ws protocol (`graphql-transport-ws`) as the AWS transport speaks it: parsing what a
 * client sends, building what the server sends. API Gateway carries the frames; it cannot close a
 * connection with a code of its own choosing, so where a graphql-ws server would close with 44xx the
 * AWS transport first sends an `error` message naming the code (see `closeNotice`), then closes.
 */
import type { GraphQLFormattedError } from 'graphql';

export const GRAPHQL_WS_PROTOCOL = 'graphql-transport-ws';

/** The close codes of the graphql-ws protocol that the transport reports. */
export const GRAPHQL_WS_CLOSE = {
  badRequest: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  subscriberAlreadyExists: 4409,
  tooManyInitialisationRequests: 4429,
  internalServerError: 4500,
} as const;
export type GraphqlWsCloseCode = (typeof GRAPHQL_WS_CLOSE)[keyof typeof GRAPHQL_WS_CLOSE];

/** Bytes one client message may weigh (API Gateway itself takes frames up to 32 KB). */
export const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;
/** Characters of a subscription id. */
export const MAX_SUBSCRIPTION_ID_LENGTH = 128;
/** The id of an `error` message about the connection rather than one subscription. */
export const CONNECTION_ERROR_ID = 'connection';

export interface SubscribePayload {
  query: string;
  variables: Record<string, unknown> | null;
  operationName: string | null;
}

export type ClientMessage =
  | { type: 'connection_init'; payload: Record<string, unknown> }
  | { type: 'ping' }
  | { type: 'pong' }
  | { type: 'subscribe'; id: string; payload: SubscribePayload }
  | { type: 'complete'; id: string };

/** A client message, or why it is not one (the connection is then closed with 4400). */
export function parseClientMessage(body: string): ClientMessage | { invalid: string } {
  if (Buffer.byteLength(body, 'utf8') > MAX_CLIENT_MESSAGE_BYTES) {
    return { invalid: `a message is at most ${MAX_CLIENT_MESSAGE_BYTES} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { invalid: 'a message is a JSON object' };
  }
  if (!isRecord(value)) return { invalid: 'a message is a JSON object' };
  switch (value.type) {
    case 'connection_init': {
      const payload = value.payload ?? {};
      if (!isRecord(payload)) return { invalid: 'connection_init payload must be an object' };
      return { type: 'connection_init', payload };
    }
    case 'ping':
    case 'pong':
      return { type: value.type };
    case 'subscribe': {
      const id = subscriptionId(value.id);
      if (typeof id !== 'string') return id;
      const payload = value.payload;
      if (!isRecord(payload) || typeof payload.query !== 'string') {
        return { invalid: 'subscribe payload must hold a query string' };
      }
      const variables = payload.variables ?? null;
      if (variables !== null && !isRecord(variables)) return { invalid: 'variables must be an object' };
      const operationName = payload.operationName ?? null;
      if (operationName !== null && typeof operationName !== 'string') {
        return { invalid: 'operationName must be a string' };
      }
      return { type: 'subscribe', id, payload: { query: payload.query, variables, operationName } };
    }
    case 'complete': {
      const id = subscriptionId(value.id);
      return typeof id === 'string' ? { type: 'complete', id } : id;
    }
    default:
      return { invalid: `unknown message type ${JSON.stringify(value.type ?? null)}` };
  }
}

function subscriptionId(id: unknown): string | { invalid: string } {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_SUBSCRIPTION_ID_LENGTH) {
    return { invalid: `a subscription id is a string of 1 to ${MAX_SUBSCRIPTION_ID_LENGTH} characters` };
  }
  return id;
}

export const connectionAck = (): string => JSON.stringify({ type: 'connection_ack' });
export const pong = (): string => JSON.stringify({ type: 'pong' });

export const next = (id: string, payload: Record<string, unknown>): string =>
  JSON.stringify({ type: 'next', id, payload });

export const errorMessage = (id: string, errors: readonly GraphQLFormattedError[]): string =>
  JSON.stringify({ type: 'error', id, payload: errors });

/**
 * What the transport sends before it closes a connection: an `error` message (id `connection`)
 * whose one error carries the graphql-ws close code in `extensions.closeCode`. Before the
 * `connection_ack` the graphql-ws client takes any message but the ack as a bad response and
 * closes for good (4004) instead of reconnecting; its `message` event shows this one.
 */
export const closeNotice = (closeCode: GraphqlWsCloseCode, code: string, message: string): string =>
  errorMessage(CONNECTION_ERROR_ID, [{ message, extensions: { code, closeCode } }]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

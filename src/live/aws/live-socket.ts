import { connectionKey } from '../connection-key';
import { GraphQLError } from 'graphql';
import type { Principal } from '../../access/principal';
import { LIVE_SUBSCRIPTIONS_PER_CONNECTION } from '../live-event';
import type { LiveConnections } from './api-gateway-connections';
import type { LiveConnectionTable } from './connection-table';
import {
  closeNotice,
  connectionAck,
  errorMessage,
  GRAPHQL_WS_CLOSE,
  GRAPHQL_WS_PROTOCOL,
  parseClientMessage,
  pong,
  type GraphqlWsCloseCode,
  type SubscribePayload,
} from './graphql-ws-messages';
import type { LiveDocuments } from './live-documents';

/** The scope a key needs to subscribe to live events. */
export const LIVE_SCOPE = 'LIVE_READ';

export interface LiveSocketOptions {
  table: LiveConnectionTable;
  /** Where replies go: the WebSocket stage this handler serves. */
  connections: LiveConnections;
  documents: LiveDocuments;
  /**
   * The caller of a key, as the HTTP API authenticates one (the key's origins and rate included);
   * refusals are GraphQLErrors whose `extensions.code` says why.
   */
  authenticate(key: string | undefined, origin: string | undefined): Promise<Principal>;
  /** Subscriptions in the whole table at most. */
  maxSubscriptions: number;
  logger?: Pick<Console, 'warn' | 'error'>;
}

/** What `$connect` answers API Gateway: the handshake's status and headers. */
export interface ConnectAnswer {
  statusCode: number;
  headers?: Record<string, string>;
}

/**
 * The graphql-ws protocol over API Gateway's WebSocket routes: `$connect` agrees on the
 * `graphql-transport-ws` subprotocol, `$default` carries every protocol message, `$disconnect`
 * forgets the connection. State lives in the connections table, so any Lambda instance can take
 * any message of any connection; replies go out through the Management API.
 */
export class LiveSocket {
  private readonly logger: Pick<Console, 'warn' | 'error'>;

  constructor(private readonly options: LiveSocketOptions) {
    this.logger = options.logger ?? console;
  }

  /** `$connect`: refuses a handshake that does not offer graphql-transport-ws, else records the connection. */
  async connect(request: {
    connectionId: string;
    /** The Sec-WebSocket-Protocol header: the subprotocols the client offers, comma-separated. */
    protocols: string | undefined;
    origin: string | undefined;
  }): Promise<ConnectAnswer> {
    const offered = (request.protocols ?? '').split(',').map((protocol) => protocol.trim());
    if (!offered.includes(GRAPHQL_WS_PROTOCOL)) return { statusCode: 400 };
    await this.options.table.addConnection(request.connectionId, request.origin ?? null);
    // Browsers fail a handshake whose answer does not name the subprotocol they asked for.
    return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': GRAPHQL_WS_PROTOCOL } };
  }

  /**
   * `$default`: one graphql-ws message from the client. What fails unexpectedly (the table, the
   * Management API) closes the connection with 4500, as a graphql-ws server would.
   */
  async message(connectionId: string, body: string): Promise<void> {
    try {
      await this.handle(connectionId, body);
    } catch (error) {
      this.logger.error('live socket message failed', { connectionId, error });
      await this.close(
        connectionId,
        GRAPHQL_WS_CLOSE.internalServerError,
        'INTERNAL_SERVER_ERROR',
        'Internal server error',
      ).catch((closeError: unknown) =>
        this.logger.error('could not close a live connection', { connectionId, error: closeError }),
      );
    }
  }

  private async handle(connectionId: string, body: string): Promise<void> {
    const message = parseClientMessage(body);
    if ('invalid' in message) {
      return this.close(connectionId, GRAPHQL_WS_CLOSE.badRequest, 'BAD_REQUEST', message.invalid);
    }
    switch (message.type) {
      case 'connection_init':
        return this.init(connectionId, message.payload);
      case 'ping':
        return this.send(connectionId, pong());
      case 'pong':
        return;
      case 'subscribe':
        return this.subscribe(connectionId, message.id, message.payload);
      case 'complete':
        return this.options.table.removeSubscription(connectionId, message.id);
    }
  }

  /** `$disconnect`: removes the connection's items. */
  async disconnect(connectionId: string): Promise<void> {
    await this.options.table.removeConnection(connectionId);
  }

  private async init(connectionId: string, params: Record<string, unknown>): Promise<void> {
    const connection = await this.options.table.connection(connectionId);
    if (!connection) {
      return this.close(connectionId, GRAPHQL_WS_CLOSE.badRequest, 'BAD_REQUEST', 'unknown connection');
    }
    if (connection.keyId !== null) {
      return this.close(
        connectionId,
        GRAPHQL_WS_CLOSE.tooManyInitialisationRequests,
        'BAD_REQUEST',
        'too many initialisation requests',
      );
    }
    let principal: Principal;
    try {
      principal = await this.options.authenticate(connectionKey(params), connection.origin ?? undefined);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const code = typeof error.extensions.code === 'string' ? error.extensions.code : 'FORBIDDEN';
      return this.close(connectionId, GRAPHQL_WS_CLOSE.forbidden, code, error.message);
    }
    if (!principal.scopes.has(LIVE_SCOPE)) {
      return this.close(
        connectionId,
        GRAPHQL_WS_CLOSE.forbidden,
        'FORBIDDEN',
        `live events need a key with the ${LIVE_SCOPE} scope`,
      );
    }
    if (!(await this.options.table.initialise(connectionId, principal.keyId))) {
      return this.close(
        connectionId,
        GRAPHQL_WS_CLOSE.tooManyInitialisationRequests,
        'BAD_REQUEST',
        'too many initialisation requests',
      );
    }
    await this.send(connectionId, connectionAck());
  }

  private async subscribe(connectionId: string, id: string, payload: SubscribePayload): Promise<void> {
    const connection = await this.options.table.connection(connectionId);
    if (connection?.keyId == null) {
      return this.close(connectionId, GRAPHQL_WS_CLOSE.unauthorized, 'UNAUTHENTICATED', 'Unauthorized');
    }
    const checked = this.options.documents.check(payload);
    if (!checked.ok) return this.send(connectionId, errorMessage(id, checked.errors));
    const outcome = await this.options.table.addSubscription(
      {
        connectionId,
        subscriptionId: id,
        keyId: connection.keyId,
        request: checked.request,
        filter: checked.filter,
      },
      { perConnection: LIVE_SUBSCRIPTIONS_PER_CONNECTION, total: this.options.maxSubscriptions },
    );
    switch (outcome) {
      case 'added':
        return;
      case 'duplicate':
        return this.close(
          connectionId,
          GRAPHQL_WS_CLOSE.subscriberAlreadyExists,
          'BAD_REQUEST',
          `Subscriber for ${id} already exists`,
        );
      case 'connection-full':
        return this.send(
          connectionId,
          errorMessage(id, [
            limitError(`a connection holds at most ${LIVE_SUBSCRIPTIONS_PER_CONNECTION} live subscriptions`),
          ]),
        );
      case 'table-full':
        this.logger.warn('live subscriptions are at their cap', { max: this.options.maxSubscriptions });
        return this.send(
          connectionId,
          errorMessage(id, [limitError('the live view is at its cap of subscriptions; try again later')]),
        );
    }
  }

  /** Sends a reply; a connection found gone is forgotten. */
  private async send(connectionId: string, message: string): Promise<void> {
    if ((await this.options.connections.send(connectionId, message)) === 'gone') {
      await this.options.table.removeConnection(connectionId);
    }
  }

  /** Says why (`closeNotice`), then closes: API Gateway sends no close code of ours. */
  private async close(
    connectionId: string,
    closeCode: GraphqlWsCloseCode,
    code: string,
    reason: string,
  ): Promise<void> {
    try {
      await this.options.connections.send(connectionId, closeNotice(closeCode, code, reason));
    } catch (error) {
      // Closing matters more than saying why.
      this.logger.warn('could not send a close notice', { connectionId, error });
    }
    await this.options.connections.close(connectionId);
    await this.options.table.removeConnection(connectionId);
  }
}

function limitError(message: string) {
  return { message, extensions: { code: 'LIVE_LIMIT' } };
}

/**
 * The `liveEvents` subscription over graphql-ws (docs/live.md): what the embedded stack's WebSocket
 * server on /graphql does with each message. A connection is authenticated at `connection_init`
 * with the key the HTTP path takes; a key without LIVE_READ is refused there (4403). Each
 * `subscribe` checks the key again (revoked, over its rate: refused, as a request would be) and is
 * held to the HTTP path's bounds (query size, depth, budget, aliases), to subscriptions only
 * (queries and mutations go over HTTP, through every HTTP check), and to
 * LIVE_SUBSCRIPTIONS_PER_CONNECTION at once.
 */
import { connectionKey } from '../live/connection-key';
import depthLimit from 'graphql-depth-limit';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import type { Context, ServerOptions } from 'graphql-ws';
import type { Principal } from '../access/principal';
import type { ApiKeyKind } from '../access/scopes';
import { LIVE_SUBSCRIPTIONS_PER_CONNECTION } from '../live/live-event';
import type { LiveFeedItem } from '../live/port';
import type { RequestContext } from '../resolvers/context';
import type { AccessRequest } from '../services/access-service';
import type { Services } from '../services/services';
import { ApiError, badUserInput } from '../services/errors';
import { perEventDocument } from './live-event-document';
import { overBudget } from './query-budget';
import { oversizedQueryText } from './query-size-limit';

/** What the socket server knows of the HTTP request that opened a connection. */
export interface LiveSocketRequest {
  headers: Record<string, string | string[] | undefined>;
  sourceIp: string | undefined;
}

export interface LiveSocketOptions {
  schema: GraphQLSchema;
  services: Services;
  maxQueryDepth: number;
  access: { queryBudget: Record<ApiKeyKind, number>; maxAliasesPerRootField: number };
  maxQueryBytes: number;
  /** The upgrade request of a connection (graphql-ws's `extra`). */
  requestOf: (extra: unknown) => LiveSocketRequest;
  logger?: Pick<Console, 'error'>;
}

/** The heartbeat's place in a `next` payload: `{ extensions: { liveHeartbeat: { dropped, at } } }`, no data. */
export const HEARTBEAT_EXTENSION = 'liveHeartbeat';

export function liveSocketOptions(options: LiveSocketOptions): ServerOptions {
  const logger = options.logger ?? console;
  const connections = new WeakMap<Context, AccessRequest>();
  /** The connection's principal, checked again: revoked keys and keys over their rate open nothing new. */
  const principalOf = async (ctx: Context): Promise<Principal> => {
    const access = connections.get(ctx);
    if (access === undefined) throw new ApiError('UNAUTHENTICATED', 'the connection is not acknowledged');
    return options.services.access.authenticate(access);
  };
  const validationRules = [...specifiedRules, depthLimit(options.maxQueryDepth)];
  const budget = {
    budget: options.access.queryBudget,
    maxAliasesPerRootField: options.access.maxAliasesPerRootField,
  };

  return {
    async onConnect(ctx) {
      const request = options.requestOf(ctx.extra);
      const access: AccessRequest = {
        apiKey: connectionKey(ctx.connectionParams),
        origin: header(request.headers.origin),
        authorization: undefined,
      };
      try {
        const principal = await options.services.access.authenticate(access);
        if (!principal.scopes.has('LIVE_READ')) return false;
        connections.set(ctx, access);
        return true;
      } catch (error) {
        if (!(error instanceof ApiError)) logger.error('live connection not authenticated', error);
        return false;
      }
    },

    async onSubscribe(ctx, id, payload) {
      let principal: Principal;
      try {
        principal = await principalOf(ctx);
      } catch (error) {
        if (error instanceof ApiError) return [error];
        throw error;
      }
      if (Object.keys(ctx.subscriptions).length > LIVE_SUBSCRIPTIONS_PER_CONNECTION)
        return [
          new ApiError(
            'LIVE_LIMIT',
            `a connection holds at most ${LIVE_SUBSCRIPTIONS_PER_CONNECTION} subscriptions at once`,
          ),
        ];
      const oversized = oversizedQueryText(payload.query, options.maxQueryBytes);
      if (oversized) return [oversized];
      let document: DocumentNode;
      try {
        document = parse(payload.query);
      } catch (error) {
        return [error instanceof GraphQLError ? error : badUserInput('the query does not parse')];
      }
      const invalid = validate(options.schema, document, validationRules);
      if (invalid.length > 0) return [...invalid];
      const operation = getOperationAST(document, payload.operationName);
      if (operation === null || operation === undefined)
        return [badUserInput('name the operation to run (operationName)')];
      if (operation.operation !== 'subscription')
        return [badUserInput('only subscriptions go over the WebSocket; send queries and mutations by HTTP')];
      const variables = payload.variables ?? {};
      const refusal = overBudget(budget, {
        schema: options.schema,
        document,
        operation,
        variables,
        kind: principal.kind,
      });
      if (refusal) return [refusal];
      const request = options.requestOf(ctx.extra);
      const contextValue: RequestContext = {
        services: options.services,
        principal,
        edge: {
          receivedAt: new Date(),
          sourceIp: request.sourceIp,
          userAgent: header(request.headers['user-agent']),
        },
      };
      return {
        schema: options.schema,
        document,
        operationName: payload.operationName,
        variableValues: variables,
        contextValue,
      };
    },

    subscribe: subscribeWithHeartbeats,

    onNext: (_ctx, _id, _payload, _args, result) => masked(result, logger),
  };
}

/**
 * graphql-js's subscribe, but a heartbeat from the feed becomes a `next` payload of its own,
 * `{ extensions: { liveHeartbeat } }`, without running the field (which could answer it only with
 * an error: `liveEvents` is non-null); an event runs the document as `perEventDocument` leaves it.
 */
export async function subscribeWithHeartbeats(
  args: ExecutionArgs,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const items = source[Symbol.asyncIterator]();
  const eventArgs: ExecutionArgs = { ...args, document: perEventDocument(args.schema, args.document) };
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const item = await items.next();
      if (item.done === true) return done;
      const value = item.value as LiveFeedItem;
      if (value.kind === 'heartbeat')
        return { done: false, value: { extensions: { [HEARTBEAT_EXTENSION]: value.heartbeat } } };
      return { done: false, value: await execute({ ...eventArgs, rootValue: value }) };
    },
    // Called when the client completes or the socket closes; ends the feed even while it waits.
    async return() {
      await items.return?.();
      return done;
    },
    [Symbol.asyncIterator]: () => results,
  };
  return results;
}

/** Errors the API did not raise keep their details in the log, as over HTTP. */
function masked(result: ExecutionResult, logger: Pick<Console, 'error'>): ExecutionResult | undefined {
  if (
    !result.errors?.some(
      (error) => !(error.originalError === undefined || error.originalError instanceof GraphQLError),
    )
  )
    return undefined;
  return {
    ...result,
    errors: result.errors.map((error) => {
      if (error.originalError === undefined || error.originalError instanceof GraphQLError) return error;
      logger.error('unexpected error while resolving a subscription', error.originalError);
      return new GraphQLError('internal error', {
        path: error.path,
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
    }),
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

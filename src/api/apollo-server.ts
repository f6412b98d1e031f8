import { ApolloServer, type ApolloServerOptions, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import depthLimit from 'graphql-depth-limit';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { buildTributarySchema } from './build-schema';
import type { RequestContext } from '../resolvers/context';
import type { Services } from '../services/services';
import type { ApiKeyKind } from '../access/scopes';
import { ByteBoundedCache } from './byte-bounded-cache';
import { queryBudgetPlugin } from './query-budget';
import { oversizedQuery } from './query-size-limit';
import { schemaVisibilityPlugin } from './schema-visibility';

export interface ApiServerOptions {
  maxQueryDepth: number;
  access: { queryBudget: Record<ApiKeyKind, number>; maxAliasesPerRootField: number };
  queries: {
    /** Query text over this many bytes is refused (BAD_USER_INPUT) before it is hashed or parsed. */
    maxBytes: number;
    /** What the texts of automatic persisted queries may weigh together in memory. */
    persistedCacheBytes: number;
  };
  logger?: Pick<Console, 'error'>;
  plugins?: ApolloServerPlugin<RequestContext>[];
}

/** Headers whose presence proves a request was preflighted; every request carries x-api-key. */
const CSRF_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight', 'x-api-key'];

/**
 * Refuses a request whose query text is over the limit before Apollo hashes, parses or stores
 * it. Plugin hooks cannot do this: Apollo answers anything thrown before parsing (in
 * requestDidStart or didResolveSource) as a 500. The refusal is thrown from the context instead,
 * so the key, its origin and its rate are judged first, as for any request, and the caller gets
 * a 400 with BAD_USER_INPUT.
 */
class QuerySizeLimitedServer extends ApolloServer<RequestContext> {
  constructor(
    config: ApolloServerOptions<RequestContext>,
    private readonly maxQueryBytes: number,
  ) {
    super(config);
  }

  override executeHTTPGraphQLRequest(
    request: Parameters<ApolloServer<RequestContext>['executeHTTPGraphQLRequest']>[0],
  ): ReturnType<ApolloServer<RequestContext>['executeHTTPGraphQLRequest']> {
    const refusal = oversizedQuery(request.httpGraphQLRequest, this.maxQueryBytes);
    if (refusal === undefined) return super.executeHTTPGraphQLRequest(request);
    return super.executeHTTPGraphQLRequest({
      ...request,
      context: async () => {
        await request.context();
        throw refusal;
      },
    });
  }
}

/** The one Apollo Server setup, shared by the Lambda handler and the local HTTP server. */
export function createApiServer(options: ApiServerOptions): ApolloServer<RequestContext> {
  const logger = options.logger ?? console;
  // Automatic persisted queries: clients send a query's SHA-256 instead of its text once the
  // server has it. Texts are kept in a byte-bounded LRU of our own, so a caller registering many
  // distinct texts evicts old ones instead of growing the process.
  const persistedQueries = new ByteBoundedCache<string>({ maxBytes: options.queries.persistedCacheBytes });
  return new QuerySizeLimitedServer(
    {
      schema: buildTributarySchema(),
      persistedQueries: {
        cache: {
          get: async (key) => persistedQueries.get(key),
          set: async (key, query) => {
            persistedQueries.set(key, query, Buffer.byteLength(query, 'utf8'));
          },
          delete: async (key) => persistedQueries.delete(key),
        },
      },
      csrfPrevention: { requestHeaders: CSRF_HEADERS },
      validationRules: [depthLimit(options.maxQueryDepth)],
      introspection: true,
      // Whoever runs the server owns shutdown (the local stack flushes and checkpoints first);
      // Apollo's own signal handlers would race it.
      stopOnTerminationSignals: false,
      includeStacktraceInErrorResponses: false,
      // No field carries cache hints (analytics cache on the server, see AnalyticsService); without
      // this plugin Apollo stops wrapping every resolver to compute them.
      plugins: [
        ApolloServerPluginCacheControlDisabled(),
        schemaVisibilityPlugin(),
        queryBudgetPlugin({
          budget: options.access.queryBudget,
          maxAliasesPerRootField: options.access.maxAliasesPerRootField,
        }),
        ...(options.plugins ?? []),
      ],
      formatError: (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
        const original = unwrapResolverError(error);
        if (original instanceof GraphQLError) return formatted;
        // Unknown failures keep their details in the log, not in the response.
        logger.error('unexpected error while resolving', original);
        return { ...formatted, message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
      },
    },
    options.queries.maxBytes,
  );
}

export interface ContextInput {
  services: Services;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  sourceIp?: string;
  now?: () => Date;
}

/**
 * Builds a request's context. A request without a valid key, from an origin its key does not
 * allow, or over its key's rate is refused here, before anything runs or is written.
 */
export async function createRequestContext(input: ContextInput): Promise<RequestContext> {
  const principal = await input.services.access.authenticate({
    apiKey: input.headers['x-api-key'],
    origin: input.headers.origin,
    authorization: input.headers.authorization,
  });
  return {
    services: input.services,
    principal,
    edge: {
      receivedAt: (input.now ?? (() => new Date()))(),
      sourceIp: input.sourceIp,
      userAgent: input.headers['user-agent'],
    },
  };
}

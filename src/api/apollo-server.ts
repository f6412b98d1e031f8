import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import depthLimit from 'graphql-depth-limit';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { buildTributarySchema } from '../schema/build-schema';
import type { RequestContext, Services } from '../resolvers/context';
import { unauthenticated } from '../services/errors';
import { apiKeyMatches } from './auth';

export interface ApiServerOptions {
  maxQueryDepth: number;
  logger?: Pick<Console, 'error'>;
  plugins?: ApolloServerPlugin<RequestContext>[];
}

/** Headers whose presence proves a request was preflighted; every request carries x-api-key. */
const CSRF_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight', 'x-api-key'];

/** The one Apollo Server setup, shared by the Lambda handler and the local HTTP server. */
export function createApiServer(options: ApiServerOptions): ApolloServer<RequestContext> {
  const logger = options.logger ?? console;
  return new ApolloServer<RequestContext>({
    schema: buildTributarySchema(),
    csrfPrevention: { requestHeaders: CSRF_HEADERS },
    validationRules: [depthLimit(options.maxQueryDepth)],
    introspection: true,
    // Whoever runs the server owns shutdown (the local stack flushes and checkpoints first);
    // Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    // No field carries cache hints (analytics cache on the server, see AnalyticsService); without
    // this plugin Apollo stops wrapping every resolver to compute them.
    plugins: [ApolloServerPluginCacheControlDisabled(), ...(options.plugins ?? [])],
    formatError: (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
      const original = unwrapResolverError(error);
      if (original instanceof GraphQLError) return formatted;
      // Unknown failures keep their details in the log, not in the response.
      logger.error('unexpected error while resolving', original);
      return { ...formatted, message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    },
  });
}

export interface ContextInput {
  services: Services;
  apiKey: string;
  headers: Record<string, string | undefined>;
  sourceIp?: string;
  now?: () => Date;
}

/** Builds a request's context; refuses requests without the right API key before anything runs. */
export function createRequestContext(input: ContextInput): RequestContext {
  if (!apiKeyMatches(input.apiKey, input.headers['x-api-key'])) throw unauthenticated();
  return {
    services: input.services,
    edge: {
      receivedAt: (input.now ?? (() => new Date()))(),
      sourceIp: input.sourceIp,
      userAgent: input.headers['user-agent'],
    },
  };
}

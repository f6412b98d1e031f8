import { createHash } from 'node:crypto';
import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import type { FormattedExecutionResult, OperationDefinitionNode } from 'graphql';
import { accessFingerprint } from '../access/principal';
import type { RequestContext } from '../resolvers/context';
import { ByteBoundedCache } from './byte-bounded-cache';

/**
 * Root fields whose answer is a function of the hot tier's stored data alone: profiles,
 * recommendations (blended neighbour scores; trending fills in by ratios, which decay does not
 * change) and item stats. `trending` is not among them: its scores decay with the clock.
 */
export const CACHEABLE_ROOT_FIELDS: ReadonlySet<string> = new Set([
  'user',
  'recommendations',
  'item',
  '__typename',
]);

/**
 * Where answers are kept: bounded in bytes (each answer's JSON and its key), with a TTL saying how
 * stale an answer may be served when writers run elsewhere (Infinity when `generation` sees every
 * write).
 */
export type AnswerCache = ByteBoundedCache<FormattedExecutionResult>;

export interface HotResponseCacheOptions {
  /**
   * Changes whenever the hot tier may have changed through this process (CachedHotStore's
   * generation): a cached answer is only served while it stays the same.
   */
  generation: () => number;
  answers: AnswerCache;
}

/** Whether an operation only reads root fields from CACHEABLE_ROOT_FIELDS. */
export function isCacheableOperation(operation: OperationDefinitionNode): boolean {
  return (
    operation.operation === 'query' &&
    operation.selectionSet.selections.every(
      (selection) =>
        selection.kind === 'Field' &&
        CACHEABLE_ROOT_FIELDS.has(selection.name.value) &&
        (selection.directives ?? []).length === 0,
    )
  );
}

/**
 * Serves repeated hot-tier queries from their last answer. Frontends ask the same questions
 * (this user's profile and recommendations) far more often than the hot tier changes, and
 * executing a profile query costs the server more than everything else in the request together.
 * An answer is kept per operation text, operation name and variables, for the generation it was
 * computed in, under a SHA-256 of those (a key costs 64 bytes however large the query or its
 * variables are): any write through this process starts a new generation, so locally nothing stale
 * is ever served; with writers elsewhere (AWS), the cache's TTL bounds staleness as the hot-store
 * read cache does. Only answers without errors are kept, each for callers allowed exactly the same
 * fields (`accessFingerprint`): field rules run only when an answer is computed.
 */
export function hotResponseCachePlugin(options: HotResponseCacheOptions): ApolloServerPlugin<RequestContext> {
  const { answers } = options;
  let cachedGeneration = options.generation();
  return {
    async requestDidStart() {
      if (!answers.enabled) return;
      let key: string | undefined;
      return {
        async responseForOperation(requestContext): Promise<GraphQLResponse | null> {
          if (!isCacheableOperation(requestContext.operation)) return null;
          const generation = options.generation();
          if (generation !== cachedGeneration) {
            // Everything kept belongs to an older generation; none of it can be served again.
            answers.clear();
            cachedGeneration = generation;
          }
          key = answerKey([
            generation,
            // Fields answer by who asks (a user token reads only its own user): an answer is
            // served only to callers allowed exactly the same fields.
            accessFingerprint(requestContext.contextValue.principal),
            // Apollo's SHA-256 of the operation text (for a persisted query, the hash it was
            // registered under, which Apollo checked against the text).
            requestContext.queryHash,
            requestContext.operationName,
            requestContext.request.variables ?? null,
          ]);
          const hit = answers.get(key);
          if (hit === undefined) return null;
          key = undefined; // served from the cache: nothing to keep afterwards
          return { http: { headers: new HeaderMap() }, body: { kind: 'single', singleResult: hit } };
        },
        async willSendResponse(requestContext) {
          const body = requestContext.response.body;
          // An answer computed while a write landed is kept under the generation it started in,
          // which no request asks for again.
          if (key === undefined || body.kind !== 'single' || body.singleResult.errors !== undefined) return;
          const answer = body.singleResult;
          answers.set(key, answer, Buffer.byteLength(JSON.stringify(answer), 'utf8'));
        },
      };
    },
  };
}

function answerKey(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

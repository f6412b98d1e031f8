import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, visit, type DocumentNode } from 'graphql';
import type { Principal } from '../access/principal';
import type { Scope } from '../access/scopes';
import type { RequestContext } from '../resolvers/context';
import { forbidden } from '../services/errors';

/** Who may see the schema: people who build against it, not every holder of a publishable key. */
const SCHEMA_READERS: readonly Scope[] = ['ADMIN', 'ANALYTICS_READ'];

export const maySeeSchema = (principal: Principal): boolean =>
  SCHEMA_READERS.some((s) => principal.scopes.has(s));

/**
 * Apollo keeps one parsed document per query text, so a document is walked once, not on every
 * request that sends the same query (ingest sends the same few, thousands of times a second).
 */
const introspecting = new WeakMap<DocumentNode, boolean>();

function introspects(document: DocumentNode): boolean {
  let found = introspecting.get(document);
  if (found === undefined) {
    found = walksIntoSchema(document);
    introspecting.set(document, found);
  }
  return found;
}

function walksIntoSchema(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.FIELD]: (node) => {
      if (node.name.value === '__schema' || node.name.value === '__type') found = true;
    },
  });
  return found;
}

/** GraphQL's "Did you mean …?" hints name fields and types; the rest of each message stays. */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/**
 * Introspection and field suggestions only for keys with ADMIN or ANALYTICS_READ: a WRITE key is
 * public, and the schema would map what to attack.
 */
export function schemaVisibilityPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart({ contextValue }) {
      if (maySeeSchema(contextValue.principal)) return;
      return {
        async didResolveOperation({ document }) {
          if (introspects(document))
            throw forbidden('introspection needs a key with ADMIN or ANALYTICS_READ', 403);
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single' || !response.body.singleResult.errors) return;
          response.body.singleResult.errors = response.body.singleResult.errors.map((error) => {
            const message = error.message.replace(SUGGESTION, '');
            return message === error.message ? error : { ...error, message };
          });
        },
      };
    },
  };
}

import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import { authChecker } from './auth-checker';
import { AccessResolver } from '../resolvers/access.resolver';
import { AnalyticsResolver } from '../resolvers/analytics.resolver';
import { DeletionResolver } from '../resolvers/deletion.resolver';
import { FailedEventsResolver } from '../resolvers/failed-events.resolver';
import { HotResolver, ItemResolver } from '../resolvers/hot.resolver';
import { IdentityResolver } from '../resolvers/identity.resolver';
import { IngestResolver } from '../resolvers/ingest.resolver';

let schema: GraphQLSchema | undefined;

/**
 * Builds the executable schema once per process. Validation is explicit in the ingest service
 * (per event, so one bad event does not fail its batch), hence `validate: false` here.
 */
export function buildTributarySchema(): GraphQLSchema {
  schema ??= buildSchemaSync({
    resolvers: [
      IngestResolver,
      HotResolver,
      ItemResolver,
      IdentityResolver,
      AnalyticsResolver,
      FailedEventsResolver,
      AccessResolver,
      DeletionResolver,
    ],
    validate: false,
    authChecker,
    authMode: 'error',
  });
  return schema;
}

import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchemaSync, type PubSub } from 'type-graphql';
import { authChecker } from './auth-checker';
import { AccessResolver } from '../resolvers/access.resolver';
import { AnalyticsResolver } from '../resolvers/analytics.resolver';
import { DeletionResolver } from '../resolvers/deletion.resolver';
import { FailedEventsResolver } from '../resolvers/failed-events.resolver';
import { HotResolver, ItemResolver } from '../resolvers/hot.resolver';
import { IdentityResolver } from '../resolvers/identity.resolver';
import { IngestResolver } from '../resolvers/ingest.resolver';
import { LiveResolver } from '../resolvers/live.resolver';

let schema: GraphQLSchema | undefined;

/**
 * type-graphql wants a PubSub as soon as the schema has a subscription, though `liveEvents` reads
 * its own feed (`subscribe`) and no field names a topic: this one is never reached.
 */
const NO_TOPICS: PubSub = {
  publish: () => {
    throw new Error('subscriptions here read their own feed; no topic is published');
  },
  subscribe: () => {
    throw new Error('subscriptions here read their own feed; no topic is subscribed to');
  },
};

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
      LiveResolver,
    ],
    validate: false,
    authChecker,
    authMode: 'error',
    pubSub: NO_TOPICS,
  });
  return schema;
}

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config';
import type { SchemaRegistry } from '../events/schema-registry';
import type { Services } from './services';
import { DynamoDbDedupeStore } from '../sinks/hot-tier/dynamodb/dynamodb-dedupe-store';
import type { EventStreamProducer } from '../stream/port';
import type { HotStore } from '../sinks/hot-tier/port';
import type { Warehouse } from '../sinks/warehouse/port';
import { DynamoDbApiKeyStore } from '../access/dynamodb/dynamodb-api-key-store';
import { DynamoDbRateLimiter } from '../access/dynamodb/dynamodb-rate-limiter';
import { InMemoryRateLimiter } from '../access/memory/in-memory-rate-limiter';
import type { RateLimiter } from '../access/port';
import { DynamoDbDeletionRequestStore } from '../privacy/dynamodb/dynamodb-deletion-request-store';
import { DynamoDbSuppressionList } from '../privacy/dynamodb/dynamodb-suppression-list';
import { AccessService, type BootstrapKeys } from './access-service';
import { AnalyticsService } from './analytics-service';
import { CachedSuppressionList } from './cached-suppression-list';
import { DeletionService } from './deletion-service';
import type { DeletionWorker } from './deletion-runner';
import { FailedEventsService } from './failed-events-service';
import { IngestService, type LiveEdge } from './ingest-service';
import type { LiveFeed } from '../live/port';
import { ProfileService } from './profile-service';
import { RecommendationService } from './recommendation-service';

export interface ServiceDeps {
  config: Pick<
    Config,
    'events' | 'tableName' | 'access' | 'analyticsMaxRangeDays' | 'hotLimits' | 'identity'
  >;
  /** The bootstrap keys and the user-token secret, read once (Secrets Manager in AWS). */
  bootstrapKeys: () => Promise<BootstrapKeys>;
  logger?: Pick<Console, 'info' | 'warn' | 'error'>;
  producer: EventStreamProducer;
  schemas: SchemaRegistry;
  /** What GraphQL reads the hot tier through; usually a CachedHotStore (see hotReadCache). */
  hotReads: HotStore;
  dynamoDoc: DynamoDBDocumentClient;
  /** Undefined where no warehouse is configured: analytics then answer WAREHOUSE_UNAVAILABLE. */
  warehouse: Warehouse | undefined;
  /**
   * Runs deletion requests, where the erasers are (a DeletionRunner); undefined where none is
   * wired, and deleteUser then answers DELETIONS_UNAVAILABLE.
   */
  deletionRunner?: DeletionWorker;
  /**
   * The live view (docs/live.md): where the edge publishes its answers and, in a process that holds
   * the subscribers (the embedded stack), where `liveEvents` reads. Without it nothing is published
   * and `liveEvents` answers LIVE_UNAVAILABLE.
   */
  live?: LiveEdge & { feed?: LiveFeed };
}

/** The services resolvers call, wired the same way for the Lambda handler and the local stack. */
export function createServices(deps: ServiceDeps): Services {
  const { config, producer, warehouse, hotReads } = deps;
  const table = { client: deps.dynamoDoc, tableName: config.tableName };
  const limiter: RateLimiter =
    config.access.rateLimitStore === 'dynamodb' ? new DynamoDbRateLimiter(table) : new InMemoryRateLimiter();
  const profiles = new ProfileService(hotReads, config.hotLimits);
  // One object for the edge's checks and deleteUser's writes, so this process drops a person's
  // events from the moment deleteUser answers, whatever its cache held.
  const suppression = new CachedSuppressionList(new DynamoDbSuppressionList(table), {
    ttlMs: config.events.suppressionCacheMs,
  });
  return {
    access: new AccessService({
      store: new DynamoDbApiKeyStore(table),
      limiter,
      bootstrap: deps.bootstrapKeys,
      limits: config.access,
      logger: deps.logger,
    }),
    ingest: new IngestService({
      producer,
      schemas: deps.schemas,
      dedupe: config.events.edgeDedupe
        ? new DynamoDbDedupeStore({
            client: deps.dynamoDoc,
            tableName: config.tableName,
            ttlSeconds: config.events.edgeDedupeTtlSeconds,
          })
        : undefined,
      suppression,
      logger: deps.logger,
      live: deps.live,
    }),
    profiles,
    recommendations: new RecommendationService(hotReads, Date.now, (userId) => profiles.user(userId)),
    analytics: new AnalyticsService(warehouse, undefined, config.analyticsMaxRangeDays),
    failedEvents: new FailedEventsService(warehouse, producer),
    deletions: new DeletionService({
      requests: new DynamoDbDeletionRequestStore(table),
      suppression,
      profiles,
      identity: config.identity,
      runner: deps.deletionRunner,
    }),
    liveFeed: deps.live?.feed,
  };
}

import { CfnOutput, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { StageConfig } from './config';
import { Deletion } from './constructs/deletion';
import { Delivery } from './constructs/delivery';
import { EventStream } from './constructs/event-stream';
import { HotTier } from './constructs/hot-tier';
import { IngestApi } from './constructs/ingest-api';
import { Lake } from './constructs/lake';
import { Live } from './constructs/live';
import { Observability } from './constructs/observability';
import { StreamProcessor } from './constructs/stream-processor';
import { AthenaWarehouse } from './constructs/athena-warehouse';
import { EVENTS_TABLE_NAME } from './constructs/delivery';
import { Warehouse } from './constructs/warehouse';

export interface TributaryStackProps extends StackProps {
  readonly config: StageConfig;
}

/**
 * The whole pipeline in one stack: GraphQL edge → Kinesis → stream processor → Firehose/S3 lake → warehouse
 * (Athena over Iceberg tables, or Redshift Serverless; a scheduled load step either way), plus the DynamoDB hot
 * tier and the dashboard and alarms. One construct per concern.
 */
export class TributaryStack extends Stack {
  readonly eventStream: EventStream;
  readonly hotTier: HotTier;
  readonly lake: Lake;
  readonly delivery: Delivery;
  /** Redshift Serverless or Athena, as the stage's `warehouse.engine` says; the other is not deployed. */
  readonly warehouse: Warehouse | AthenaWarehouse;
  readonly ingestApi: IngestApi;
  readonly streamProcessor: StreamProcessor;
  readonly deletion: Deletion;
  /** The live view's WebSocket API; undefined where the stage turns it off (`live.enabled`). */
  readonly live: Live | undefined;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: TributaryStackProps) {
    super(scope, id, props);
    const { config } = props;
    const common = {
      logLevel: config.logLevel,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
    };

    this.eventStream = new EventStream(this, 'EventStream', {
      capacity: config.kinesis.capacity,
      retention: config.kinesis.retention,
      removalPolicy: config.removalPolicy,
    });
    this.hotTier = new HotTier(this, 'HotTier', {
      removalPolicy: config.removalPolicy,
      deletionProtection: config.removalPolicy === RemovalPolicy.RETAIN,
      capacity: config.hotTier.capacity,
    });
    this.lake = new Lake(this, 'Lake', {
      removalPolicy: config.removalPolicy,
      versioned: config.lake.versioned,
      accessLogsExpiration: config.lake.accessLogsExpiration,
      retention: {
        eventsDays: config.retention.lakeDays,
        failedEventsDays: config.retention.failedEventsDays,
      },
    });
    this.delivery = new Delivery(this, 'Delivery', {
      bucket: this.lake.bucket,
      bufferingInterval: config.firehose.bufferingInterval,
      bufferingSize: config.firehose.bufferingSize,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });
    const loadGate = {
      minPendingBytes: config.warehouse.minPendingBytes,
      maxPendingAge: config.warehouse.freshness,
    };
    const warehouseRetention = {
      eventsDays: config.retention.warehouseDays,
      failedEventsDays: config.retention.failedEventsDays,
    };
    this.warehouse =
      config.warehouse.engine === 'athena'
        ? new AthenaWarehouse(this, 'Warehouse', {
            ...common,
            name: `tributary-${config.stage}`,
            lake: this.lake.bucket,
            accessLogsBucket: this.lake.accessLogsBucket,
            source: { databaseName: this.delivery.lakeDatabaseName, tableName: EVENTS_TABLE_NAME },
            loadInterval: config.warehouse.loadInterval,
            bytesScannedCutoffPerQuery: config.warehouse.athena.bytesScannedCutoffPerQuery,
            resultsRetention: config.warehouse.athena.resultsRetention,
            loadGate,
            retention: warehouseRetention,
          })
        : new Warehouse(this, 'Warehouse', {
            ...common,
            name: `tributary-${config.stage}`,
            lake: this.lake.bucket,
            database: config.warehouse.database,
            baseCapacity: config.warehouse.redshift.baseCapacity,
            maxCapacity: config.warehouse.redshift.maxCapacity,
            loadInterval: config.warehouse.loadInterval,
            loadGate,
            retention: warehouseRetention,
          });
    this.ingestApi = new IngestApi(this, 'IngestApi', {
      ...common,
      stream: this.eventStream.stream,
      table: this.hotTier.table,
      warehouse: this.warehouse,
      throttleRateLimit: config.api.throttleRateLimit,
      throttleBurstLimit: config.api.throttleBurstLimit,
    });
    this.streamProcessor = new StreamProcessor(this, 'StreamProcessor', {
      ...common,
      stream: this.eventStream.stream,
      table: this.hotTier.table,
      eventsDelivery: this.delivery.events,
      failedDelivery: this.delivery.failed,
      batch: config.batch,
      profileIdleDays: config.retention.profileIdleDays,
      foldInterval: config.hotTier.foldInterval,
    });
    this.deletion = new Deletion(this, 'Deletion', {
      ...common,
      table: this.hotTier.table,
      lake: this.lake.bucket,
      warehouse: this.warehouse,
    });
    this.deletion.grantWake(this.ingestApi.handler);
    this.live = config.live.enabled
      ? new Live(this, 'Live', {
          ...common,
          hotTable: this.hotTier.table,
          secrets: {
            apiKey: this.ingestApi.apiKeySecret,
            writeKey: this.ingestApi.writeKeySecret,
            userToken: this.ingestApi.userTokenSecret,
          },
          throttleRateLimit: config.live.throttleRateLimit,
          throttleBurstLimit: config.live.throttleBurstLimit,
          maxSubscriptions: config.live.maxSubscriptions,
        })
      : undefined;
    this.live?.grantPublish(this.ingestApi.handler);
    this.live?.grantPublish(this.streamProcessor.handler);
    // The edge's live events hash personal values with the stream's key, so a value shows the pseudonym
    // the lake and the stream's FAILED events show. Without the live view the graphql function has no use for it.
    if (this.live) this.streamProcessor.grantPiiKey(this.ingestApi.handler);
    // Every function that links ids (stream), counts persons (API, loader) or erases a person, and
    // the fold, which builds the hot store as the stream does.
    for (const fn of [
      this.ingestApi.handler,
      this.streamProcessor.handler,
      this.streamProcessor.fold,
      this.warehouse.loader,
      this.deletion.handler,
    ]) {
      for (const [name, value] of Object.entries(identityEnvironment(config.identity))) {
        fn.function.addEnvironment(name, value);
      }
    }
    this.observability = new Observability(this, 'Observability', {
      dashboardName: `Tributary-${config.stage}`,
      api: this.ingestApi.api,
      stream: this.eventStream.stream,
      streamProcessor: this.streamProcessor.handler.function,
      deadLetterQueue: this.streamProcessor.deadLetterQueue,
      functions: {
        Graphql: this.ingestApi.handler.function,
        Stream: this.streamProcessor.handler.function,
        WarehouseLoad: this.warehouse.loader.function,
      },
      serialFunctions: {
        Deletion: { fn: this.deletion.handler.function, interval: this.deletion.retryInterval },
        HotFold: { fn: this.streamProcessor.fold.function, interval: this.streamProcessor.foldInterval },
      },
      deliveryStreams: { Events: this.delivery.events, Failed: this.delivery.failed },
      table: this.hotTier.table,
      tableProvisioned: this.hotTier.capacity.mode === 'PROVISIONED',
      quarantinedLakeFiles: this.warehouse instanceof Warehouse ? this.warehouse.quarantinedFiles : undefined,
      thresholds: config.alarms,
      removalPolicy: config.removalPolicy,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.ingestApi.graphqlUrl, description: 'GraphQL endpoint' });
    new CfnOutput(this, 'PlaygroundUrl', {
      value: this.ingestApi.playgroundUrl,
      description: 'GraphQL playground',
    });
    new CfnOutput(this, 'ConsoleUrl', {
      value: this.ingestApi.consoleUrl,
      description: 'Console: live tail and charts',
    });
    new CfnOutput(this, 'ApiKeySecretArn', {
      value: this.ingestApi.apiKeySecret.secretArn,
      description: 'Secrets Manager secret holding the bootstrap SECRET key (send it as x-api-key)',
    });
    new CfnOutput(this, 'WriteKeySecretArn', {
      value: this.ingestApi.writeKeySecret.secretArn,
      description: 'Secrets Manager secret holding the bootstrap WRITE key (publishable, for trackers)',
    });
    new CfnOutput(this, 'UserTokenSecretArn', {
      value: this.ingestApi.userTokenSecret.secretArn,
      description: 'Secrets Manager secret holding the key your servers sign user tokens with',
    });
    if (this.live) {
      new CfnOutput(this, 'LiveUrl', {
        value: this.live.url,
        description: 'graphql-ws endpoint of the live view (liveEvents; docs/live.md#in-aws)',
      });
    }
    new CfnOutput(this, 'StreamName', { value: this.eventStream.stream.streamName });
    new CfnOutput(this, 'TableName', { value: this.hotTier.table.tableName });
    new CfnOutput(this, 'LakeBucketName', { value: this.lake.bucket.bucketName });
    if (this.warehouse instanceof Warehouse) {
      new CfnOutput(this, 'WarehouseWorkgroup', {
        value: this.warehouse.workgroup.workgroupName,
        description: 'Redshift Serverless workgroup (query it in the Redshift console or with the Data API)',
      });
      new CfnOutput(this, 'WarehouseAdminSecretArn', { value: this.warehouse.adminSecret.secretArn });
    } else {
      new CfnOutput(this, 'WarehouseWorkgroup', {
        value: this.warehouse.workgroup.name,
        description: 'Athena workgroup (query the warehouse database in the Athena console with it)',
      });
      new CfnOutput(this, 'WarehouseDatabase', { value: this.warehouse.databaseName });
    }
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.observability.topic.topicArn,
      description: 'Subscribe to get alarm notifications',
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.observability.dashboard.dashboardName}`,
    });
  }

  /**
   * Three Availability Zones whatever the environment: an env-agnostic stack otherwise gets two, and Redshift
   * Serverless needs subnets in three (an Athena stage has no VPC, so this changes nothing there). Fn::GetAZs resolves at deploy time, so synth needs no lookup.
   */
  override get availabilityZones(): string[] {
    return [0, 1, 2].map((index) => Fn.select(index, Fn.getAzs()));
  }
}

/** The identity settings as the functions read them (src/config.ts); empty lists are left unset. */
export function identityEnvironment(identity: StageConfig['identity']): Record<string, string> {
  return {
    TRIBUTARY_IDENTITY_MAX_ANONYMOUS_IDS: String(identity.maxAnonymousIds),
    ...(identity.blocklist.length > 0 && { TRIBUTARY_IDENTITY_BLOCKLIST: identity.blocklist.join(',') }),
    ...(identity.mergeSources.length > 0 && {
      TRIBUTARY_IDENTITY_MERGE_SOURCES: identity.mergeSources.join(','),
    }),
  };
}

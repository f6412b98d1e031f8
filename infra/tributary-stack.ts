import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { StageConfig } from './config';
import { Delivery } from './constructs/delivery';
import { EventStream } from './constructs/event-stream';
import { HotTier } from './constructs/hot-tier';
import { IngestApi } from './constructs/ingest-api';
import { Lake } from './constructs/lake';
import { StreamProcessor } from './constructs/stream-processor';

export interface TributaryStackProps extends StackProps {
  readonly config: StageConfig;
}

/**
 * The whole pipeline in one stack: GraphQL edge → Kinesis → stream processor → Firehose/S3 lake + DynamoDB hot tier.
 * Each concern is one construct; later ones (warehouse, scheduled load, observability) plug into the public fields.
 */
export class TributaryStack extends Stack {
  readonly eventStream: EventStream;
  readonly hotTier: HotTier;
  readonly lake: Lake;
  readonly delivery: Delivery;
  readonly ingestApi: IngestApi;
  readonly streamProcessor: StreamProcessor;

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
    });
    this.lake = new Lake(this, 'Lake', {
      removalPolicy: config.removalPolicy,
      versioned: config.lake.versioned,
      accessLogsExpiration: config.lake.accessLogsExpiration,
    });
    this.delivery = new Delivery(this, 'Delivery', {
      bucket: this.lake.bucket,
      bufferingInterval: config.firehose.bufferingInterval,
      bufferingSize: config.firehose.bufferingSize,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.ingestApi = new IngestApi(this, 'IngestApi', {
      ...common,
      stream: this.eventStream.stream,
      table: this.hotTier.table,
      corsOrigins: config.api.corsOrigins,
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
    });

    new CfnOutput(this, 'ApiUrl', { value: this.ingestApi.graphqlUrl, description: 'GraphQL endpoint' });
    new CfnOutput(this, 'PlaygroundUrl', {
      value: this.ingestApi.playgroundUrl,
      description: 'GraphQL playground',
    });
    new CfnOutput(this, 'ApiKeySecretArn', {
      value: this.ingestApi.apiKeySecret.secretArn,
      description: 'Secrets Manager secret holding the API key (send it as x-api-key)',
    });
    new CfnOutput(this, 'StreamName', { value: this.eventStream.stream.streamName });
    new CfnOutput(this, 'TableName', { value: this.hotTier.table.tableName });
    new CfnOutput(this, 'LakeBucketName', { value: this.lake.bucket.bucketName });
  }
}

import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StageConfig } from '../config';
import { TributaryFunction, checkedSchemas } from './lambda-function';
import { suppressedEventsMetric } from './suppressed-events-metric';

export interface StreamProcessorProps {
  readonly stream: kinesis.IStream;
  readonly table: dynamodb.ITable;
  readonly eventsDelivery: firehose.IDeliveryStream;
  readonly failedDelivery: firehose.IDeliveryStream;
  readonly batch: StageConfig['batch'];
  /** Days after an id's last event that its profile and identity expire (DynamoDB TTL). */
  readonly profileIdleDays: number;
  /** How often the fold function applies the pending item and trend changes. */
  readonly foldInterval: Duration;
  readonly logLevel: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** The stream Lambda's memory (the cost model reads it too). */
export const STREAM_MEMORY_MB = 1024;

/** The fold function's memory: one fold's items and trends take tens of MB (exported for the cost model). */
export const HOT_FOLD_MEMORY_MB = 512;
/**
 * Room for several folds in one run when a backlog built up; the handler starts no fold with less
 * than 20 s left (src/handlers/hot-fold.ts) and leaves the rest to the next run.
 */
export const HOT_FOLD_TIMEOUT = Duration.minutes(5);

/**
 * What a function needs to build the hot store as the stream does (src/handlers/stream.ts): the
 * table, and the profiles' expiry. The identity settings come from the stack, with the other
 * functions' (identityEnvironment).
 */
function hotStoreEnvironment(
  props: Pick<StreamProcessorProps, 'table' | 'profileIdleDays'>,
): Record<string, string> {
  return {
    TRIBUTARY_TABLE_NAME: props.table.tableName,
    TRIBUTARY_RETENTION_PROFILE_IDLE_DAYS: String(props.profileIdleDays),
  };
}

/**
 * The stream Lambda behind the Kinesis event source mapping. Partial batch failures plus bisecting keep a
 * poison record from blocking its shard; records that exhaust their retries land in an SQS DLQ (as shard
 * pointers, not payloads: the data stays replayable from the stream for its retention period).
 *
 * The stream writes item and trend changes to a pending log in the hot table; the fold function,
 * on a schedule, applies them to the items and trends, one write per item or trend per fold.
 */
export class StreamProcessor extends Construct {
  readonly handler: TributaryFunction;
  /** The fold function (src/handlers/hot-fold.ts), one instance at a time. */
  readonly fold: TributaryFunction;
  readonly foldSchedule: events.Rule;
  /** How often the schedule runs the fold. */
  readonly foldInterval: Duration;
  readonly deadLetterQueue: sqs.Queue;
  /** The HMAC key for `x-pii` fields: pseudonyms must stay stable across Lambda environments. */
  readonly piiSecret: secretsmanager.Secret;
  /** Records the processor dropped because they name a suppressed id. */
  readonly suppressedEvents: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: StreamProcessorProps) {
    super(scope, id);

    this.piiSecret = new secretsmanager.Secret(this, 'PiiKey', {
      description:
        'Tributary HMAC-SHA-256 key that pseudonymises x-pii event fields; read by the stream Lambda and, for the live view, the graphql Lambda',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      // Losing the key would change every pseudonym: keep it even when the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.piiSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the PII key would give the same person a new pseudonym and split their history; it is rotated only deliberately, by hand.',
    });

    const schemas = checkedSchemas();
    this.handler = new TributaryFunction(this, 'Handler', {
      entry: 'src/handlers/stream.ts',
      description: 'Tributary stream processor: validate, enrich, route Kinesis records',
      serviceName: 'tributary-stream',
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      memorySize: STREAM_MEMORY_MB,
      timeout: Duration.minutes(1),
      environment: {
        TRIBUTARY_STREAM_NAME: props.stream.streamName,
        TRIBUTARY_EVENTS_DELIVERY_STREAM: props.eventsDelivery.deliveryStreamName,
        TRIBUTARY_FAILED_DELIVERY_STREAM: props.failedDelivery.deliveryStreamName,
        ...hotStoreEnvironment(props),
        ...schemas.environment,
      },
      // The event JSON Schemas, read at cold start from `schemas/` beside the bundle.
      bundledFiles: schemas.bundledFiles,
    });
    const fn = this.handler.function;
    this.grantPiiKey(this.handler);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the on-failure destination of the Kinesis event source mapping; a DLQ of a DLQ adds nothing.',
    });

    fn.addEventSource(
      new KinesisEventSource(props.stream, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.batch.batchSize,
        maxBatchingWindow: props.batch.maxBatchingWindow,
        parallelizationFactor: props.batch.parallelizationFactor,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: props.batch.retryAttempts,
        maxRecordAge: props.batch.maxRecordAge,
        onFailure: new SqsDlq(this.deadLetterQueue),
      }),
    );

    props.eventsDelivery.grantPutRecords(fn);
    props.failedDelivery.grantPutRecords(fn);
    // Hot-tier writes, and the suppression list's reads.
    props.table.grantReadWriteData(fn);
    this.suppressedEvents = suppressedEventsMetric(this, this.handler.logGroup, 'stream');

    this.foldInterval = props.foldInterval;
    this.fold = new TributaryFunction(this, 'Fold', {
      entry: 'src/handlers/hot-fold.ts',
      description: 'Tributary hot-tier fold: apply the pending item and trend changes',
      serviceName: 'tributary-hot-fold',
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      memorySize: HOT_FOLD_MEMORY_MB,
      timeout: HOT_FOLD_TIMEOUT,
      // One fold at a time is enough: two are safe (per-shard watermarks) but read the same log twice.
      reservedConcurrentExecutions: 1,
      environment: hotStoreEnvironment(props),
    });
    // The pending log, items and trends: reads, conditional writes, deletes of what was folded.
    props.table.grantReadWriteData(this.fold.function);
    // A failed fold is not retried out of schedule: the next run folds everything still pending.
    this.fold.function.configureAsyncInvoke({ retryAttempts: 0 });
    this.foldSchedule = new events.Rule(this, 'FoldSchedule', {
      description: "Folds the hot tier's pending item and trend changes into the items and trends",
      schedule: events.Schedule.rate(props.foldInterval),
      targets: [new targets.LambdaFunction(this.fold.function, { retryAttempts: 2 })],
    });
  }

  /**
   * Lets `fn` pseudonymise with this key (TRIBUTARY_PII_SECRET_ARN, and read on the secret): every
   * function that shows or stores a personal value must give it the pseudonym the lake holds.
   */
  grantPiiKey(fn: TributaryFunction): void {
    fn.function.addEnvironment('TRIBUTARY_PII_SECRET_ARN', this.piiSecret.secretArn);
    this.piiSecret.grantRead(fn.function);
  }
}

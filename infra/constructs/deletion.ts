import { CfnElement, Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EVENTS_PREFIX_ROOT, FAILED_PREFIX_ROOT } from './delivery';
import { TributaryFunction } from './lambda-function';
import type { WarehouseErasure } from './warehouse';

export interface DeletionProps {
  /** The hot table: deletion requests, and the hot tier's items to erase. */
  readonly table: dynamodb.ITable;
  /** The lake bucket whose events/ and failed/ files are erased. */
  readonly lake: s3.IBucket;
  /** The warehouse to erase people from, after the lake; without it, requests have no warehouse step. */
  readonly warehouse?: WarehouseErasure;
  /** How often the schedule retries failed steps and finishes interrupted ones. */
  readonly retryInterval?: Duration;
  readonly logLevel: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** Lambda's longest run: a step must fit in one, since a step cut short starts again from nothing. */
export const DELETION_TIMEOUT = Duration.minutes(15);
/** DuckDB rewrites the lake's Parquet files in memory, and Lambda's CPU grows with memory (the cost model reads it). */
export const DELETION_MEMORY_MB = 2048;
/** The lake eraser takes 4 files at once and needs room for twice each one in /tmp. */
export const DELETION_EPHEMERAL_STORAGE = Size.gibibytes(2);
export const DELETION_RETRY_INTERVAL = Duration.minutes(15);

/**
 * The deletion function (src/handlers/deletion.ts): it runs the deletion requests deleteUser stores in
 * the hot table, erasing each person from the hot tier, the lake and the warehouse. The GraphQL function wakes it
 * for each new request (grantWake), and a schedule runs it to retry failed steps and finish the ones
 * a timeout cut short. One instance at a time: two would erase the same step at once.
 */
export class Deletion extends Construct {
  readonly handler: TributaryFunction;
  readonly schedule: events.Rule;
  /** How often the schedule runs the function. */
  readonly retryInterval: Duration;

  constructor(scope: Construct, id: string, props: DeletionProps) {
    super(scope, id);
    this.retryInterval = props.retryInterval ?? DELETION_RETRY_INTERVAL;
    this.handler = new TributaryFunction(this, 'Handler', {
      entry: 'src/handlers/deletion.ts',
      description: 'Tributary deletion: erase people from the hot tier, the lake and the warehouse',
      serviceName: 'tributary-deletion',
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      memorySize: DELETION_MEMORY_MB,
      timeout: DELETION_TIMEOUT,
      ephemeralStorageSize: DELETION_EPHEMERAL_STORAGE,
      reservedConcurrentExecutions: 1,
      // DuckDB reads and rewrites the lake's Parquet files; its binary cannot be bundled.
      nodeModules: ['@duckdb/node-api'],
      environment: {
        TRIBUTARY_TABLE_NAME: props.table.tableName,
        TRIBUTARY_LAKE_BUCKET: props.lake.bucketName,
        ...props.warehouse?.environment,
      },
    });
    const fn = this.handler.function;
    // A failed run is not retried at once: the schedule runs every unfinished request again.
    fn.configureAsyncInvoke({ retryAttempts: 0 });

    // Requests: get, put, query, delete. The hot tier's erasure: batch reads and deletes, a scan for
    // link claims, conditional puts of the identities it scrubs. The lake's steps: batch reads and
    // deletes of the messageId markers (edge dedupe, hot-tier claims) of the records they remove.
    props.table.grant(
      fn,
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
    );
    this.grantLakeErasure(props.lake);
    props.warehouse?.grantDelete(this.handler.role);

    this.schedule = new events.Rule(this, 'RetrySchedule', {
      description: 'Runs unfinished deletion requests: retries failed steps, finishes interrupted ones',
      schedule: events.Schedule.rate(this.retryInterval),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2 })],
    });
  }

  /**
   * Lets `fn` wake the deletion function (an asynchronous invoke of this function only) and tells it
   * which function that is (TRIBUTARY_DELETION_FUNCTION).
   */
  grantWake(fn: TributaryFunction): void {
    fn.function.addEnvironment('TRIBUTARY_DELETION_FUNCTION', this.handler.function.functionName);
    // The unqualified ARN only: CDK's grantInvoke adds every version and alias (`<arn>:*`) too.
    iam.Grant.addToPrincipal({
      grantee: fn.role,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.handler.function.functionArn],
    });
  }

  /**
   * Reading, rewriting and deleting the events/ and failed/ files and their versions (the prod bucket
   * is versioned), and listing their versions under those prefixes only.
   */
  private grantLakeErasure(lake: s3.IBucket): void {
    const role = this.handler.role;
    const prefixes = [EVENTS_PREFIX_ROOT, FAILED_PREFIX_ROOT];
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: [
        's3:GetObject',
        's3:GetObjectVersion',
        's3:PutObject',
        's3:DeleteObject',
        's3:DeleteObjectVersion',
      ],
      resourceArns: prefixes.map((prefix) => lake.arnForObjects(`${prefix}*`)),
    });
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['s3:ListBucket', 's3:ListBucketVersions'],
      resourceArns: [lake.bucketArn],
      conditions: { StringLike: { 's3:prefix': prefixes.map((prefix) => `${prefix}*`) } },
    });
    lake.encryptionKey?.grantEncryptDecrypt(role);
    const cfnBucket = lake.node.defaultChild;
    if (cfnBucket instanceof CfnElement) {
      const arn = `<${Stack.of(this).getLogicalId(cfnBucket)}.Arn>`;
      for (const prefix of prefixes) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${arn}/${prefix}*]`,
          reason:
            "The deletion function reads and rewrites every file under the lake prefixes it erases, the events/ and failed/ objects of the one lake bucket; the file names are Firehose's own.",
        });
      }
    }
  }
}

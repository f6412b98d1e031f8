import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { ConfigError, loadConfig } from '../config';
import { createDynamoDbDocumentClient, createS3Client } from '../aws/clients';
import { DynamoDbDeletionRequestStore } from '../privacy/dynamodb/dynamodb-deletion-request-store';
import { DeletionStuckError } from '../privacy/errors';
import type { DeletionRequest, PersonEraser } from '../privacy/port';
import { DeletionRunner } from '../services/deletion-runner';
import { hotTierPersonEraser } from '../services/hot-tier-person-eraser';
import { DynamoDbHotStore } from '../sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { S3LakeEraser } from '../sinks/lake/firehose/s3-lake-eraser';
import { createRedshiftDataApi } from '../sinks/warehouse/redshift/redshift-data-api';
import { RedshiftWarehouse } from '../sinks/warehouse/redshift/redshift-warehouse';
import { WarehousePersonEraser } from '../sinks/warehouse/warehouse-person-eraser';
import { awsDeletionStores } from './deletion-stores';

/**
 * No step starts with less time left than this: one cut short by the function's timeout loses its
 * work and fails the invocation (the next one runs it again, from the start).
 */
export const STEP_START_MARGIN_MS = 5 * 60_000;

/**
 * A warehouse statement still running after this long is cancelled: a step started at the margin
 * then ends before the function's timeout, which would leave the statement running, and billed, with
 * nobody waiting for it.
 */
export const WAREHOUSE_STATEMENT_TIMEOUT_MS = STEP_START_MARGIN_MS - 30_000;

/**
 * A step whose last this many attempts failed (an hour of the 15-minute schedule) is no passing
 * outage: the invocation fails, so the function's error alarm calls someone.
 */
export const STUCK_AFTER_ATTEMPTS = 4;

/** What one run left behind. */
export interface DeletionRunReport {
  /** Requests not COMPLETED: a failed step waits for the next run, as does a step the margin held back. */
  unfinished: number;
  /** Whether the margin stopped the run before every request had its turn. */
  stoppedEarly: boolean;
}

// Built once per execution environment, reused by every invocation.
const config = loadConfig();
const logger = new Logger({ serviceName: 'tributary-deletion' });
const lakeBucket = config.deletion.lakeBucket;
if (lakeBucket === undefined) {
  throw new ConfigError('TRIBUTARY_LAKE_BUCKET must be set for the deletion function');
}
const dynamoDoc = createDynamoDbDocumentClient(config);
const s3 = createS3Client(config);
const requests = new DynamoDbDeletionRequestStore({ client: dynamoDoc, tableName: config.tableName });
const erasers: readonly PersonEraser[] = [
  hotTierPersonEraser(
    new DynamoDbHotStore({ client: dynamoDoc, tableName: config.tableName, identity: config.identity }),
  ),
  new S3LakeEraser({ client: s3, bucket: lakeBucket, records: 'events' }),
  new S3LakeEraser({ client: s3, bucket: lakeBucket, records: 'failed' }),
  // No secret: the Data API signs in as the function's own database user (IAM), never as the admin.
  ...(config.redshift
    ? [
        new WarehousePersonEraser(
          new RedshiftWarehouse({
            api: createRedshiftDataApi(
              { aws: config.aws, redshift: config.redshift },
              { timeoutMs: WAREHOUSE_STATEMENT_TIMEOUT_MS },
            ),
            identity: config.identity,
          }),
        ),
      ]
    : []),
];
const stores = awsDeletionStores(config);
if (erasers.map((eraser) => eraser.store).join() !== stores.join()) {
  throw new Error(
    `the deletion function erases ${erasers.map((eraser) => eraser.store).join(', ')}, but requests are made with steps ${stores.join(', ')}`,
  );
}

/** Steps that failed STUCK_AFTER_ATTEMPTS times or more, as `<request> <store> (<attempts>): <why>`. */
function stuckSteps(unfinished: readonly DeletionRequest[]): string[] {
  return unfinished.flatMap((request) =>
    request.steps
      .filter((step) => step.status === 'FAILED' && step.attempts >= STUCK_AFTER_ATTEMPTS)
      .map((step) => `${request.id} ${step.store} (${step.attempts} attempts): ${step.detail ?? ''}`),
  );
}

/**
 * Runs the unfinished deletion requests (docs/privacy.md#deletion), oldest first, until each has
 * completed or failed a step, or until STEP_START_MARGIN_MS before the timeout, then returns. Woken
 * by the GraphQL function when deleteUser stores a request, and by a schedule that retries failed
 * steps and finishes interrupted ones. The function runs one instance at a time (reserved
 * concurrency 1): two runners would erase the same step at once.
 */
export const handler = async (
  _event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<DeletionRunReport> => {
  // A runner per invocation: its retry timers would not survive the environment's freeze, and the
  // schedule retries instead.
  const runner = new DeletionRunner({ store: requests, erasers, logger });
  let stoppedEarly = false;
  const stop = setTimeout(
    () => {
      stoppedEarly = true;
      // No new step starts; the one in progress ends, or the timeout cuts it and the next run repeats it.
      void runner.close();
    },
    Math.max(0, context.getRemainingTimeInMillis() - STEP_START_MARGIN_MS),
  );
  try {
    await runner.resume();
  } finally {
    clearTimeout(stop);
    await runner.close();
  }

  const unfinished = await requests.unfinished();
  const report: DeletionRunReport = { unfinished: unfinished.length, stoppedEarly };
  logger.info('deletion run ended', { ...report });
  const stuck = stuckSteps(unfinished);
  if (stuck.length > 0) {
    throw new DeletionStuckError(`deletion steps keep failing: ${stuck.join('; ')}`);
  }
  return report;
};

import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { ConfigError, loadConfig } from '../config';
import { createDynamoDbDocumentClient } from '../aws/clients';
import { createS3Client } from '../aws/s3-client';
import { DynamoDbDeletionRequestStore } from '../privacy/dynamodb/dynamodb-deletion-request-store';
import { DeletionStuckError } from '../privacy/errors';
import type { DeletionRequest, PersonEraser } from '../privacy/port';
import { DeletionRunner } from '../services/deletion-runner';
import { hotTierPersonEraser } from '../services/hot-tier-person-eraser';
import { hotStoreFromConfig } from '../sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { DynamoDbMessageMarkers } from '../privacy/dynamodb/dynamodb-message-markers';
import { S3LakeEraser } from '../sinks/lake/firehose/s3-lake-eraser';
import { WarehousePersonEraser } from '../sinks/warehouse/warehouse-person-eraser';
import { awsDeletionStores } from './deletion-stores';
import { createWarehouse } from './warehouse-engine';

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
// The edge dedupe markers and the hot tier's claims, both in the hot table.
const markers = new DynamoDbMessageMarkers({ client: dynamoDoc, tableName: config.tableName });
// Signed in as the function's own IAM role: never the Redshift admin; on Athena, its tables' deletes only.
const warehouse = createWarehouse(config, { timeoutMs: WAREHOUSE_STATEMENT_TIMEOUT_MS });
const erasers: readonly PersonEraser[] = [
  hotTierPersonEraser(hotStoreFromConfig(dynamoDoc, config)),
  new S3LakeEraser({ client: s3, bucket: lakeBucket, records: 'events', markers }),
  new S3LakeEraser({ client: s3, bucket: lakeBucket, records: 'failed', markers }),
  ...(warehouse ? [new WarehousePersonEraser(warehouse)] : []),
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

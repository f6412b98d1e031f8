import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError, type Config } from '../config';
import { S3LakeLister } from '../sinks/lake/firehose/s3-lake-lister';
import { QUARANTINED_FILES_LOG_FIELD, S3LakeQuarantine } from '../sinks/lake/firehose/s3-lake-quarantine';
import { S3LoadStateStore } from '../sinks/lake/firehose/s3-load-state';
import { LoadGate, type SkippedRun } from '../sinks/warehouse/load-gate';
import { createRedshiftDataApi } from '../sinks/warehouse/redshift/redshift-data-api';
import { RedshiftLakeCopy } from '../sinks/warehouse/redshift/redshift-lake-copy';
import { RedshiftWarehouse, type RedshiftLoadReport } from '../sinks/warehouse/redshift/redshift-warehouse';

/** A merge may take minutes on a large backlog; the function's timeout must exceed this. */
export const MERGE_TIMEOUT_MS = 5 * 60_000;

export interface RedshiftLoadEvent {
  /** List the whole lake instead of the recent partitions, and load whatever the gate says. */
  fullListing?: boolean;
}

/**
 * The Redshift load step, gated: each run first lists the lake files stored since the last load
 * (docs/warehouse.md#when-the-load-step-loads). Below TRIBUTARY_LOAD_MIN_PENDING_BYTES, all
 * younger than TRIBUTARY_LOAD_MAX_PENDING_MINUTES and the last load less than a day ago, the
 * run ends there and the workgroup stays asleep: each wake-up is billed at least 60 s at its base
 * RPUs. Otherwise it brings the schema and the reader's and deleter's access up to date, COPYs the
 * files not loaded yet into staging, merges, and purges what the retention limits expire.
 */
export function redshiftLoad(
  config: Config,
  s3: S3Client,
  logger: Logger,
): (event?: RedshiftLoadEvent) => Promise<RedshiftLoadReport | SkippedRun> {
  const redshift = config.redshift;
  if (redshift === undefined) {
    throw new ConfigError('TRIBUTARY_REDSHIFT_WORKGROUP must be set for the Redshift load step');
  }
  const bucket = redshift.lakeBucket;
  if (bucket === undefined)
    throw new ConfigError('TRIBUTARY_LAKE_BUCKET must be set for the warehouse load step');
  const lister = new S3LakeLister({ client: s3, bucket });
  const api = createRedshiftDataApi({ aws: config.aws, redshift }, { timeoutMs: MERGE_TIMEOUT_MS });
  const warehouse = new RedshiftWarehouse({
    api,
    lakeCopy: new RedshiftLakeCopy({
      api,
      lister,
      quarantine: new S3LakeQuarantine({ client: s3, bucket }),
      role: redshift.copyRoleArn === undefined ? 'default' : { arn: redshift.copyRoleArn },
      lookbackHours: redshift.lakeLookbackHours,
      maxFilesPerRun: redshift.copyMaxFiles,
    }),
    identity: config.identity,
    retention: {
      eventsDays: config.retention.warehouseDays,
      failedEventsDays: config.retention.failedEventsDays,
    },
  });
  const gate = new LoadGate({
    lister,
    state: new S3LoadStateStore({ client: s3, bucket }),
    minPendingBytes: config.warehouseLoad.minPendingBytes,
    maxPendingAgeMs: config.warehouseLoad.maxPendingAgeMs,
  });
  const { readerUser, deleterUser } = redshift;

  /** Schema up to date, then the API's user made a reader and the deletion function's an eraser. */
  async function prepare(): Promise<void> {
    const versions = await warehouse.migrate();
    if (versions.length > 0) logger.info('applied warehouse migrations', { versions });
    if (readerUser !== undefined) {
      const changes = await warehouse.grantReader(readerUser);
      if (changes.length > 0) logger.info('gave the API reader its access', { user: readerUser, changes });
    }
    if (deleterUser !== undefined) {
      const changes = await warehouse.grantEraser(deleterUser);
      if (changes.length > 0)
        logger.info('gave the deletion function its access', { user: deleterUser, changes });
    }
  }

  // Once per environment, and only once a run loads; a failed attempt is forgotten so the next tries again.
  let prepared: Promise<void> | undefined;

  return async (event) => {
    const fullListing = event?.fullListing === true;
    const decision = await gate.check();
    const { load, reason, ...pending } = decision;
    if (!load && !fullListing) {
      logger.info('nothing worth waking the warehouse for yet', { ...pending });
      return { skipped: true, ...pending };
    }
    prepared ??= prepare().catch((error: unknown) => {
      prepared = undefined;
      throw error;
    });
    await prepared;
    const report = await warehouse.loadNew({ fullListing });
    await gate.loaded(decision, report.pendingFiles === 0);
    if (report.skippedKeys.length > 0) {
      logger.warn('lake keys that are not Firehose data files were not loaded', { keys: report.skippedKeys });
    }
    if (report.quarantined.length > 0) {
      // The stack's metric filter counts this field, and an alarm watches the count.
      logger.error('lake files that COPY cannot load were moved to quarantine', {
        [QUARANTINED_FILES_LOG_FIELD]: report.quarantined.length,
        files: report.quarantined,
      });
    }
    logger.info('loaded lake files', {
      reason: reason ?? 'asked',
      files: report.files,
      pendingFiles: report.pendingFiles,
      rows: report.rows,
      purgedEvents: report.purged.events,
      purgedFailedEvents: report.purged.failedEvents,
    });
    return report;
  };
}

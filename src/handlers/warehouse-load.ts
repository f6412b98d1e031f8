import { Logger } from '@aws-lambda-powertools/logger';
import { ConfigError, loadConfig } from '../config';
import { createS3Client } from '../aws/clients';
import { createRedshiftDataApi } from '../sinks/warehouse/redshift/redshift-data-api';
import { RedshiftLakeCopy } from '../sinks/warehouse/redshift/redshift-lake-copy';
import { RedshiftWarehouse } from '../sinks/warehouse/redshift/redshift-warehouse';
import type { RedshiftLoadReport } from '../sinks/warehouse/redshift/redshift-warehouse';
import { S3LakeLister } from '../sinks/lake/firehose/s3-lake-lister';
import { QUARANTINED_FILES_LOG_FIELD, S3LakeQuarantine } from '../sinks/lake/firehose/s3-lake-quarantine';

/** A merge may take minutes on a large backlog; the function's timeout must exceed this. */
export const MERGE_TIMEOUT_MS = 5 * 60_000;

/** What an on-demand invocation may ask for; the schedule's own event carries none of it. */
export interface WarehouseLoadEvent {
  /** List the whole lake instead of the recent partitions, to pick up files older than the lookback. */
  fullListing?: boolean;
}

// Built once per execution environment, reused by every invocation.
const config = loadConfig();
const logger = new Logger({ serviceName: 'tributary-warehouse-load' });
if (!config.redshift) {
  throw new ConfigError('TRIBUTARY_REDSHIFT_WORKGROUP must be set for the warehouse load function');
}
if (config.redshift.lakeBucket === undefined) {
  throw new ConfigError('TRIBUTARY_LAKE_BUCKET must be set for the warehouse load function');
}
const s3 = createS3Client(config);
const api = createRedshiftDataApi(
  { aws: config.aws, redshift: config.redshift },
  { timeoutMs: MERGE_TIMEOUT_MS },
);
const warehouse = new RedshiftWarehouse({
  api,
  lakeCopy: new RedshiftLakeCopy({
    api,
    lister: new S3LakeLister({ client: s3, bucket: config.redshift.lakeBucket }),
    quarantine: new S3LakeQuarantine({ client: s3, bucket: config.redshift.lakeBucket }),
    role: config.redshift.copyRoleArn === undefined ? 'default' : { arn: config.redshift.copyRoleArn },
    lookbackHours: config.redshift.lakeLookbackHours,
    maxFilesPerRun: config.redshift.copyMaxFiles,
  }),
  identity: config.identity,
  retention: {
    eventsDays: config.retention.warehouseDays,
    failedEventsDays: config.retention.failedEventsDays,
  },
});
const { readerUser, deleterUser } = config.redshift;

/**
 * Brings the schema up to date, then gives the API's database user its read-only access and the
 * deletion function's the right to erase people.
 */
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

// Once per environment; a failed attempt is forgotten so the next invocation tries again.
let prepared: Promise<void> | undefined;

/**
 * The scheduled load step (EventBridge): brings the schema and the API reader's access up to
 * date, COPYs the lake files not loaded yet into staging, then merges staging into events and
 * failed_events and purges what the retention limits expire (TRIBUTARY_RETENTION_WAREHOUSE_DAYS,
 * TRIBUTARY_RETENTION_FAILED_EVENTS_DAYS). A failure leaves unrecorded files and staged rows for the
 * next run.
 */
export const handler = async (event?: WarehouseLoadEvent): Promise<RedshiftLoadReport> => {
  prepared ??= prepare().catch((error: unknown) => {
    prepared = undefined;
    throw error;
  });
  await prepared;
  const report = await warehouse.loadNew({ fullListing: event?.fullListing === true });
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
    files: report.files,
    pendingFiles: report.pendingFiles,
    rows: report.rows,
    purgedEvents: report.purged.events,
    purgedFailedEvents: report.purged.failedEvents,
  });
  return report;
};

import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError, type Config } from '../config';
import { S3LakeLister } from '../sinks/lake/firehose/s3-lake-lister';
import { S3LoadStateStore } from '../sinks/lake/firehose/s3-load-state';
import { LoadGate, type SkippedRun } from '../sinks/warehouse/load-gate';
import { createAthenaQueryApi } from '../sinks/warehouse/athena/athena-query-api';
import {
  AthenaWarehouse,
  type AthenaDailyReport,
  type AthenaLoadReport,
} from '../sinks/warehouse/athena/athena-warehouse';

/** A MERGE over a backlog may take minutes; the function's timeout must exceed this. */
export const ATHENA_LOAD_TIMEOUT_MS = 5 * 60_000;

export interface AthenaLoadEvent {
  /** List the whole lake instead of the lookback's partitions. */
  fullListing?: boolean;
  /** The daily run (its own schedule): the retention purge, then compaction and VACUUM. */
  daily?: boolean;
}

/**
 * The Athena load step, gated like Redshift's (docs/warehouse.md#when-the-load-step-loads): a run
 * merges only once enough lake data is pending or the oldest pending file is old enough, since
 * every load runs about ten statements, each billed at least 10 MB. Each environment first runs
 * the migrations (DDL, which Athena does not bill); the daily run purges what the retention limits
 * expire and compacts and vacuums the Iceberg tables, which is when deleted rows leave storage.
 */
export function athenaLoad(
  config: Config,
  s3: S3Client,
  logger: Logger,
): (event?: AthenaLoadEvent) => Promise<AthenaLoadReport | AthenaDailyReport | SkippedRun> {
  const athena = config.athena;
  if (athena === undefined) {
    throw new ConfigError('TRIBUTARY_ATHENA_WORKGROUP must be set for the Athena load step');
  }
  const { sourceDatabase, sourceTable, tablesLocation, lakeBucket: bucket } = athena;
  if (
    bucket === undefined ||
    sourceDatabase === undefined ||
    sourceTable === undefined ||
    tablesLocation === undefined
  ) {
    throw new ConfigError(
      'TRIBUTARY_LAKE_BUCKET, TRIBUTARY_ATHENA_SOURCE_DATABASE, TRIBUTARY_ATHENA_SOURCE_TABLE and TRIBUTARY_ATHENA_TABLES_LOCATION must be set for the Athena load step',
    );
  }
  const lister = new S3LakeLister({ client: s3, bucket });
  const gate = new LoadGate({
    lister,
    state: new S3LoadStateStore({ client: s3, bucket }),
    minPendingBytes: config.warehouseLoad.minPendingBytes,
    maxPendingAgeMs: config.warehouseLoad.maxPendingAgeMs,
  });
  const warehouse = new AthenaWarehouse({
    api: createAthenaQueryApi({ aws: config.aws, athena }, { timeoutMs: ATHENA_LOAD_TIMEOUT_MS }),
    lake: {
      source: { database: sourceDatabase, table: sourceTable },
      lister,
      tablesLocation,
    },
    identity: config.identity,
    retention: {
      eventsDays: config.retention.warehouseDays,
      failedEventsDays: config.retention.failedEventsDays,
    },
  });

  // Once per environment; a failed attempt is forgotten so the next invocation tries again.
  let migrated: Promise<void> | undefined;
  const migrate = async (): Promise<void> => {
    const versions = await warehouse.migrate();
    if (versions.length > 0) logger.info('applied warehouse migrations', { versions });
  };

  const migrateOnce = (): Promise<void> =>
    (migrated ??= migrate().catch((error: unknown) => {
      migrated = undefined;
      throw error;
    }));

  return async (event) => {
    if (event?.daily === true) {
      await migrateOnce();
      const report = await warehouse.runDaily();
      logger.info('ran the daily purge and maintenance', {
        purgedEvents: report.purged.events,
        purgedFailedEvents: report.purged.failedEvents,
        maintained: report.maintained,
      });
      return report;
    }
    const fullListing = event?.fullListing === true;
    const decision = await gate.check();
    const { load, reason, ...pending } = decision;
    if (!load && !fullListing) {
      logger.info('nothing worth a merge yet', { ...pending });
      return { skipped: true, ...pending };
    }
    await migrateOnce();
    const report = await warehouse.loadNew({ fullListing });
    await gate.loaded(decision, report.pendingFiles === 0);
    if (report.skippedKeys.length > 0) {
      logger.warn('lake keys that are not Firehose data files were not loaded', { keys: report.skippedKeys });
    }
    logger.info('loaded lake files', {
      reason: reason ?? 'asked',
      files: report.files,
      pendingFiles: report.pendingFiles,
      rows: report.rows,
    });
    return report;
  };
}

import { Logger } from '@aws-lambda-powertools/logger';
import { ConfigError, loadConfig } from '../config';
import type { LoadReport } from '../sinks/ports';
import { createRedshiftDataApi } from '../sinks/redshift-data-api';
import { RedshiftWarehouse } from '../sinks/redshift-warehouse';

/** A merge may take minutes on a large backlog; the function's timeout must exceed this. */
export const MERGE_TIMEOUT_MS = 5 * 60_000;

// Built once per execution environment, reused by every invocation.
const config = loadConfig();
const logger = new Logger({ serviceName: 'tributary-warehouse-load' });
if (!config.redshift) {
  throw new ConfigError('TRIBUTARY_REDSHIFT_WORKGROUP must be set for the warehouse load function');
}
const warehouse = new RedshiftWarehouse({
  api: createRedshiftDataApi({ aws: config.aws, redshift: config.redshift }, { timeoutMs: MERGE_TIMEOUT_MS }),
});
// Once per environment; a failed attempt is forgotten so the next invocation tries again.
let migrated: Promise<void> | undefined;

/**
 * The scheduled load step (EventBridge Scheduler): brings the schema up to date, then merges what
 * Firehose staged into events and failed_events. A failure leaves the staged rows for the next run.
 */
export const handler = async (): Promise<LoadReport> => {
  migrated ??= warehouse.migrate().then(
    (versions) => {
      if (versions.length > 0) logger.info('applied warehouse migrations', { versions });
    },
    (error: unknown) => {
      migrated = undefined;
      throw error;
    },
  );
  await migrated;
  const report = await warehouse.loadNew();
  logger.info('merged staged rows', { rows: report.rows });
  return report;
};

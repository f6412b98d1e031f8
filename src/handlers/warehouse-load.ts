import { Logger } from '@aws-lambda-powertools/logger';
import { ConfigError, loadConfig } from '../config';
import { createS3Client } from '../aws/s3-client';
import { athenaLoad, type AthenaLoadEvent } from './athena-load';
import { redshiftLoad, type RedshiftLoadEvent } from './redshift-load';

/** What an on-demand invocation may ask for; the schedule's own event carries none of it. */
export type WarehouseLoadEvent = RedshiftLoadEvent & AthenaLoadEvent;

// Built once per execution environment, reused by every invocation.
const config = loadConfig();
const logger = new Logger({ serviceName: 'tributary-warehouse-load' });
const s3 = createS3Client(config);
const run = (() => {
  switch (config.warehouseEngine) {
    case 'redshift':
      return redshiftLoad(config, s3, logger);
    case 'athena':
      return athenaLoad(config, s3, logger);
    case undefined:
      throw new ConfigError(
        'TRIBUTARY_WAREHOUSE_ENGINE (or TRIBUTARY_REDSHIFT_WORKGROUP / TRIBUTARY_ATHENA_WORKGROUP) must be set for the warehouse load function',
      );
  }
})();

/**
 * The scheduled load step (EventBridge) of the configured engine: src/handlers/redshift-load.ts
 * (gated COPY and merge) or src/handlers/athena-load.ts (MERGE INTO Iceberg, and a daily run).
 */
export const handler = (event?: WarehouseLoadEvent): ReturnType<typeof run> => run(event);

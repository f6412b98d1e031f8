import type { Config } from '../config';
import { createAthenaQueryApi } from '../sinks/warehouse/athena/athena-query-api';
import { AthenaWarehouse } from '../sinks/warehouse/athena/athena-warehouse';
import { createRedshiftDataApi } from '../sinks/warehouse/redshift/redshift-data-api';
import { RedshiftWarehouse } from '../sinks/warehouse/redshift/redshift-warehouse';
import type { Warehouse, WarehousePersonRows } from '../sinks/warehouse/port';

/** A warehouse the API queries and the deletion function erases people from. */
export type EngineWarehouse = Warehouse & WarehousePersonRows;

export interface EngineOptions {
  /** A statement still running after this long is cancelled; default: the engine's configured query timeout. */
  timeoutMs?: number;
}

/**
 * The configured engine's warehouse (TRIBUTARY_WAREHOUSE_ENGINE), signed in as the calling
 * function's own IAM role; undefined where no engine is configured.
 */
export function createWarehouse(
  config: Pick<Config, 'aws' | 'warehouseEngine' | 'redshift' | 'athena' | 'identity'>,
  options: EngineOptions = {},
): EngineWarehouse | undefined {
  switch (config.warehouseEngine) {
    case undefined:
      return undefined;
    case 'redshift': {
      const redshift = required(config.redshift, 'redshift');
      return new RedshiftWarehouse({
        // The deployed functions get no secret: the Data API signs in as their own database user.
        api: createRedshiftDataApi({ aws: config.aws, redshift }, options),
        identity: config.identity,
      });
    }
    case 'athena': {
      const athena = required(config.athena, 'athena');
      return new AthenaWarehouse({
        api: createAthenaQueryApi({ aws: config.aws, athena }, options),
        identity: config.identity,
      });
    }
  }
}

function required<T>(settings: T | undefined, engine: string): T {
  // loadConfig refuses an engine without its workgroup; a hand-made Config may not.
  if (settings === undefined) throw new Error(`the ${engine} engine is chosen but not configured`);
  return settings;
}

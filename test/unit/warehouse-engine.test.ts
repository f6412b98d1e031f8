import { ConfigError, loadConfig } from '../../src/config';
import { awsDeletionStores } from '../../src/handlers/deletion-stores';
import { createWarehouse } from '../../src/handlers/warehouse-engine';
import { AthenaWarehouse } from '../../src/sinks/warehouse/athena/athena-warehouse';
import { RedshiftWarehouse } from '../../src/sinks/warehouse/redshift/redshift-warehouse';

const ATHENA = { TRIBUTARY_ATHENA_WORKGROUP: 'tributary-dev', TRIBUTARY_ATHENA_DATABASE: 'tributary_dev' };
const REDSHIFT = { TRIBUTARY_REDSHIFT_WORKGROUP: 'tributary-prod' };

describe('the warehouse engine the AWS functions use', () => {
  it('is the one TRIBUTARY_WAREHOUSE_ENGINE names, else the one whose workgroup is set, Redshift first', () => {
    expect(loadConfig({}).warehouseEngine).toBeUndefined();
    expect(loadConfig(ATHENA).warehouseEngine).toBe('athena');
    expect(loadConfig(REDSHIFT).warehouseEngine).toBe('redshift');
    expect(loadConfig({ ...ATHENA, ...REDSHIFT }).warehouseEngine).toBe('redshift');
    expect(loadConfig({ ...ATHENA, ...REDSHIFT, TRIBUTARY_WAREHOUSE_ENGINE: 'athena' }).warehouseEngine).toBe(
      'athena',
    );
  });

  it('refuses an engine without its workgroup, an unknown engine and a malformed Athena setting', () => {
    expect(() => loadConfig({ ...REDSHIFT, TRIBUTARY_WAREHOUSE_ENGINE: 'athena' })).toThrow(
      /TRIBUTARY_ATHENA_WORKGROUP is not set/,
    );
    expect(() => loadConfig({ ...ATHENA, TRIBUTARY_WAREHOUSE_ENGINE: 'bigquery' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...ATHENA, TRIBUTARY_ATHENA_DATABASE: 'Drop Table' })).toThrow(
      /TRIBUTARY_ATHENA_DATABASE must match/,
    );
    expect(() => loadConfig({ ...ATHENA, TRIBUTARY_ATHENA_TABLES_LOCATION: 's3://bucket/no-slash' })).toThrow(
      /TRIBUTARY_ATHENA_TABLES_LOCATION must match/,
    );
  });

  it('reads the load thresholds, 64 MiB and an hour unless told', () => {
    expect(loadConfig({}).warehouseLoad).toEqual({
      minPendingBytes: 64 * 1024 ** 2,
      maxPendingAgeMs: 3_600_000,
    });
    expect(
      loadConfig({ TRIBUTARY_LOAD_MIN_PENDING_BYTES: '0', TRIBUTARY_LOAD_MAX_PENDING_MINUTES: '30' })
        .warehouseLoad,
    ).toEqual({ minPendingBytes: 0, maxPendingAgeMs: 1_800_000 });
    expect(() => loadConfig({ TRIBUTARY_LOAD_MAX_PENDING_MINUTES: '0' })).toThrow(ConfigError);
  });

  it('builds that engine, or none, and gives deletions a warehouse step only with one', async () => {
    const athena = createWarehouse(loadConfig(ATHENA));
    const redshift = createWarehouse(loadConfig(REDSHIFT));
    expect(athena).toBeInstanceOf(AthenaWarehouse);
    expect(redshift).toBeInstanceOf(RedshiftWarehouse);
    expect(createWarehouse(loadConfig({}))).toBeUndefined();
    await Promise.all([athena?.close(), redshift?.close()]);
    expect(awsDeletionStores(loadConfig(ATHENA))).toContain('warehouse');
    expect(awsDeletionStores(loadConfig({}))).not.toContain('warehouse');
  });
});

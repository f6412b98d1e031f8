import { randomUUID } from 'node:crypto';
import { DEFAULT_IDENTITY_RULES, type IdentityRules } from '../../../events/identity';
import type { LoadReport, Warehouse, WarehouseLoader, WarehouseStatusRow } from '../port';
import type { RedshiftDataApi } from './redshift-data-api';
import type { CopyOptions, LakeCopyReport, RedshiftLakeCopy } from './redshift-lake-copy';
import {
  REDSHIFT_CREATE_SCHEMA_MIGRATIONS,
  REDSHIFT_MIGRATIONS,
  SELECT_LOAD,
  SELECT_READER_STATE,
  SELECT_STATUS,
  mergeBatch,
  migrationBatch,
  readerGrantStatements,
} from './redshift-sql';
import type { RedshiftMigration } from './redshift-sql';
import { WarehouseError } from '../errors';
import { REDSHIFT_DIALECT } from '../dialect';
import { SqlWarehouse } from '../sql-warehouse';
import { WarehouseQueries } from '../queries';

export interface RedshiftWarehouseOptions {
  api: RedshiftDataApi;
  /** Applied by migrate(), in version order; defaults to the warehouse's own list. */
  migrations?: readonly RedshiftMigration[];
  /** Stages new lake files before each merge; without it, loadNew() merges what others staged. */
  lakeCopy?: RedshiftLakeCopy;
  newLoadId?: () => string;
  /** The rules each merge recomputes `identities` with (Config.identity); the defaults otherwise. */
  identity?: IdentityRules;
}

/** A load: the files COPYed and rows merged, plus what the lake copy left, refused or set aside. */
export type RedshiftLoadReport = LoadReport &
  Pick<LakeCopyReport, 'pendingFiles' | 'skippedKeys' | 'quarantined'>;

/**
 * The production warehouse on the Redshift Data API. Reads run the same SQL as DuckDB through
 * the Redshift dialect; loadNew() is the scheduled load: COPY new lake files into staging, then
 * merge staging into events and failed_events.
 */
export class RedshiftWarehouse extends SqlWarehouse implements Warehouse, WarehouseLoader {
  private readonly api: RedshiftDataApi;
  protected override readonly queries: WarehouseQueries;

  constructor(private readonly options: RedshiftWarehouseOptions) {
    super();
    this.api = options.api;
    this.queries = new WarehouseQueries(REDSHIFT_DIALECT, (query) => this.api.query(query.sql, query.params));
  }

  /** Applies the migrations not applied yet, each as one transaction; returns the versions applied. */
  async migrate(): Promise<number[]> {
    await this.api.query(REDSHIFT_CREATE_SCHEMA_MIGRATIONS);
    const applied = new Set(
      (await this.api.query('SELECT version FROM schema_migrations')).map((row) => Number(row.version)),
    );
    const done: number[] = [];
    const ordered = [...(this.options.migrations ?? REDSHIFT_MIGRATIONS)].sort(
      (a, b) => a.version - b.version,
    );
    for (const migration of ordered) {
      if (applied.has(migration.version)) continue;
      try {
        await this.api.batch(migrationBatch(migration));
      } catch (cause) {
        throw new WarehouseError(
          `migration ${migration.version} (${migration.name}) failed`,
          'WAREHOUSE_MIGRATION_FAILED',
          { cause },
        );
      }
      done.push(migration.version);
    }
    return done;
  }

  /**
   * Makes `user` a read-only user (the reader role of migration 6) that signs in by IAM only,
   * creating it when missing; returns the statements that changed something, none when it was set
   * up already. Run after migrate(), by the load step, whose user may create users.
   */
  async grantReader(user: string): Promise<string[]> {
    try {
      const [row] = await this.api.query(SELECT_READER_STATE, { reader: user });
      const statements = readerGrantStatements(user, {
        exists: Number(row?.users ?? 0) > 0,
        granted: Number(row?.grants ?? 0) > 0,
      });
      if (statements.length > 0) await this.api.batch(statements);
      return statements;
    } catch (cause) {
      throw new WarehouseError(`granting ${user} read access failed`, 'WAREHOUSE_MIGRATION_FAILED', {
        cause,
      });
    }
  }

  /**
   * Stages the lake files not loaded yet, then merges everything staged into events and
   * failed_events, and recomputes identities, logged in load_log under one id.
   */
  async loadNew(copy: CopyOptions = {}): Promise<RedshiftLoadReport> {
    const staged = await this.copyLake(copy);
    const loadId = (this.options.newLoadId ?? randomUUID)();
    try {
      await this.api.batch(mergeBatch(loadId, this.options.identity ?? DEFAULT_IDENTITY_RULES));
    } catch (cause) {
      throw new WarehouseError(
        `merge ${loadId} failed; staged rows stay for the next run`,
        'WAREHOUSE_LOAD_FAILED',
        {
          cause,
        },
      );
    }
    const [row] = await this.api.query(SELECT_LOAD, { load_id: loadId });
    return {
      ...staged,
      rows: Number(row?.inserted_events ?? 0) + Number(row?.inserted_failed ?? 0),
    };
  }

  private async copyLake(copy: CopyOptions): Promise<LakeCopyReport> {
    if (this.options.lakeCopy === undefined) {
      return { files: 0, pendingFiles: 0, skippedKeys: [], quarantined: [] };
    }
    try {
      return await this.options.lakeCopy.copyNew(copy);
    } catch (cause) {
      throw new WarehouseError(
        'copying lake files into staging failed; files of the failed batch stay unrecorded for the next run',
        'WAREHOUSE_LOAD_FAILED',
        { cause },
      );
    }
  }

  /** Row count, and the start of the last merge as freshness. */
  async status(): Promise<WarehouseStatusRow> {
    const [row] = await this.api.query(SELECT_STATUS);
    const asOf = row?.as_of_ms;
    return {
      rows: Number(row?.row_count ?? 0),
      dataAsOf: asOf === null || asOf === undefined ? null : new Date(Number(asOf)),
    };
  }

  /** Loads run in another Lambda, so this process cannot tell when data changes. */
  dataVersion(): undefined {
    return undefined;
  }

  /** The Data API client belongs to whoever built it; nothing to release here. */
  async close(): Promise<void> {
    return Promise.resolve();
  }
}

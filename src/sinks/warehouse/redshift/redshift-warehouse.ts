import { randomUUID } from 'node:crypto';
import { DEFAULT_IDENTITY_RULES, type IdentityRules } from '../../../events/identity';
import type {
  ErasureCounts,
  LoadReport,
  PurgeCounts,
  Warehouse,
  WarehouseLoader,
  WarehousePersonRows,
  WarehouseRetention,
} from '../port';
import type { RedshiftDataApi } from './redshift-data-api';
import type { CopyOptions, LakeCopyReport, RedshiftLakeCopy } from './redshift-lake-copy';
import {
  REDSHIFT_CREATE_SCHEMA_MIGRATIONS,
  REDSHIFT_MIGRATIONS,
  SELECT_ERASURE,
  SELECT_LOAD,
  SELECT_STATUS,
  erasureBatch,
  insertErasureIds,
  mergeBatch,
  migrationBatch,
  memberGrantStatements,
  selectMemberState,
  REDSHIFT_ERASER_ROLE,
  REDSHIFT_READER_ROLE,
} from './redshift-sql';
import type { RedshiftMemberRole } from './redshift-sql';
import type { RedshiftMigration } from './redshift-sql';
import { WarehouseError } from '../errors';
import { REDSHIFT_DIALECT } from '../dialect';
import { RemoteSqlWarehouse } from '../sql-warehouse';
import { eraseRecorded } from '../person-erasure';
import { purgeCutoffs } from '../retention-purge';

export interface RedshiftWarehouseOptions {
  api: RedshiftDataApi;
  /** Applied by migrate(), in version order; defaults to the warehouse's own list. */
  migrations?: readonly RedshiftMigration[];
  /** Stages new lake files before each merge; without it, loadNew() merges what others staged. */
  lakeCopy?: RedshiftLakeCopy;
  /** Ids of loads and erasures (UUIDs); random ones otherwise. */
  newLoadId?: () => string;
  /** The rules each merge recomputes `identities` with (Config.identity); the defaults otherwise. */
  identity?: IdentityRules;
  /** The limits each merge purges to (Config.retention); without them, nothing is purged. */
  retention?: WarehouseRetention;
  now?: () => Date;
}

/**
 * A load: the files COPYed and rows merged, plus what the lake copy left, refused or set aside, and
 * what the merge purged.
 */
export type RedshiftLoadReport = LoadReport &
  Pick<LakeCopyReport, 'pendingFiles' | 'skippedKeys' | 'quarantined'> & { purged: PurgeCounts };

/**
 * The production warehouse on the Redshift Data API. Reads run the same SQL as DuckDB through
 * the Redshift dialect; loadNew() is the scheduled load: COPY new lake files into staging, then
 * merge staging into events and failed_events.
 */
export class RedshiftWarehouse
  extends RemoteSqlWarehouse<RedshiftDataApi>
  implements Warehouse, WarehouseLoader, WarehousePersonRows
{
  constructor(private readonly options: RedshiftWarehouseOptions) {
    super(options.api, REDSHIFT_DIALECT, SELECT_STATUS);
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
  grantReader(user: string): Promise<string[]> {
    return this.grantMember(user, REDSHIFT_READER_ROLE, 'read');
  }

  /**
   * Makes `user` (the deletion function's) a member of the eraser role of migration 10, which may
   * run erasePerson and nothing else, the same way.
   */
  grantEraser(user: string): Promise<string[]> {
    return this.grantMember(user, REDSHIFT_ERASER_ROLE, 'erase');
  }

  private async grantMember(user: string, role: RedshiftMemberRole, access: string): Promise<string[]> {
    try {
      const [row] = await this.api.query(selectMemberState(role), { user });
      const statements = memberGrantStatements(user, role, {
        exists: Number(row?.users ?? 0) > 0,
        granted: Number(row?.grants ?? 0) > 0,
      });
      if (statements.length > 0) await this.api.batch(statements);
      return statements;
    } catch (cause) {
      throw new WarehouseError(`granting ${user} ${access} access failed`, 'WAREHOUSE_MIGRATION_FAILED', {
        cause,
      });
    }
  }

  /**
   * Stages the lake files not loaded yet, then merges everything staged into events and
   * failed_events, purges what the retention limits expire, and recomputes identities, logged in
   * load_log under one id.
   */
  async loadNew(copy: CopyOptions = {}): Promise<RedshiftLoadReport> {
    const staged = await this.copyLake(copy);
    const loadId = this.newId();
    const { retention } = this.options;
    const cutoffs =
      retention === undefined
        ? undefined
        : purgeCutoffs(retention, (this.options.now ?? (() => new Date()))());
    try {
      await this.api.batch(mergeBatch(loadId, this.identity(), cutoffs));
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
      purged: { events: Number(row?.purged_events ?? 0), failedEvents: Number(row?.purged_failed ?? 0) },
    };
  }

  /**
   * Deletes every row naming one of the ids (docs/privacy.md#deletion): writes the ids to
   * erasure_ids with bound parameters, erases them in one transaction (erasureBatch), and reads what
   * went from erasure_log. Loads run in another Lambda: the erased ids stay as tombstones until the
   * next merge, which drops what its staging holds of them (mergeBatch). Idempotent: a failed
   * attempt commits nothing but its ids, which the next attempt's transaction clears.
   */
  erasePerson(ids: readonly string[]): Promise<ErasureCounts> {
    return eraseRecorded(ids, {
      newId: () => this.newId(),
      attempt: (erasureId) => ({
        writeIds: async (rows) => {
          const { sql, params } = insertErasureIds(erasureId, rows);
          await this.api.query(sql, params);
        },
        erase: async () => {
          await this.api.batch(erasureBatch(erasureId, this.identity()));
          const [row] = await this.api.query(SELECT_ERASURE, { erasure_id: erasureId });
          return row;
        },
      }),
      failure: 'failed; nothing of it is committed but its ids, which the next attempt clears',
    });
  }

  private newId(): string {
    return (this.options.newLoadId ?? randomUUID)();
  }

  private identity(): IdentityRules {
    return this.options.identity ?? DEFAULT_IDENTITY_RULES;
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
}

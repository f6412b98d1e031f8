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
  WarehouseStatusRow,
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
import { SqlWarehouse } from '../sql-warehouse';
import { WarehouseQueries } from '../queries';
import { erasureCountsOf, subjectRows } from '../person-erasure';
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

/** Erased ids are written this many to a statement, each with two bound parameters. */
const ERASURE_IDS_PER_INSERT = 100;

/**
 * The production warehouse on the Redshift Data API. Reads run the same SQL as DuckDB through
 * the Redshift dialect; loadNew() is the scheduled load: COPY new lake files into staging, then
 * merge staging into events and failed_events.
 */
export class RedshiftWarehouse
  extends SqlWarehouse
  implements Warehouse, WarehouseLoader, WarehousePersonRows
{
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
  async erasePerson(ids: readonly string[]): Promise<ErasureCounts> {
    const subject = subjectRows(ids);
    // Only blank ids: they name nobody, and the workgroup need not wake for them.
    if (subject.length === 0) return erasureCountsOf(undefined);
    const erasureId = this.newId();
    try {
      for (let i = 0; i < subject.length; i += ERASURE_IDS_PER_INSERT) {
        const { sql, params } = insertErasureIds(erasureId, subject.slice(i, i + ERASURE_IDS_PER_INSERT));
        await this.api.query(sql, params);
      }
      await this.api.batch(erasureBatch(erasureId, this.identity()));
      const [row] = await this.api.query(SELECT_ERASURE, { erasure_id: erasureId });
      return erasureCountsOf(row);
    } catch (cause) {
      // Never the ids: the message is kept on the deletion request.
      throw new WarehouseError(
        `erasure ${erasureId} failed; nothing of it is committed but its ids, which the next attempt clears`,
        'WAREHOUSE_ERASURE_FAILED',
        { cause },
      );
    }
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

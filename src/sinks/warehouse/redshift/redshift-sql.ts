/**
 * Redshift's schema and load SQL. Migrations are append-only, like DuckDB's: a change is a new
 * entry with the next version. Each migration runs as one transaction (BatchExecuteStatement).
 *
 * Keys, chosen for the analytics queries (docs/warehouse.md explains them at length):
 * - DISTKEY(user_key): distinct users, funnels and retention join and count per person, so one
 *   person's rows live on one slice and those joins never redistribute `events`.
 * - COMPOUND SORTKEY(event_time, event): every query restricts event time to [from, to), so zone
 *   maps skip blocks outside the range; event narrows the blocks inside it.
 */

import {
  EVENT_COLUMNS,
  FAILED_EVENT_COLUMNS,
  LAKE_ENRICHMENT_COLUMN,
  isLakeColumn,
} from '../../lake/columns';
import type { CoalescedColumn, EventColumn, LakeColumn, WarehouseColumn } from '../../lake/columns';
import type { IdentityRules } from '../../../events/identity';
import { REDSHIFT_DIALECT } from '../dialect';
import { identityFold, recomputeIdentities } from '../identities';
import {
  ERASURE_COUNTS,
  ERASURE_COUNT_COLUMNS,
  ERASURE_SUBJECT,
  eventNamesId,
  failedNamesId,
  failedPayloadFacts,
  personErasure,
} from '../person-erasure';
import type { SubjectRow } from '../person-erasure';
import { PURGE_COUNTS, retentionPurge } from '../retention-purge';
import type { PurgeCutoffs } from '../retention-purge';

export interface RedshiftMigration {
  version: number;
  name: string;
  statements: readonly string[];
}

/**
 * The Parquet staging table of the layout before `merges_users` (migration 8): files Firehose wrote
 * before the column was added are COPYed there, and merged with NULL for it.
 */
export const PARQUET_STAGING_BEFORE_MERGES_USERS = 'staging_events_parquet_v1';

/** The database role that may read every table and change none: the API's user is its member. */
export const REDSHIFT_READER_ROLE = 'tributary_reader';

/**
 * The database role that may erase people (erasureBatch) and nothing else: the deletion function's
 * user is its member.
 */
export const REDSHIFT_ERASER_ROLE = 'tributary_eraser';

export const REDSHIFT_MIGRATIONS: readonly RedshiftMigration[] = [
  {
    version: 1,
    name: 'events',
    statements: [
      `CREATE TABLE events (
        message_id VARCHAR(128) NOT NULL,
        event VARCHAR(256) NOT NULL,
        user_id VARCHAR(256),
        anonymous_id VARCHAR(256),
        user_key VARCHAR(256),
        session_id VARCHAR(256),
        event_time TIMESTAMPTZ,
        original_timestamp TIMESTAMPTZ,
        sent_at TIMESTAMPTZ,
        received_at TIMESTAMPTZ,
        loaded_at TIMESTAMPTZ NOT NULL,
        source VARCHAR(64),
        processor_version VARCHAR(64),
        schema_version VARCHAR(64),
        item_id VARCHAR(256),
        browser VARCHAR(128),
        browser_version VARCHAR(64),
        os VARCHAR(128),
        os_version VARCHAR(64),
        device_type VARCHAR(32),
        is_bot BOOLEAN,
        utm_source VARCHAR(512),
        utm_medium VARCHAR(512),
        utm_campaign VARCHAR(512),
        utm_term VARCHAR(512),
        utm_content VARCHAR(512),
        referrer_class VARCHAR(16),
        referrer_host VARCHAR(512),
        clock_skew_ms BIGINT,
        time_flag VARCHAR(16),
        properties SUPER,
        context SUPER,
        PRIMARY KEY (message_id)
      )
      DISTSTYLE KEY DISTKEY (user_key)
      COMPOUND SORTKEY (event_time, event)`,
    ],
  },
  {
    version: 2,
    name: 'failed_events',
    statements: [
      `CREATE TABLE failed_events (
        record_key VARCHAR(64) NOT NULL,
        message_id VARCHAR(128),
        failure_type VARCHAR(32) NOT NULL,
        event VARCHAR(256),
        errors SUPER,
        payload VARCHAR(65535),
        payload_encoding VARCHAR(8),
        schema VARCHAR(256),
        received_at TIMESTAMPTZ,
        processor_version VARCHAR(64),
        loaded_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (record_key)
      )
      DISTSTYLE AUTO
      SORTKEY (received_at)`,
    ],
  },
  {
    version: 3,
    name: 'staging_and_load_log',
    // Firehose COPYs each lake record whole into `record` (FORMAT JSON 'noshred'), so a new
    // field needs no staging change: the merge below picks fields out explicitly.
    statements: [
      'CREATE TABLE staging_events (record SUPER) DISTSTYLE EVEN',
      'CREATE TABLE staging_failed (record SUPER) DISTSTYLE EVEN',
      `CREATE TABLE load_log (
        load_id VARCHAR(64) NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL,
        staged_events BIGINT NOT NULL,
        inserted_events BIGINT NOT NULL,
        staged_failed BIGINT NOT NULL,
        inserted_failed BIGINT NOT NULL,
        PRIMARY KEY (load_id)
      )
      DISTSTYLE ALL
      SORTKEY (started_at)`,
    ],
  },
  {
    version: 4,
    name: 'lake_files',
    // The load step COPYs lake files itself (Firehose delivers to S3 only); each key is recorded in
    // the transaction that COPYs it, so a file is staged once. S3 keys are at most 1,024 bytes.
    statements: [
      `CREATE TABLE lake_files (
        s3_key VARCHAR(1024) NOT NULL,
        loaded_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (s3_key)
      )
      DISTSTYLE ALL
      SORTKEY (s3_key)`,
    ],
  },
  {
    version: 5,
    name: 'staging_events_parquet',
    // Firehose converts events to Parquet (src/sinks/lake/columns.ts). COPY from Parquet maps
    // columns by position, so these follow the file's order. Text is as wide as Redshift allows: the
    // merge narrows it to the events columns, so a long value never fails a COPY.
    statements: [
      `CREATE TABLE staging_events_parquet (
        message_id VARCHAR(65535),
        event VARCHAR(65535),
        user_id VARCHAR(65535),
        anonymous_id VARCHAR(65535),
        session_id VARCHAR(65535),
        event_time VARCHAR(65535),
        original_timestamp VARCHAR(65535),
        sent_at VARCHAR(65535),
        received_at VARCHAR(65535),
        source VARCHAR(65535),
        processor_version VARCHAR(65535),
        schema_version VARCHAR(65535),
        item_id VARCHAR(65535),
        properties VARCHAR(65535),
        context VARCHAR(65535),
        enrichment SUPER
      ) DISTSTYLE EVEN`,
    ],
  },
  {
    version: 6,
    name: 'reader_role',
    // The API's database user reads through this role (readerGrantStatements makes it a member):
    // every table, changing none. The load step's admin creates every table, so its default
    // privileges cover the tables later migrations add. PUBLIC may create tables in `public` until
    // that is revoked, which would let the reader write tables of its own.
    statements: [
      `CREATE ROLE ${REDSHIFT_READER_ROLE}`,
      'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
      `GRANT USAGE ON SCHEMA public TO ROLE ${REDSHIFT_READER_ROLE}`,
      `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ROLE ${REDSHIFT_READER_ROLE}`,
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ROLE ${REDSHIFT_READER_ROLE}`,
    ],
  },
  {
    version: 7,
    name: 'events_original_event',
    // The name a Segment track call was sent with, which merges derive from context.segment.event;
    // the rows merged before get it from the context they were stored with. The staging tables
    // need nothing: they hold the context, and the merge derives the column from it.
    statements: [
      'ALTER TABLE events ADD COLUMN original_event VARCHAR(256)',
      `UPDATE events SET original_event = CAST(CAST(events.context."segment"."event" AS VARCHAR) AS VARCHAR(256))
       WHERE events.context."segment"."event" IS NOT NULL`,
    ],
  },
  {
    version: 8,
    name: 'events_merges_users',
    // An alias allowed to merge two userIds (docs/identity.md): a top-level lake column after
    // `context`. COPY maps Parquet columns by position and wants as many as the table has, and
    // ADD COLUMN can only append, so the staging table is created again in the file's new order,
    // and the old one, renamed, takes the files Firehose wrote before the change (LAKE_ROOTS). It
    // keeps the rows it holds, which the next merge merges as before.
    statements: [
      'ALTER TABLE events ADD COLUMN merges_users BOOLEAN',
      `ALTER TABLE staging_events_parquet RENAME TO ${PARQUET_STAGING_BEFORE_MERGES_USERS}`,
      `CREATE TABLE staging_events_parquet (
        message_id VARCHAR(65535),
        event VARCHAR(65535),
        user_id VARCHAR(65535),
        anonymous_id VARCHAR(65535),
        session_id VARCHAR(65535),
        event_time VARCHAR(65535),
        original_timestamp VARCHAR(65535),
        sent_at VARCHAR(65535),
        received_at VARCHAR(65535),
        source VARCHAR(65535),
        processor_version VARCHAR(65535),
        schema_version VARCHAR(65535),
        item_id VARCHAR(65535),
        properties VARCHAR(65535),
        context VARCHAR(65535),
        merges_users BOOLEAN,
        enrichment SUPER
      ) DISTSTYLE EVEN`,
    ],
  },
  {
    version: 9,
    name: 'identities',
    // identity_claims and user_ids hold no rule (src/sinks/warehouse/identities.ts), so they are
    // filled from the events already merged here; identities depends on the configured rules, and
    // every merge recomputes it. identities is distributed like events (by the id events join on),
    // so the join of analytics by person stays on each slice.
    statements: [
      `CREATE TABLE identity_claims (
        person VARCHAR(256) NOT NULL,
        id VARCHAR(256) NOT NULL,
        merges_users BOOLEAN NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        message_id VARCHAR(128) NOT NULL
      )
      DISTSTYLE KEY DISTKEY (id)`,
      `CREATE TABLE user_ids (
        user_id VARCHAR(256) NOT NULL,
        PRIMARY KEY (user_id)
      )
      DISTSTYLE KEY DISTKEY (user_id)`,
      `CREATE TABLE identities (
        id VARCHAR(256) NOT NULL,
        person_id VARCHAR(256) NOT NULL,
        kind VARCHAR(16) NOT NULL,
        linked_at TIMESTAMPTZ NOT NULL,
        message_id VARCHAR(128) NOT NULL,
        PRIMARY KEY (id)
      )
      DISTSTYLE KEY DISTKEY (id)
      SORTKEY (id)`,
      ...identityFold(REDSHIFT_DIALECT, 'events').map((statement) => statement.sql),
    ],
  },
  {
    version: 10,
    name: 'erasures_and_purges',
    // erasure_ids: the ids of erasures (docs/privacy.md#deletion). An erasure writes its ids here
    // with bound parameters, which a transaction (BatchExecuteStatement) cannot take, then erases
    // in one transaction that stamps them erased_at. They stay as tombstones until the next merge,
    // which drops staged rows naming them and then the tombstones. Text is as wide as Redshift
    // allows, so that no id fails the insert; the table holds a few rows at a time.
    // erasure_log and load_log's new columns: what each erasure and each merge's purge removed.
    statements: [
      `CREATE TABLE erasure_ids (
        erasure_id VARCHAR(36) NOT NULL,
        id VARCHAR(65535) NOT NULL,
        hex VARCHAR(65535) NOT NULL,
        erased_at TIMESTAMPTZ
      )
      DISTSTYLE ALL`,
      `CREATE TABLE erasure_log (
        erasure_id VARCHAR(36) NOT NULL,
        erased_at TIMESTAMPTZ NOT NULL,
        events BIGINT NOT NULL,
        failed_events BIGINT NOT NULL,
        identity_claims BIGINT NOT NULL,
        user_ids BIGINT NOT NULL,
        identities BIGINT NOT NULL,
        user_numbers BIGINT NOT NULL,
        PRIMARY KEY (erasure_id)
      )
      DISTSTYLE ALL
      SORTKEY (erased_at)`,
      'ALTER TABLE load_log ADD COLUMN purged_events BIGINT DEFAULT 0',
      'ALTER TABLE load_log ADD COLUMN purged_failed BIGINT DEFAULT 0',
      // What an erasure's statements need and no more: it deletes rows naming the person, rebuilds
      // the identity rows from the claims left, and keeps its ids and its log. Temporary tables need
      // only the database's TEMP, which every user has.
      `CREATE ROLE ${REDSHIFT_ERASER_ROLE}`,
      `GRANT USAGE ON SCHEMA public TO ROLE ${REDSHIFT_ERASER_ROLE}`,
      `GRANT SELECT, DELETE ON events, failed_events, user_ids TO ROLE ${REDSHIFT_ERASER_ROLE}`,
      `GRANT SELECT, INSERT, DELETE ON identity_claims, identities TO ROLE ${REDSHIFT_ERASER_ROLE}`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON erasure_ids TO ROLE ${REDSHIFT_ERASER_ROLE}`,
      `GRANT SELECT, INSERT ON erasure_log TO ROLE ${REDSHIFT_ERASER_ROLE}`,
    ],
  },
];

export const REDSHIFT_CREATE_SCHEMA_MIGRATIONS = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL,
    name VARCHAR(256) NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT SYSDATE,
    PRIMARY KEY (version)
  )`;

/** The roles the load step makes users members of. */
export type RedshiftMemberRole = typeof REDSHIFT_READER_ROLE | typeof REDSHIFT_ERASER_ROLE;

/**
 * Whether a user exists and holds `role`; `:user` is bound. A quoted user name keeps its case in
 * Redshift, as an IAM role's name does in `IAMR:<role name>`, so names compare exactly.
 */
export const selectMemberState = (role: RedshiftMemberRole): string => `
  SELECT (SELECT COUNT(*) FROM pg_user WHERE usename = :user) AS users,
         (SELECT COUNT(*) FROM svv_user_grants
           WHERE user_name = :user AND role_name = '${role}') AS grants`;

/** A Redshift identifier in double quotes; refused when it could close the quotes or hide text. */
function sqlIdentifier(name: string): string {
  if (name === '' || name.includes('"') || hasControlCharacter(name)) {
    throw new Error(`refusing ${JSON.stringify(name)} as an SQL identifier`);
  }
  return `"${name}"`;
}

/**
 * What makes `user` a member of `role` (one of the roles above) signing in by IAM only
 * (PASSWORD DISABLE), given what exists: the user, and its membership. Empty when both are there.
 * Redshift has no CREATE USER IF NOT EXISTS, hence the state read first (selectMemberState).
 */
export function memberGrantStatements(
  user: string,
  role: RedshiftMemberRole,
  state: { exists: boolean; granted: boolean },
): string[] {
  const quoted = sqlIdentifier(user);
  return [
    ...(state.exists ? [] : [`CREATE USER ${quoted} PASSWORD DISABLE`]),
    ...(state.granted ? [] : [`GRANT ROLE ${role} TO ${quoted}`]),
  ];
}

/** What makes `user` the API's read-only user (memberGrantStatements with the reader role). */
export const readerGrantStatements = (user: string, state: { exists: boolean; granted: boolean }): string[] =>
  memberGrantStatements(user, REDSHIFT_READER_ROLE, state);

/** The statements of one migration plus its bookkeeping row, for one BatchExecuteStatement. */
export function migrationBatch(migration: RedshiftMigration): string[] {
  if (!Number.isSafeInteger(migration.version) || !/^[a-z0-9_]+$/.test(migration.name)) {
    throw new Error(
      `migration names are snake_case and versions integers: ${migration.version} ${migration.name}`,
    );
  }
  return [
    ...migration.statements,
    `INSERT INTO schema_migrations (version, name) VALUES (${migration.version}, '${migration.name}')`,
  ];
}

const YEAR = '([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})';
const MONTH_DAY =
  '((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))';
const LEAP_DAY = '([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)-02-29';
const TIME_OF_DAY = 'T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?Z';

/**
 * A UTC time as the lake holds it (`YYYY-MM-DDTHH:MM:SS.sssZ`, the fraction optional) on a real
 * calendar day of the years 0001 to 9999, as a POSIX regular expression for Redshift's `~`. It has
 * no backslash, which a Redshift literal would need doubled.
 */
export const LAKE_TIMESTAMP_PATTERN = `^(${YEAR}-${MONTH_DAY}|${LEAP_DAY})${TIME_OF_DAY}$`;

/**
 * Lake text as TIMESTAMPTZ, or NULL when it is not a time of LAKE_TIMESTAMP_PATTERN. A plain CAST
 * fails the whole merge on one value Redshift cannot read (year 0000, February 30), and the rows it
 * leaves staged fail every merge after it; DuckDB's load reads such values as NULL (TRY_CAST).
 */
const lakeTimestamp = (text: string): string =>
  `CASE WHEN ${text} ~ '${LAKE_TIMESTAMP_PATTERN}' THEN CAST(${text} AS TIMESTAMPTZ) END`;

/** How a staged value is held: a SUPER (a JSON record's field, an enrichment field) or text (a Parquet column). */
type Staged = 'SUPER' | 'TEXT';

/** A staged value as a column of the catalogue, in its Redshift type. */
function redshiftValue(column: WarehouseColumn, value: string, staged: Staged): string {
  const text = staged === 'SUPER' ? `CAST(${value} AS VARCHAR)` : value;
  const type = column.redshift;
  if (type === 'SUPER') {
    // JSON text that does not parse loads as NULL, as DuckDB's TRY_CAST does, rather than failing the merge.
    return staged === 'SUPER' ? value : `CASE WHEN CAN_JSON_PARSE(${value}) THEN JSON_PARSE(${value}) END`;
  }
  if (type === 'TIMESTAMPTZ') return lakeTimestamp(text);
  if (type.startsWith('VARCHAR')) return `CAST(${text} AS ${type})`;
  // BOOLEAN and BIGINT, from SUPER: a value of another JSON type casts to NULL, never an error.
  return `CAST(${value} AS ${type})`;
}

/** The columns a merge reads from each staged row: those of the lake, and those coalesced from them. */
type StagedColumn = LakeColumn | CoalescedColumn;

const isStagedColumn = (column: EventColumn): column is StagedColumn => !('jsonField' in column);

/**
 * The staged columns, in EVENT_COLUMNS' order, and the expressions reading them from a staged
 * row: `field` is where a lake column is read, and `staged` how it is held there.
 */
function stagedFields(
  field: (column: LakeColumn) => string,
  staged: (column: LakeColumn) => Staged,
): ReadonlyArray<readonly [string, string]> {
  const values = new Map<string, string>();
  const valueOf = (source: string): string => {
    const value = values.get(source);
    if (value === undefined) throw new Error(`a derived column needs ${source} listed before it`);
    return value;
  };
  return EVENT_COLUMNS.filter(isStagedColumn).map((column) => {
    const value = isLakeColumn(column)
      ? redshiftValue(column, field(column), staged(column))
      : `COALESCE(${column.coalesce.map(valueOf).join(', ')})`;
    values.set(column.column, value);
    return [column.column, value] as const;
  });
}

/** From a staged JSON record: SUPER navigation by the record's camelCase keys. */
const EVENT_FIELDS = stagedFields(
  (c) =>
    c.enrichment === true ? `record."${LAKE_ENRICHMENT_COLUMN}"."${c.jsonKey}"` : `record."${c.jsonKey}"`,
  () => 'SUPER',
);

/**
 * From a row of staging_events_parquet: text columns, and the enrichment struct as SUPER, whose
 * field names are lowercase, as Glue names them.
 */
const PARQUET_EVENT_FIELDS = stagedFields(
  (c) => (c.enrichment === true ? `${LAKE_ENRICHMENT_COLUMN}."${c.lakeName}"` : c.lakeName),
  (c) => (c.enrichment === true ? 'SUPER' : 'TEXT'),
);

/** The same from a row of the staging table of the layout before merges_users, which has no such column. */
const PARQUET_EVENT_FIELDS_BEFORE_MERGES_USERS = PARQUET_EVENT_FIELDS.map(([name, value]) =>
  name === 'merges_users' ? ([name, 'CAST(NULL AS BOOLEAN)'] as const) : ([name, value] as const),
);

/**
 * Every `events` column a merge writes, in EVENT_COLUMNS' order, from a deduped staged row `d`. A
 * column from a JSON field is read there rather than in each staged branch: by then its JSON column
 * is SUPER for both kinds of row (a Parquet row holds it as text until the branch parses it). A
 * field that is missing or not text casts to NULL, never an error.
 */
const MERGED_FIELDS: ReadonlyArray<readonly [string, string]> = EVENT_COLUMNS.map((column) => {
  if (isStagedColumn(column)) return [column.column, `d.${column.column}`] as const;
  const { of, path } = column.jsonField;
  const navigation = [`d.${of}`, ...path.map((key) => `"${key}"`)].join('.');
  return [column.column, redshiftValue(column, navigation, 'SUPER')] as const;
});

const FAILED_FIELDS: ReadonlyArray<readonly [string, string]> = FAILED_EVENT_COLUMNS.map(
  (c) => [c.column, redshiftValue(c, `record."${c.jsonKey}"`, 'SUPER')] as const,
);

/**
 * The type of a top-level lake column in staging_events_parquet: text as wide as Redshift allows,
 * which the merge narrows to the events column, so a long value never fails a COPY.
 */
export const parquetStagingType = (column: LakeColumn): string =>
  column.lakeType === 'string' ? 'VARCHAR(65535)' : column.lakeType.toUpperCase();

const columns = (fields: ReadonlyArray<readonly [string, string]>) => fields.map(([name]) => name).join(', ');
const selects = (fields: ReadonlyArray<readonly [string, string]>) =>
  fields.map(([name, expr]) => `${expr} AS ${name}`).join(',\n      ');

/**
 * The ids erased (erasure_ids, stamped by their erasure), cut to the width of the id columns as the
 * merge cuts them, so that they compare with what the merge stages.
 */
const TOMBSTONES = `(SELECT CAST(id AS VARCHAR(256)) AS id, hex, erased_at FROM erasure_ids
   WHERE erased_at IS NOT NULL)`;

/**
 * Staged rows naming an erased id and received before its erasure: COPYed from a lake file before
 * the lake's erasure rewrote it, they would bring the person back. A row received later is a new
 * event, stored unless the person is suppressed (which the stream sees to).
 */
const DROP_ERASED_STAGED_EVENTS = `
  DELETE FROM merge_events WHERE message_id IN (
    SELECT m.message_id FROM merge_events m JOIN ${TOMBSTONES} x ON ${eventNamesId(REDSHIFT_DIALECT, 'm', 'x')}
    WHERE m.received_at IS NULL OR m.received_at <= x.erased_at)`;

const DROP_ERASED_STAGED_FAILED = `
  DELETE FROM merge_failed WHERE record_key IN (
    SELECT f.record_key FROM (${failedPayloadFacts(REDSHIFT_DIALECT, 'merge_failed')}) f
    JOIN ${TOMBSTONES} x ON ${failedNamesId('f', 'x')}
    WHERE f.received_at IS NULL OR f.received_at <= x.erased_at)`;

/** `name` must be a UUID: ids of loads and erasures are spliced into their SQL. */
function checkUuid(name: string, id: string): string {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`${name} ids are UUIDs, got "${id}"`);
  return id;
}

/**
 * The scheduled merge, as one transaction: staged rows become `events` rows (one per messageId,
 * the earliest receivedAt winning, none that `events` already holds, none an erasure forbids) and
 * `failed_events` rows, what the retention limits expire at `cutoffs` is purged, the load is
 * logged, and the staging tables are emptied. A COPY that commits meanwhile (another loader, a
 * manual COPY) makes it fail with a serialization error; the next run merges everything, nothing
 * twice.
 *
 * An erasure and a merge both write `events`, so Redshift runs them as if one came after the other
 * (serializable isolation: one of two at once fails, and its next run sees the other's work). A
 * merge that starts after an erasure started drops the erased rows its staging holds, whichever
 * lake files they were COPYed from, then the erasure's tombstones: every COPY that read a file
 * before the lake's erasure rewrote it belongs to a load whose merge is that one or an earlier one.
 */
export function mergeBatch(loadId: string, identity: IdentityRules, cutoffs?: PurgeCutoffs): string[] {
  checkUuid('load', loadId);
  const purged =
    cutoffs === undefined
      ? { statements: [], counts: '0, 0', drop: [] }
      : {
          statements: retentionPurge(REDSHIFT_DIALECT, cutoffs),
          counts: `(SELECT events FROM ${PURGE_COUNTS}), (SELECT failed_events FROM ${PURGE_COUNTS})`,
          drop: [`DROP TABLE ${PURGE_COUNTS}`],
        };
  return [
    // SUPER navigation lower-cases identifiers unless told otherwise; lake records are camelCase.
    'SET enable_case_sensitive_identifier TO true',
    // Both staging tables feed one dedupe: JSON records from before the lake moved to Parquet, and
    // Parquet rows. The tie-break only makes the choice between copies received at once stable.
    `CREATE TEMP TABLE merge_events DISTKEY (user_key) AS
     SELECT ${selects(MERGED_FIELDS)} FROM (
       SELECT s.*, ROW_NUMBER() OVER (
         PARTITION BY s.message_id ORDER BY s.received_at ASC NULLS LAST, s.tie_break
       ) AS rn
       FROM (
         SELECT ${selects(EVENT_FIELDS)}, JSON_SERIALIZE(record) AS tie_break FROM staging_events
         UNION ALL
         SELECT ${selects(PARQUET_EVENT_FIELDS)},
                COALESCE(properties, '') || CHR(31) || COALESCE(context, '') AS tie_break
         FROM staging_events_parquet
         UNION ALL
         SELECT ${selects(PARQUET_EVENT_FIELDS_BEFORE_MERGES_USERS)},
                COALESCE(properties, '') || CHR(31) || COALESCE(context, '') AS tie_break
         FROM ${PARQUET_STAGING_BEFORE_MERGES_USERS}
       ) s
       WHERE s.message_id IS NOT NULL AND s.event IS NOT NULL
     ) d
     WHERE d.rn = 1 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = d.message_id)`,
    DROP_ERASED_STAGED_EVENTS,
    `INSERT INTO events (${columns(MERGED_FIELDS)}, loaded_at)
     SELECT ${columns(MERGED_FIELDS)}, SYSDATE FROM merge_events`,
    // Every merge recomputes identities: a run every few minutes reads the claims, one row per
    // (person, id, class), never the events they came from.
    ...identityFold(REDSHIFT_DIALECT, 'merge_events').map((statement) => statement.sql),
    ...purged.statements,
    ...recomputeIdentities(REDSHIFT_DIALECT, identity),
    `CREATE TEMP TABLE merge_failed AS
     SELECT record_key, ${columns(FAILED_FIELDS)} FROM (
       SELECT f.*, ROW_NUMBER() OVER (PARTITION BY f.record_key ORDER BY f.received_at ASC NULLS LAST) AS rn
       FROM (
         SELECT SHA2(COALESCE(m.message_id, '') || CHR(31) || m.failure_type || CHR(31) || COALESCE(m.payload, ''), 256)
                  AS record_key, m.*
         FROM (SELECT ${selects(FAILED_FIELDS)} FROM staging_failed) m
         WHERE m.failure_type IS NOT NULL
       ) f
     ) d
     WHERE d.rn = 1 AND NOT EXISTS (SELECT 1 FROM failed_events x WHERE x.record_key = d.record_key)`,
    DROP_ERASED_STAGED_FAILED,
    `INSERT INTO failed_events (record_key, ${columns(FAILED_FIELDS)}, loaded_at)
     SELECT record_key, ${columns(FAILED_FIELDS)}, SYSDATE FROM merge_failed`,
    `INSERT INTO load_log
       (load_id, started_at, finished_at, staged_events, inserted_events, staged_failed, inserted_failed,
        purged_events, purged_failed)
     SELECT '${loadId}', SYSDATE, GETDATE(),
       (SELECT COUNT(*) FROM staging_events) + (SELECT COUNT(*) FROM staging_events_parquet)
         + (SELECT COUNT(*) FROM ${PARQUET_STAGING_BEFORE_MERGES_USERS}),
       (SELECT COUNT(*) FROM merge_events),
       (SELECT COUNT(*) FROM staging_failed), (SELECT COUNT(*) FROM merge_failed),
       ${purged.counts}`,
    ...purged.drop,
    'DELETE FROM staging_events',
    'DELETE FROM staging_events_parquet',
    `DELETE FROM ${PARQUET_STAGING_BEFORE_MERGES_USERS}`,
    'DELETE FROM staging_failed',
    // This merge started after these erasures did, and dropped what they forbid (see above).
    'DELETE FROM erasure_ids WHERE erased_at < SYSDATE',
  ];
}

/** The rows that put the subject rows of one erasure into erasure_ids, with bound parameters. */
export function insertErasureIds(
  erasureId: string,
  rows: readonly SubjectRow[],
): { sql: string; params: Record<string, string> } {
  if (rows.length === 0) throw new Error('no ids to erase');
  const params: Record<string, string> = { erasure_id: checkUuid('erasure', erasureId) };
  const values = rows.map((row, i) => {
    params[`id${i}`] = row.id;
    params[`hex${i}`] = row.hex;
    return `(:erasure_id, :id${i}, :hex${i})`;
  });
  return { sql: `INSERT INTO erasure_ids (erasure_id, id, hex) VALUES ${values.join(', ')}`, params };
}

const ERASURE_COLUMNS = ERASURE_COUNT_COLUMNS.map(([column]) => column).join(', ');

/**
 * An erasure, as one transaction, of the ids insertErasureIds wrote under `erasureId`: stamps
 * them with the transaction's start (the tombstones the next merge reads), erases them
 * (person-erasure.ts), logs what went, and drops the rows earlier attempts left unstamped (a retry
 * writes its own). One erasure runs at a time: the deletion runner runs one step at a time.
 */
export function erasureBatch(erasureId: string, identity: IdentityRules): string[] {
  const id = checkUuid('erasure', erasureId);
  return [
    `UPDATE erasure_ids SET erased_at = SYSDATE WHERE erasure_id = '${id}'`,
    REDSHIFT_DIALECT.tempTable(
      ERASURE_SUBJECT,
      `SELECT DISTINCT CAST(id AS VARCHAR(256)) AS id, hex FROM erasure_ids WHERE erasure_id = '${id}'`,
    ),
    ...personErasure(REDSHIFT_DIALECT, identity),
    `INSERT INTO erasure_log (erasure_id, erased_at, ${ERASURE_COLUMNS})
     SELECT '${id}', SYSDATE, ${ERASURE_COLUMNS} FROM ${ERASURE_COUNTS}`,
    `DROP TABLE ${ERASURE_COUNTS}`,
    `DROP TABLE ${ERASURE_SUBJECT}`,
    'DELETE FROM erasure_ids WHERE erased_at IS NULL',
  ];
}

/** What one erasure removed; `:erasure_id` is bound. */
export const SELECT_ERASURE = `
  SELECT ${ERASURE_COLUMNS} FROM erasure_log WHERE erasure_id = :erasure_id`;

/** What one merge did; `:load_id` is bound. */
export const SELECT_LOAD = `
  SELECT inserted_events, inserted_failed, purged_events, purged_failed FROM load_log WHERE load_id = :load_id`;

/** Rows and freshness: the start of the last merge, since everything staged before it is in `events`. */
export const SELECT_STATUS = `
  SELECT (SELECT COUNT(*) FROM events) AS row_count,
         (SELECT ${REDSHIFT_DIALECT.epochMs('MAX(started_at)')} FROM load_log) AS as_of_ms`;

/** The staging table each kind of lake file is COPYed into. */
export type StagingTable =
  'staging_events' | 'staging_events_parquet' | typeof PARQUET_STAGING_BEFORE_MERGES_USERS | 'staging_failed';

const isParquetStaging = (table: StagingTable): boolean =>
  table === 'staging_events_parquet' || table === PARQUET_STAGING_BEFORE_MERGES_USERS;

/** The role Redshift assumes to read S3: an ARN, or the namespace's default IAM role. */
export type CopyRole = { arn: string } | 'default';

/** Control characters have no business in a lake key, and would hide what a statement says. */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * A Redshift string literal. Redshift treats a backslash in a literal as an escape, so both it and
 * the quote are doubled, as QUOTE_LITERAL does; control characters are refused.
 */
export function sqlLiteral(value: string): string {
  if (hasControlCharacter(value)) {
    throw new Error(`refusing a string with control characters in SQL: ${JSON.stringify(value)}`);
  }
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * COPY of one lake file. A Parquet events file loads column by column into staging_events_parquet
 * (SERIALIZETOJSON is what lets its enrichment struct load into a SUPER column);
 * a gzip NDJSON file (failed events, and events from before the lake moved to Parquet) loads each
 * record whole into its table's single SUPER column ('noshred' wants a one-column table, so no
 * column list). COPY's FROM takes no bind parameters, hence the literal. FROM is a key prefix to
 * COPY: Firehose's file names end in a UUID and a suffix, so no other object starts with one of them.
 */
export function copyStatement(table: StagingTable, bucket: string, key: string, role: CopyRole): string {
  const iamRole = role === 'default' ? 'default' : sqlLiteral(role.arn);
  const format = isParquetStaging(table) ? 'FORMAT AS PARQUET SERIALIZETOJSON' : "FORMAT JSON 'noshred' GZIP";
  return `COPY ${table} FROM ${sqlLiteral(`s3://${bucket}/${key}`)} IAM_ROLE ${iamRole} ${format}`;
}

/** Records lake files as loaded; runs in the transaction of their COPYs. */
export function recordLakeFilesStatement(keys: readonly string[]): string {
  if (keys.length === 0) throw new Error('no lake files to record');
  return `INSERT INTO lake_files (s3_key, loaded_at) VALUES ${keys.map((key) => `(${sqlLiteral(key)}, SYSDATE)`).join(', ')}`;
}

/**
 * How many files were ever loaded, and the newest hourly partition among them
 * (`year=YYYY/month=MM/day=DD/hour=HH`, the same below every root, so MAX orders them by time).
 */
export const SELECT_LAKE_FILES_STATE = `
  SELECT COUNT(*) AS file_count,
         MAX(SPLIT_PART(s3_key, '/', 2) || '/' || SPLIT_PART(s3_key, '/', 3) || '/' ||
             SPLIT_PART(s3_key, '/', 4) || '/' || SPLIT_PART(s3_key, '/', 5)) AS newest_partition
  FROM lake_files`;

/**
 * The loaded keys under the given prefixes (all of them without any), with the bound parameters.
 * The prefixes are LIKE patterns, so their own wildcards and escapes are escaped.
 */
export function selectLoadedKeys(prefixes: readonly string[]): {
  sql: string;
  params: Record<string, string>;
} {
  if (prefixes.length === 0) return { sql: 'SELECT s3_key FROM lake_files', params: {} };
  const params: Record<string, string> = {};
  const conditions = prefixes.map((prefix, i) => {
    params[`p${i}`] = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return `s3_key LIKE :p${i}`;
  });
  return { sql: `SELECT s3_key FROM lake_files WHERE ${conditions.join(' OR ')}`, params };
}

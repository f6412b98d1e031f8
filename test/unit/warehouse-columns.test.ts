import { createHash } from 'node:crypto';
import {
  EVENT_COLUMNS,
  FAILED_EVENT_COLUMNS,
  LAKE_ENRICHMENT_COLUMN,
  LAKE_ENRICHMENT_FIELDS,
  LAKE_EVENT_COLUMNS,
  isLakeColumn,
  lakeEventGlueColumns,
} from '../../src/sinks/lake/columns';
import { MIGRATIONS } from '../../src/sinks/warehouse/duckdb/duckdb-sql';
import {
  PARQUET_STAGING_BEFORE_MERGES_USERS,
  REDSHIFT_MIGRATIONS,
  parquetStagingType,
} from '../../src/sinks/warehouse/redshift/redshift-sql';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The columns the Redshift migrations give `table`, in order: its CREATE TABLE, then any ADD COLUMN;
 * a table renamed away and created again has the columns of its last CREATE TABLE. Constraint lines
 * (PRIMARY KEY …) and table attributes are upper case, so they never match a column.
 */
function redshiftColumns(table: string): Array<[string, string]> {
  let columns: Array<[string, string]> = [];
  for (const sql of REDSHIFT_MIGRATIONS.flatMap((m) => m.statements)) {
    if (sql.startsWith(`ALTER TABLE ${table} RENAME TO `)) columns = [];
    const create = new RegExp(`^CREATE TABLE ${table} \\(([\\s\\S]*)\\)`).exec(sql);
    if (create) columns = [];
    const body = create?.[1] ?? '';
    for (const [, name, type] of body.matchAll(/^\s+([a-z_]+) ([A-Z]+(?:\(\d+\))?)/gm)) {
      columns.push([name ?? '', type ?? '']);
    }
    const added = new RegExp(`ALTER TABLE ${table} ADD COLUMN ([a-z_]+) ([A-Z]+(?:\\(\\d+\\))?)`, 'g');
    for (const [, name, type] of sql.matchAll(added)) columns.push([name ?? '', type ?? '']);
  }
  return columns;
}

describe('applied migrations', () => {
  // A database runs a migration once, so an edit would reach only databases created after it:
  // two databases at the same version could differ. A change is a new migration instead.
  it('keep the DuckDB SQL they were applied with', () => {
    expect(MIGRATIONS.map((m) => [m.version, m.name, sha256(m.sql)])).toEqual([
      [1, 'events', '7bebad1385c45cda37b04823be629c6d7cbc42c52fe85259cbe41e58a18cc1de'],
      [2, 'failed_events', 'bd50485ee854cd8ef495e534e8d447fa395f27aabc89f7a9da1d86fa393daf2b'],
      [3, 'loaded_files', '067da76e7085ce37302de9b3d2591d84a6e45f52938b1aee4fb2d805fce1bd42'],
      [4, 'events_enrichment', '0e382229aa6e0909a58cb7e38f222292666158a6ccd7fdc09ab5b01fcfb4e273'],
      [5, 'events_without_primary_key', 'c39ea62e11342e9f5a4044261e6e980bf0eb132287e1e219cf1fee9b3a241137'],
      [6, 'user_numbers', 'e4d55fd70cfeb0beaaed8fb315f9931687f5e7a77a948f8b4ef95cd289a2826b'],
      [7, 'event_user_days', '19f6a7c3b655def83f42cd2899fa4a34fe6c44e0b65553b2b90cc1fe4aa74a18'],
      [8, 'events_original_event', '2df671d720284a7ba9b4decb6bfcb15510f908862eb7e4b45b682a27b93b9604'],
      [9, 'events_merges_users', 'f372305962d7daa8829d45fdc7fdc0ef38ed086e6c8ea53de03d0676acf82958'],
      [10, 'identities', '49d3ec00682b654d57e6e08666a559500a60b7a480cfce7800cd491721b99219'],
    ]);
  });

  it('keep the Redshift statements they were applied with', () => {
    expect(REDSHIFT_MIGRATIONS.map((m) => [m.version, m.name, sha256(JSON.stringify(m.statements))])).toEqual(
      [
        [1, 'events', '3fc7564a3f10359f4820e3780874a33e6b23e13575c67de7b1634378ff9df943'],
        [2, 'failed_events', '0b11ab34457486d2b4586271a9f13eb88156966315a16a0824297fb293ca4ae4'],
        [3, 'staging_and_load_log', '189d3deb534451673ffb670effaf14057f734ceb3ec0ed97e89874a25c6e5028'],
        [4, 'lake_files', 'e5739e7b027d2f326683ebada529b0783de1e5bb4ef3282091f59aa026a43e80'],
        [5, 'staging_events_parquet', '4990a7881fc6e92ced0698aac1b2f6ef4cdd2dc04c8fe01fe9d739e963d526d6'],
        [6, 'reader_role', '0b9fed4ff2f626ffda76d3ad683c06e47f3f6dd61ae61abaf2de7e7e42860c5c'],
        [7, 'events_original_event', '4df9cc4c4d1858196daa0d16f2ff8ada5c548811267071096835898089699892'],
        [8, 'events_merges_users', '09dc0b8d160072b7655297105b5f1d4fe64c99bc0a697f6fc880c615fbf9bff6'],
        [9, 'identities', '89511cff656d9161d70bfbcc90e1a1c88a030bfbedd59cbaef5edef58b96ebb2'],
        [10, 'erasures_and_purges', '7cc91468bbaa054044d6a202d2d4df80a5972f68f2307aa64040caf1727662ac'],
      ],
    );
  });
});

describe('the column catalogue', () => {
  it('has one entry per events column, each lake column with its own JSON key and lake name', () => {
    const names = EVENT_COLUMNS.map((c) => c.column);
    expect(new Set(names).size).toBe(names.length);
    for (const fields of [LAKE_EVENT_COLUMNS, LAKE_ENRICHMENT_FIELDS]) {
      expect(new Set(fields.map((c) => c.jsonKey)).size).toBe(fields.length);
      expect(new Set(fields.map((c) => c.lakeName)).size).toBe(fields.length);
    }
  });

  it('keeps the columns the warehouses derive out of the lake files', () => {
    const lakeNames = lakeEventGlueColumns().map((c) => c.name);
    const derived = EVENT_COLUMNS.filter((c) => !isLakeColumn(c)).map((c) => c.column);
    expect(derived).toEqual(['user_key', 'original_event']);
    for (const column of derived) expect(lakeNames).not.toContain(column);
  });

  it('gives the events table the Redshift migrations create, column for column and type for type', () => {
    expect(Object.fromEntries(redshiftColumns('events'))).toEqual(
      Object.fromEntries([
        ...EVENT_COLUMNS.map((c) => [c.column, c.redshift]),
        // Set by each merge, not read from the lake.
        ['loaded_at', 'TIMESTAMPTZ'],
      ]),
    );
  });

  it('gives the failed_events table the Redshift migrations create', () => {
    expect(Object.fromEntries(redshiftColumns('failed_events'))).toEqual(
      Object.fromEntries([
        ...FAILED_EVENT_COLUMNS.map((c) => [c.column, c.redshift]),
        ['record_key', 'VARCHAR(64)'],
        ['loaded_at', 'TIMESTAMPTZ'],
      ]),
    );
  });

  it('gives the Parquet staging table the lake columns in file order, as Redshift COPYs them by position', () => {
    const staging = redshiftColumns('staging_events_parquet');
    expect(staging).toEqual([
      ...LAKE_EVENT_COLUMNS.map((c) => [c.lakeName, parquetStagingType(c)]),
      [LAKE_ENRICHMENT_COLUMN, 'SUPER'],
    ]);
    expect(staging.map(([name]) => name)).toEqual(lakeEventGlueColumns().map((c) => c.name));
  });

  it('keeps the Parquet layout from before merges_users in a staging table of its own, for the files written then', () => {
    const before = REDSHIFT_MIGRATIONS.filter((m) => m.version <= 7);
    const columnsThen = before
      .flatMap((m) => m.statements)
      .map((sql) => /^CREATE TABLE staging_events_parquet \(([\s\S]*)\)/.exec(sql)?.[1])
      .find((body) => body !== undefined);
    expect(REDSHIFT_MIGRATIONS.flatMap((m) => m.statements)).toContain(
      `ALTER TABLE staging_events_parquet RENAME TO ${PARQUET_STAGING_BEFORE_MERGES_USERS}`,
    );
    expect(columnsThen?.match(/^\s+[a-z_]+/gm)?.map((c) => c.trim())).toEqual(
      lakeEventGlueColumns()
        .map((c) => c.name)
        .filter((name) => name !== 'merges_users'),
    );
  });
});

import { AthenaWarehouse } from '../../src/sinks/warehouse/athena/athena-warehouse';
import type { AthenaWarehouseOptions } from '../../src/sinks/warehouse/athena/athena-warehouse';
import { ATHENA_MIGRATIONS, MAINTENANCE_STATEMENTS } from '../../src/sinks/warehouse/athena/athena-sql';
import { EVENT_COLUMNS } from '../../src/sinks/lake/columns';
import { FakeAthena, MemoryLakeLister } from '../helpers/fake-athena';
import type { Cell } from '../helpers/fake-athena';

const NOW = new Date('2026-03-10T12:34:56.789Z');
const LOAD_ID = '11111111-2222-4333-8444-555555555555';
const EVENTS_FILE =
  'events/year=2026/month=03/day=10/hour=11/tributary-events-1-2026-03-10-11-00-00-abc.parquet';
const EVENTS_FILE_2 =
  'events/year=2026/month=03/day=09/hour=23/tributary-events-1-2026-03-09-23-00-00-def.parquet';
const FAILED_FILE = 'failed/year=2026/month=03/day=10/hour=12/tributary-failed-1-2026-03-10-12-00-00-ghi.gz';
const url = (key: string) => `s3://lake-bucket/${key}`;

let fake: FakeAthena;
let lister: MemoryLakeLister;

function warehouse(overrides: Partial<AthenaWarehouseOptions> = {}): AthenaWarehouse {
  return new AthenaWarehouse({
    api: fake.api(),
    lake: {
      source: { database: 'lake_db', table: 'events' },
      lister,
      tablesLocation: 's3://warehouse-bucket/tables/',
      lookbackHours: 24,
    },
    newId: () => LOAD_ID,
    now: () => NOW,
    ...overrides,
  });
}

/** Answers by the first word after SELECT that names what is asked. */
function answering(
  answers: Array<[RegExp, Array<Record<string, Cell>>]>,
): (sql: string) => Array<Record<string, Cell>> | undefined {
  return (sql) => answers.find(([pattern]) => pattern.test(sql))?.[1];
}

const kind = (sql: string): string => sql.trim().split(/\s+/).slice(0, 2).join(' ');

/** The answer of the query for the days of a batch's rows, per kind. */
const BATCH_DAYS = /^SELECT DISTINCT 'events' AS kind|^SELECT DISTINCT 'failed' AS kind/;
const days = (...rows: Array<[string, string | null]>): [RegExp, Array<Record<string, Cell>>] => [
  BATCH_DAYS,
  rows.map(([kind, day]) => ({ kind, day })),
];

beforeEach(() => {
  fake = new FakeAthena();
  lister = new MemoryLakeLister('lake-bucket');
});

afterEach(() => fake.restore());

describe('AthenaWarehouse.loadNew', () => {
  it('runs no query when the lookback holds no lake file', async () => {
    await expect(warehouse().loadNew()).resolves.toEqual({
      files: 0,
      rows: 0,
      pendingFiles: 0,
      skippedKeys: [],
    });
    expect(fake.sent).toHaveLength(0);
    // The lookback's days, under both roots.
    expect(lister.listed).toEqual([
      'events/year=2026/month=03/day=09/',
      'events/year=2026/month=03/day=10/',
      'failed/year=2026/month=03/day=09/',
      'failed/year=2026/month=03/day=10/',
    ]);
  });

  it('issues no MERGE when every listed file was merged before', async () => {
    lister.keys = [EVENTS_FILE, FAILED_FILE];
    fake.answer = answering([[/FROM lake_files/, [{ path: url(EVENTS_FILE) }, { path: url(FAILED_FILE) }]]]);
    await expect(warehouse().loadNew()).resolves.toMatchObject({ files: 0, rows: 0, pendingFiles: 0 });
    expect(fake.statements).toEqual([
      "SELECT path FROM lake_files WHERE hour_partition >= 'year=2026/month=03/day=09/hour=00'",
    ]);
  });

  it('merges pending files exactly once by key, folds their claims, records them and logs the load', async () => {
    lister.keys = [EVENTS_FILE, EVENTS_FILE_2, FAILED_FILE, 'events/year=2026/month=03/day=10/README.txt'];
    fake.answer = answering([
      [/FROM lake_files/, [{ path: url(EVENTS_FILE_2) }]],
      days(['events', '2026-03-10'], ['failed', '2026-03-10']),
      [/AS inserted_events/, [{ inserted_events: 7, inserted_failed: 2, tombstones: 0 }]],
    ]);
    const report = await warehouse().loadNew();
    expect(report).toEqual({
      files: 2,
      rows: 9,
      pendingFiles: 0,
      skippedKeys: ['events/year=2026/month=03/day=10/README.txt'],
    });
    expect(fake.statements.map(kind)).toEqual([
      'SELECT path',
      'SELECT DISTINCT',
      'MERGE INTO',
      'MERGE INTO',
      'MERGE INTO',
      'MERGE INTO',
      'INSERT INTO',
      'SELECT (SELECT',
      'INSERT INTO',
    ]);
    const [, batchDays, events, claims, userIds, failed, record, , log] = fake.statements as string[];
    expect(batchDays).toContain(`l."$path" IN ('${url(EVENTS_FILE)}')`);
    expect(batchDays).toContain(`r."$path" IN ('${url(FAILED_FILE)}')`);
    expect(batchDays).not.toContain(EVENTS_FILE_2);
    expect(events).toMatch(/^MERGE INTO events t/);
    expect(events).toContain(`l."$path" IN ('${url(EVENTS_FILE)}')`);
    expect(events).not.toContain(EVENTS_FILE_2);
    expect(events).toContain('FROM "lake_db"."events" l');
    // The keys held are read from the batch's day (and an hour either side) only.
    expect(events).toContain(
      "ON t.message_id = s.message_id AND ((t.event_time >= TIMESTAMP '2026-03-09 23:00:00.000' AND t.event_time < TIMESTAMP '2026-03-11 01:00:00.000'))",
    );
    expect(events).toMatch(/WHEN NOT MATCHED THEN INSERT/);
    expect(events).not.toMatch(/WHEN MATCHED/);
    expect(events).toContain("TIMESTAMP '2026-03-10 12:34:56.789'");
    expect(claims).toMatch(/^MERGE INTO identity_claims t/);
    expect(userIds).toMatch(/^MERGE INTO user_ids t/);
    expect(failed).toMatch(/^MERGE INTO failed_events t/);
    expect(failed).toContain(`r."$path" IN ('${url(FAILED_FILE)}')`);
    expect(failed).toContain(
      "ON t.record_key = s.record_key AND ((t.received_at >= TIMESTAMP '2026-03-09 23:00:00.000' AND t.received_at < TIMESTAMP '2026-03-11 01:00:00.000'))",
    );
    expect(record).toContain(`('${url(EVENTS_FILE)}', 'year=2026/month=03/day=10/hour=11'`);
    expect(record).toContain(`('${url(FAILED_FILE)}', 'year=2026/month=03/day=10/hour=12'`);
    expect(log).toContain(`'${LOAD_ID}'`);
    expect(log).toMatch(/\s2, 7, 2\)$/);
  });

  it('bounds the events merge by the days of the batch only, however scattered', async () => {
    lister.keys = [EVENTS_FILE, EVENTS_FILE_2];
    fake.answer = answering([
      // A straggler from last year, rows without a time, and two days that meet.
      days(['events', '2026-03-10'], ['events', '2025-06-01'], ['events', null], ['events', '2026-03-09']),
      [/AS inserted_events/, [{ inserted_events: 3, inserted_failed: 0, tombstones: 0 }]],
    ]);
    await warehouse().loadNew();
    const [batchDays] = fake.statements.filter((sql) => BATCH_DAYS.test(sql));
    expect(batchDays).not.toContain("'failed' AS kind");
    const merge = fake.statements.find((sql) => sql.startsWith('MERGE INTO events')) as string;
    const on = merge.slice(merge.indexOf('ON t.message_id'), merge.indexOf('WHEN NOT MATCHED'));
    expect(on.replace(/\s+/g, ' ').trim()).toBe(
      'ON t.message_id = s.message_id AND (t.event_time IS NULL' +
        " OR (t.event_time >= TIMESTAMP '2025-05-31 23:00:00.000' AND t.event_time < TIMESTAMP '2025-06-02 01:00:00.000')" +
        " OR (t.event_time >= TIMESTAMP '2026-03-08 23:00:00.000' AND t.event_time < TIMESTAMP '2026-03-11 01:00:00.000'))",
    );
    // Two files of one load: one row per messageId reaches the merge, whichever file holds it.
    expect(merge).toContain(`l."$path" IN ('${url(EVENTS_FILE_2)}', '${url(EVENTS_FILE)}')`);
    expect(merge).toMatch(/PARTITION BY s\.message_id ORDER BY s\.received_at ASC NULLS LAST, s\.tie_break/);
    expect(merge).toMatch(/WHERE d\.rn = 1 AND/);
  });

  it('merges nothing from files that hold no row, and records them', async () => {
    lister.keys = [EVENTS_FILE, FAILED_FILE];
    fake.answer = answering([
      [/AS inserted_events/, [{ inserted_events: 0, inserted_failed: 0, tombstones: 0 }]],
    ]);
    await expect(warehouse().loadNew()).resolves.toMatchObject({ files: 2, rows: 0 });
    expect(fake.statements.map(kind)).toEqual([
      'SELECT path',
      'SELECT DISTINCT',
      'INSERT INTO',
      'SELECT (SELECT',
      'INSERT INTO',
    ]);
    expect(fake.statements[2]).toMatch(/^INSERT INTO lake_files/);
  });

  it('merges at most maxFilesPerRun files of a kind and reports the rest as pending', async () => {
    lister.keys = [EVENTS_FILE, EVENTS_FILE_2];
    fake.answer = answering([
      [/AS inserted_events/, [{ inserted_events: 1, inserted_failed: 0, tombstones: 0 }]],
    ]);
    const w = new AthenaWarehouse({
      api: fake.api(),
      lake: {
        source: { database: 'lake_db', table: 'events' },
        lister,
        tablesLocation: 's3://warehouse-bucket/tables/',
        maxFilesPerRun: 1,
      },
      now: () => NOW,
      newId: () => LOAD_ID,
    });
    await expect(w.loadNew()).resolves.toMatchObject({ files: 1, pendingFiles: 1 });
    expect(fake.statements.filter((sql) => sql.startsWith('MERGE INTO failed_events'))).toHaveLength(0);
  });

  it('lists the whole lake when asked, and reads every merged file', async () => {
    lister.keys = [EVENTS_FILE];
    fake.answer = answering([[/FROM lake_files/, [{ path: url(EVENTS_FILE) }]]]);
    await warehouse().loadNew({ fullListing: true });
    expect(lister.listed).toEqual(['events/', 'failed/']);
    expect(fake.statements).toEqual(['SELECT path FROM lake_files']);
  });

  it('sweeps erasures that happened meanwhile, then drops the tombstones no load needs', async () => {
    lister.keys = [EVENTS_FILE];
    fake.answer = answering([
      days(['events', '2026-03-10']),
      [/AS inserted_events/, [{ inserted_events: 1, inserted_failed: 0, tombstones: 2 }]],
    ]);
    await warehouse().loadNew();
    const after = fake.statements.slice(
      fake.statements.findIndex((sql) => /AS inserted_events/.test(sql)) + 1,
    );
    expect(after.map(kind)).toEqual([
      'DELETE FROM',
      'DELETE FROM',
      'INSERT INTO',
      'DELETE FROM',
      'DELETE FROM',
      'DELETE FROM',
      'DELETE FROM',
      'DELETE FROM',
      'INSERT INTO',
    ]);
    // Every tombstone's ids, not one erasure's.
    expect(after[0]).toContain('(SELECT id FROM erasure_ids)');
    expect(after[7]).toBe("DELETE FROM erasure_ids WHERE erased_at < TIMESTAMP '2026-03-10 12:34:56.789'");
  });

  it('fails as WAREHOUSE_LOAD_FAILED with the reason, recording no file, when a merge fails', async () => {
    lister.keys = [EVENTS_FILE];
    fake.answer = answering([days(['events', '2026-03-10'])]);
    fake.fail = (sql) =>
      sql.startsWith('MERGE INTO events') ? 'HIVE_BAD_DATA: not a Parquet file' : undefined;
    const error = await warehouse()
      .loadNew()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'WAREHOUSE_LOAD_FAILED' });
    expect(String((error as Error).cause)).toContain('HIVE_BAD_DATA');
    expect(fake.statements.some((sql) => sql.startsWith('INSERT INTO lake_files'))).toBe(false);
  });
});

describe('AthenaWarehouse.erasePerson', () => {
  it('writes the ids as tombstones through parameters, counts, then deletes from every table', async () => {
    fake.answer = answering([
      [
        /AS identity_claims/,
        [{ events: 3, failed_events: 1, identity_claims: 2, user_ids: 1, identities: 2, user_numbers: 0 }],
      ],
    ]);
    const counts = await warehouse().erasePerson(['user-1', 'anon-é', '  ']);
    expect(counts).toEqual({
      events: 3,
      failedEvents: 1,
      identityClaims: 2,
      userIds: 1,
      identities: 2,
      userNumbers: 0,
    });
    const [insert, ...rest] = fake.sent;
    expect(insert?.sql).toMatch(/^INSERT INTO erasure_ids \(erasure_id, id, hex, erased_at\) VALUES/);
    // The ids travel only as parameters: user-1, anon-é (UTF-8 and Latin-1 bytes); never in the SQL.
    expect(insert?.parameters).toEqual([
      "'user-1'",
      `'${Buffer.from('user-1').toString('hex')}'`,
      "'anon-é'",
      `'${Buffer.from('anon-é').toString('hex')}'`,
      "'anon-é'",
      `'${Buffer.from('anon-é', 'latin1').toString('hex')}'`,
    ]);
    expect(fake.statements.join('\n')).not.toMatch(/user-1|anon-/);
    expect(rest.map((q) => kind(q.sql))).toEqual([
      'SELECT (SELECT',
      'DELETE FROM',
      'DELETE FROM',
      'INSERT INTO',
      'DELETE FROM',
      'DELETE FROM',
      'DELETE FROM',
      'DELETE FROM',
    ]);
    const deletes = rest.map((q) => q.sql).filter((sql) => sql.startsWith('DELETE FROM'));
    expect(deletes.map((sql) => /^DELETE FROM (\w+)/.exec(sql)?.[1])).toEqual([
      'identity_claims',
      'identity_claims',
      'user_ids',
      'events',
      'user_ids',
      'failed_events',
    ]);
    for (const sql of rest.map((q) => q.sql)) expect(sql).toContain(`erasure_id = '${LOAD_ID}'`);
  });

  it('runs nothing for ids that are all blank', async () => {
    await expect(warehouse().erasePerson(['', ' '])).resolves.toMatchObject({ events: 0, identities: 0 });
    expect(fake.sent).toHaveLength(0);
  });

  it('fails as WAREHOUSE_ERASURE_FAILED without the ids in the message', async () => {
    fake.fail = (sql) => (sql.startsWith('DELETE FROM events') ? 'ICEBERG_COMMIT_ERROR' : undefined);
    const error = (await warehouse()
      .erasePerson(['user-1'])
      .catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe('WAREHOUSE_ERASURE_FAILED');
    expect(error.message).not.toContain('user-1');
  });
});

describe('AthenaWarehouse.runDaily', () => {
  it('purges only when something expired, then compacts and vacuums every table', async () => {
    fake.answer = answering([[/AS failed_events/, [{ events: 0, failed_events: 0 }]]]);
    const w = warehouse({ retention: { eventsDays: 30, failedEventsDays: 7 } });
    await expect(w.runDaily()).resolves.toEqual({ purged: { events: 0, failedEvents: 0 }, maintained: true });
    expect(fake.statements[0]).toContain("event_time < TIMESTAMP '2026-02-08 00:00:00.000'");
    expect(fake.statements[0]).toContain(
      "coalesce(received_at, loaded_at) < TIMESTAMP '2026-03-03 00:00:00.000'",
    );
    expect(fake.statements[1]).toBe(
      "DELETE FROM erasure_ids WHERE erased_at < TIMESTAMP '2026-03-10 11:34:56.789'",
    );
    expect(fake.statements.slice(2)).toEqual(MAINTENANCE_STATEMENTS);
    expect(MAINTENANCE_STATEMENTS).toContain('OPTIMIZE events REWRITE DATA USING BIN_PACK');
    expect(MAINTENANCE_STATEMENTS).toContain('VACUUM events');
  });

  it('deletes the expired rows when the count finds some', async () => {
    fake.answer = answering([[/AS failed_events/, [{ events: 4, failed_events: 1 }]]]);
    const w = warehouse({ retention: { eventsDays: 30, failedEventsDays: 7 } });
    await expect(w.runDaily({ maintenance: false })).resolves.toEqual({
      purged: { events: 4, failedEvents: 1 },
      maintained: false,
    });
    expect(fake.statements.slice(1).map((sql) => /^(\w+ \w+ \w+)/.exec(sql)?.[1])).toEqual([
      'DELETE FROM identity_claims',
      'INSERT INTO identity_claims',
      'DELETE FROM user_ids',
      'DELETE FROM events',
      'DELETE FROM failed_events',
    ]);
  });
});

describe('AthenaWarehouse.migrate', () => {
  it('applies the migrations not applied yet, then the failed-events source and the identities view', async () => {
    fake.answer = answering([[/FROM schema_migrations/, []]]);
    await expect(warehouse().migrate()).resolves.toEqual([1]);
    const statements = fake.statements;
    expect(statements[0]).toMatch(/CREATE TABLE IF NOT EXISTS schema_migrations/);
    expect(statements[0]).toContain("LOCATION 's3://warehouse-bucket/tables/schema_migrations/'");
    expect(statements).toContainEqual(expect.stringMatching(/CREATE TABLE IF NOT EXISTS events \(/));
    expect(statements).toContainEqual(
      expect.stringMatching(/INSERT INTO schema_migrations .* VALUES \(1, 'tables'/s),
    );
    expect(statements.at(-2)).toContain("LOCATION 's3://lake-bucket/failed/'");
    expect(statements.at(-1)).toMatch(/CREATE OR REPLACE VIEW identities AS/);
  });

  it('skips an applied migration', async () => {
    fake.answer = answering([[/FROM schema_migrations/, [{ version: 1 }]]]);
    await expect(warehouse().migrate()).resolves.toEqual([]);
    expect(fake.statements.some((sql) => /CREATE TABLE IF NOT EXISTS events/.test(sql))).toBe(false);
  });

  it('creates events with the columns every load writes, in their order, and loaded_at', () => {
    const ddl = ATHENA_MIGRATIONS[0]?.statements('s3://warehouse-bucket/tables/')[0] as string;
    const body = ddl.slice(ddl.indexOf('(') + 1, ddl.indexOf('PARTITIONED BY'));
    const names = [...body.matchAll(/^\s*(\w+) \w+,?$/gm)].map((match) => match[1]);
    expect(names).toEqual([...EVENT_COLUMNS.map((column) => column.column), 'loaded_at']);
  });
});

describe('AthenaWarehouse analytics', () => {
  it('answers eventCounts from the result rows, with the parameters sent as literals', async () => {
    fake.answer = answering([
      [
        /AS bucket_ms/,
        [
          { bucket_ms: Date.parse('2026-03-09T00:00:00Z'), d0: 'page_view', n: 5, users: 2 },
          { bucket_ms: Date.parse('2026-03-10T00:00:00Z'), d0: null, n: 1, users: 1 },
        ],
      ],
    ]);
    const rows = await warehouse().eventCounts({
      from: new Date('2026-03-09T00:00:00Z'),
      to: new Date('2026-03-11T00:00:00Z'),
      granularity: 'DAY',
      events: ['page_view'],
      identity: 'RAW_ID',
    });
    expect(rows).toEqual([
      {
        bucket: new Date('2026-03-09T00:00:00Z'),
        event: 'page_view',
        count: 5,
        users: 2,
        dimensions: [{ dimension: 'EVENT', value: 'page_view' }],
      },
      {
        bucket: new Date('2026-03-10T00:00:00Z'),
        event: null,
        count: 1,
        users: 1,
        dimensions: [{ dimension: 'EVENT', value: null }],
      },
    ]);
    const [query] = fake.sent;
    expect(query?.parameters).toEqual([
      "'2026-03-09T00:00:00.000Z'",
      "'2026-03-11T00:00:00.000Z'",
      "'page_view'",
    ]);
    // No named placeholder is left: only the colons of time literals.
    expect(query?.sql).not.toMatch(/:[A-Za-z_]/);
    expect(query?.sql).toContain("date_diff('millisecond', TIMESTAMP '1970-01-01 00:00:00', event_time)");
    expect(query).toMatchObject({ workgroup: 'tributary', database: 'warehouse', catalog: 'AwsDataCatalog' });
  });

  it('counts persons through the identities view', async () => {
    fake.answer = answering([[/AS users/, [{ users: 4 }]]]);
    await expect(
      warehouse().uniqueUsers({
        from: new Date('2026-03-01T00:00:00Z'),
        to: new Date('2026-03-02T00:00:00Z'),
      }),
    ).resolves.toBe(4);
    expect(fake.statements[0]).toContain('LEFT JOIN identities p ON p.id = events.user_key');
  });

  it('reads failed events with their errors as JSON text', async () => {
    fake.answer = answering([
      [
        /FROM failed_events/,
        [
          {
            message_id: 'm1',
            failure_type: 'schema_violation',
            event: 'signup',
            errors: '[{"path":"/email","message":"must be a string"}]',
            payload: '{"event":"signup"}',
            payload_encoding: 'utf8',
            schema: 'signup',
            received_ms: Date.parse('2026-03-09T10:00:00Z'),
            processor_version: '1.2.3',
          },
        ],
      ],
    ]);
    const [failed] = await warehouse().failedEvents({
      from: new Date('2026-03-09T00:00:00Z'),
      to: new Date('2026-03-10T00:00:00Z'),
      limit: 10,
    });
    expect(failed).toMatchObject({
      messageId: 'm1',
      errors: [{ path: '/email', message: 'must be a string' }],
      receivedAt: '2026-03-09T10:00:00.000Z',
    });
  });

  it('reports rows and the start of the last load as freshness', async () => {
    fake.answer = answering([
      [/AS row_count/, [{ row_count: 12, as_of_ms: Date.parse('2026-03-10T12:00:00Z') }]],
    ]);
    await expect(warehouse().status()).resolves.toEqual({
      rows: 12,
      dataAsOf: new Date('2026-03-10T12:00:00Z'),
    });
    fake.answer = answering([[/AS row_count/, [{ row_count: 0, as_of_ms: null }]]]);
    await expect(warehouse().status()).resolves.toEqual({ rows: 0, dataAsOf: null });
  });
});

import { DEFAULT_IDENTITY_RULES } from '../../src/events/identity';
import { AthenaWarehouse } from '../../src/sinks/warehouse/athena/athena-warehouse';
import { ATHENA_DIALECT } from '../../src/sinks/warehouse/athena/athena-sql';
import { FakeAthena, MemoryLakeLister } from '../helpers/fake-athena';
import type { Cell } from '../helpers/fake-athena';
import { sqlGrammars } from '../helpers/sql-grammars';

/**
 * Every statement the Athena engine sends, collected through the mocked Athena from one run of
 * each thing it does, and checked against a grammar: queries and DML (SELECT, WITH, INSERT, MERGE,
 * DELETE, CREATE VIEW) against Trino's, which Athena engine 3 runs; DDL (CREATE TABLE, CREATE
 * EXTERNAL TABLE) against Spark's, the closest to Athena's Hive-based DDL with Iceberg partition
 * transforms. OPTIMIZE and VACUUM are Athena's own and in neither grammar: they are checked by hand
 * (docs/warehouse.md#athena-engine lists them), and this test fails if another kind appears.
 */

const NOW = new Date('2026-03-10T12:34:56.789Z');
const KEYS = [
  'events/year=2026/month=03/day=10/hour=11/tributary-events-1-2026-03-10-11-00-00-abc.parquet',
  "events/year=2026/month=03/day=10/hour=12/odd name with ' quote.parquet",
  'failed/year=2026/month=03/day=10/hour=12/tributary-failed-1-2026-03-10-12-00-00-ghi.gz',
];

const ANSWERS: Array<[RegExp, Array<Record<string, Cell>>]> = [
  [/FROM schema_migrations/, []],
  [
    /^SELECT DISTINCT 'events' AS kind/,
    [
      { kind: 'events', day: '2026-03-10' },
      { kind: 'events', day: '2025-12-31' },
      { kind: 'events', day: null },
      { kind: 'failed', day: '2026-03-10' },
    ],
  ],
  [/AS inserted_events/, [{ inserted_events: 1, inserted_failed: 1, tombstones: 1 }]],
  [
    /AS identity_claims/,
    [{ events: 1, failed_events: 1, identity_claims: 1, user_ids: 1, identities: 1, user_numbers: 0 }],
  ],
  [/AS failed_events$/, [{ events: 1, failed_events: 1 }]],
];

const HAND_CHECKED = /^(OPTIMIZE \w+ REWRITE DATA USING BIN_PACK|VACUUM \w+)$/;
const DDL = /^CREATE (EXTERNAL )?TABLE /;

async function everyStatement(): Promise<string[]> {
  const fake = new FakeAthena();
  fake.answer = (sql) => ANSWERS.find(([pattern]) => pattern.test(sql.trim()))?.[1];
  try {
    const warehouse = new AthenaWarehouse({
      api: fake.api(),
      lake: {
        source: { database: 'lake_db', table: 'events' },
        lister: new MemoryLakeLister('lake-bucket', KEYS),
        tablesLocation: 's3://warehouse-bucket/tables/',
      },
      retention: { eventsDays: 30, failedEventsDays: 7 },
      identity: { ...DEFAULT_IDENTITY_RULES, junkIds: new Set(['null', 'undefined']), maxMergedUsers: 5 },
      now: () => NOW,
      newId: () => '11111111-2222-4333-8444-555555555555',
    });
    const range = { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-03-10T06:00:00Z') };
    await warehouse.migrate();
    await warehouse.loadNew();
    await warehouse.erasePerson(['user-1', 'anonymous é']);
    await warehouse.runDaily();
    await warehouse.eventCounts({ ...range, granularity: 'HOUR' });
    await warehouse.eventCounts({
      ...range,
      granularity: 'WEEK',
      events: ['a', "b'c"],
      groupBy: ['UTM_SOURCE', 'BROWSER'],
      identity: 'RAW_ID',
    });
    await warehouse.eventCounts({ ...range, granularity: 'DAY', users: false });
    await warehouse.uniqueUsers({ ...range, event: 'signup' });
    await warehouse.funnel({ ...range, steps: ['view', 'cart', 'view', 'buy'], windowHours: 24 });
    await warehouse.funnel({ ...range, steps: ['view'], windowHours: 1, identity: 'RAW_ID' });
    await warehouse.retention({ ...range, startEvent: 'signup', returnEvent: 'login', period: 'DAY' });
    await warehouse.topItems({ ...range, event: 'view', limit: 10 });
    await warehouse.failedEvents({ ...range, failureType: 'schema_violation', event: 'signup', limit: 50 });
    await warehouse.status();
    return fake.statements;
  } finally {
    fake.restore();
  }
}

let statements: string[];

beforeAll(async () => {
  statements = await everyStatement();
}, 60_000);

describe('Athena statements against the grammars', () => {
  it('collects a statement of every kind the engine sends', () => {
    const kinds = new Set(statements.map((sql) => sql.trim().split(/\s+/).slice(0, 2).join(' ')));
    for (const kind of [
      'CREATE TABLE',
      'CREATE EXTERNAL',
      'CREATE OR',
      'MERGE INTO',
      'INSERT INTO',
      'DELETE FROM',
      'SELECT path',
      'SELECT DISTINCT',
      'OPTIMIZE events',
      'VACUUM events',
    ]) {
      expect(kinds).toContain(kind);
    }
    expect(statements.length).toBeGreaterThan(60);
  });

  // ANTLR's parse of the larger statements (the identities view, the erasure's counts) is slow.
  it('parses every query and DML statement with the Trino grammar', () => {
    const { trino } = sqlGrammars();
    const checked = [...new Set(statements)].filter(
      (sql) => !DDL.test(sql.trim()) && !HAND_CHECKED.test(sql.trim()),
    );
    expect(checked.length).toBeGreaterThan(40);
    const failures = checked
      .map((sql) => ({ sql, errors: trino.validate(sql) }))
      .filter((result) => result.errors.length > 0);
    expect(failures).toEqual([]);
  }, 180_000);

  it('parses every CREATE TABLE with the Spark grammar, Iceberg transforms and table properties included', () => {
    const { spark } = sqlGrammars();
    const ddl = statements.filter((sql) => DDL.test(sql.trim()));
    expect(ddl).toHaveLength(9);
    const failures = ddl
      .map((sql) => ({ sql, errors: spark.validate(sql) }))
      .filter((r) => r.errors.length > 0);
    expect(failures).toEqual([]);
  }, 60_000);

  it('sends nothing but OPTIMIZE and VACUUM that no grammar checks', () => {
    const unchecked = statements.filter((sql) => HAND_CHECKED.test(sql.trim()));
    expect(new Set(unchecked.map((sql) => sql.split(' ')[0]))).toEqual(new Set(['OPTIMIZE', 'VACUUM']));
  });

  it('is a real check: the grammars refuse what Athena would refuse', () => {
    const { trino, spark } = sqlGrammars();
    expect(
      trino.validate('MERGE INTO events t USING s ON t.a = s.a WHEN NOT MATCHED INSERT (a) VALUES (s.a)'),
    ).not.toEqual([]);
    expect(trino.validate(`SELECT ${ATHENA_DIALECT.epochMs('event_time')} FROM events WHERE`)).not.toEqual(
      [],
    );
    expect(spark.validate('CREATE TABLE t (a string) PARTITIONED BY day(a) LOCATION')).not.toEqual([]);
  });
});

import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { RedshiftDataApi } from '../../src/sinks/warehouse/redshift/redshift-data-api';
import {
  LAKE_TIMESTAMP_PATTERN,
  REDSHIFT_MIGRATIONS,
  mergeBatch,
  readerGrantStatements,
} from '../../src/sinks/warehouse/redshift/redshift-sql';
import { canonicalIsoMs, msToIso } from '../../src/events/iso-time';
import { RedshiftWarehouse } from '../../src/sinks/warehouse/redshift/redshift-warehouse';
import { DEFAULT_IDENTITY_RULES } from '../../src/events/identity';

const redshift = mockClient(RedshiftDataClient);
const LOAD_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

function warehouse(): RedshiftWarehouse {
  const api = new RedshiftDataApi({
    client: new RedshiftDataClient({ region: 'eu-west-1' }),
    workgroupName: 'analytics',
    database: 'tributary',
    sleep: async () => undefined,
  });
  return new RedshiftWarehouse({ api, newLoadId: () => LOAD_ID });
}

/** Answers each ExecuteStatement by SQL: statement ids carry the SQL, results are looked up by it. */
function answer(
  results: Array<{ match: RegExp; columns: string[]; rows: Array<Array<Record<string, unknown>>> }>,
) {
  let n = 0;
  const byId = new Map<string, (typeof results)[number] | undefined>();
  redshift.on(ExecuteStatementCommand).callsFake((input: { Sql: string }) => {
    n += 1;
    const id = `st-${n}`;
    byId.set(
      id,
      results.find((r) => r.match.test(input.Sql)),
    );
    return { Id: id };
  });
  redshift.on(DescribeStatementCommand).callsFake((input: { Id: string }) => ({
    Status: 'FINISHED',
    HasResultSet: byId.get(input.Id) !== undefined,
  }));
  redshift.on(GetStatementResultCommand).callsFake((input: { Id: string }) => {
    const result = byId.get(input.Id);
    return { ColumnMetadata: result?.columns.map((name) => ({ name })), Records: result?.rows ?? [] };
  });
}

beforeEach(() => redshift.reset());

describe('RedshiftWarehouse', () => {
  it('applies only the migrations not yet recorded, each as one batch with its bookkeeping row', async () => {
    answer([
      { match: /SELECT version FROM schema_migrations/, columns: ['version'], rows: [[{ longValue: 1 }]] },
    ]);
    redshift.on(BatchExecuteStatementCommand).resolves({ Id: 'batch' });
    const applied = await warehouse().migrate();
    expect(applied).toEqual(REDSHIFT_MIGRATIONS.filter((m) => m.version > 1).map((m) => m.version));
    const batches = redshift
      .commandCalls(BatchExecuteStatementCommand)
      .map((c) => c.args[0].input.Sqls ?? []);
    expect(batches).toHaveLength(applied.length);
    expect(batches[0]?.at(-1)).toBe(
      "INSERT INTO schema_migrations (version, name) VALUES (2, 'failed_events')",
    );
    expect(batches.flat().some((sql) => sql.includes('CREATE TABLE events'))).toBe(false);
    expect(redshift.commandCalls(ExecuteStatementCommand)[0]?.args[0].input.Sql).toMatch(
      /CREATE TABLE IF NOT EXISTS schema_migrations/,
    );
  });

  it('appends lake_files as a new migration rather than editing an applied one', () => {
    expect(REDSHIFT_MIGRATIONS.map((m) => [m.version, m.name])).toEqual([
      [1, 'events'],
      [2, 'failed_events'],
      [3, 'staging_and_load_log'],
      [4, 'lake_files'],
      [5, 'staging_events_parquet'],
      [6, 'reader_role'],
      [7, 'events_original_event'],
      [8, 'events_merges_users'],
      [9, 'identities'],
      [10, 'erasures_and_purges'],
    ]);
    expect(REDSHIFT_MIGRATIONS[3]?.statements.join('\n')).toMatch(/s3_key VARCHAR\(1024\) NOT NULL/);
  });

  it('quotes the reader user as an identifier, and refuses a name that could end the quotes', () => {
    expect(readerGrantStatements('IAMR:api', { exists: false, granted: false })).toEqual([
      'CREATE USER "IAMR:api" PASSWORD DISABLE',
      'GRANT ROLE tributary_reader TO "IAMR:api"',
    ]);
    expect(readerGrantStatements('IAMR:api', { exists: true, granted: true })).toEqual([]);
    expect(() => readerGrantStatements('x" CREATEUSER --', { exists: false, granted: false })).toThrow(
      /identifier/,
    );
  });

  it('keys events for the queries: DISTKEY(user_key), COMPOUND SORTKEY(event_time, event), SUPER JSON', () => {
    const ddl = REDSHIFT_MIGRATIONS[0]?.statements.join('\n') ?? '';
    expect(ddl).toMatch(/DISTKEY \(user_key\)/);
    expect(ddl).toMatch(/COMPOUND SORTKEY \(event_time, event\)/);
    expect(ddl).toMatch(/properties SUPER/);
    expect(ddl).toMatch(/context SUPER/);
  });

  it('without a lake copy, merges what is staged in one transaction, logs the load and reports inserted rows', async () => {
    answer([
      {
        match: /FROM load_log WHERE load_id = :load_id/,
        columns: ['inserted_events', 'inserted_failed'],
        rows: [[{ longValue: 120 }, { longValue: 3 }]],
      },
    ]);
    redshift.on(BatchExecuteStatementCommand).resolves({ Id: 'merge' });
    expect(await warehouse().loadNew()).toEqual({
      files: 0,
      rows: 123,
      pendingFiles: 0,
      skippedKeys: [],
      quarantined: [],
      purged: { events: 0, failedEvents: 0 },
    });
    const sqls = redshift.commandCalls(BatchExecuteStatementCommand)[0]?.args[0].input.Sqls ?? [];
    expect(sqls).toEqual(mergeBatch(LOAD_ID, DEFAULT_IDENTITY_RULES));
    const merge = sqls.join('\n');
    // One row per messageId, the earliest receivedAt winning, none already in events.
    expect(merge).toMatch(/PARTITION BY s\.message_id ORDER BY s\.received_at ASC/);
    expect(merge).toMatch(/NOT EXISTS \(SELECT 1 FROM events e WHERE e\.message_id = d\.message_id\)/);
    expect(sqls.slice(-5)).toEqual([
      'DELETE FROM staging_events',
      'DELETE FROM staging_events_parquet',
      'DELETE FROM staging_events_parquet_v1',
      'DELETE FROM staging_failed',
      'DELETE FROM erasure_ids WHERE erased_at < SYSDATE',
    ]);
    // Parquet rows: JSON text parsed into SUPER, enrichment fields by their lowercase Parquet names.
    expect(merge).toMatch(
      /CASE WHEN CAN_JSON_PARSE\(properties\) THEN JSON_PARSE\(properties\) END AS properties/,
    );
    expect(merge).toMatch(/enrichment\."browserversion"/);
    expect(merge).toMatch(/FROM staging_events_parquet/);
    expect(redshift.commandCalls(ExecuteStatementCommand)[0]?.args[0].input.Parameters).toEqual([
      { name: 'load_id', value: LOAD_ID },
    ]);
  });

  it("merges the name a Segment track call was sent with from the deduped row's context, NULL when it is not text", async () => {
    answer([]);
    redshift.on(BatchExecuteStatementCommand).resolves({ Id: 'merge' });
    await warehouse().loadNew();
    const sqls = redshift.commandCalls(BatchExecuteStatementCommand)[0]?.args[0].input.Sqls ?? [];
    const stage = sqls.find((sql) => sql.startsWith('CREATE TEMP TABLE merge_events')) ?? '';
    const insert = sqls.find((sql) => sql.startsWith('INSERT INTO events')) ?? '';
    // Read once, after the dedupe, where both staging tables' context is SUPER; a SUPER that is not
    // a string casts to NULL rather than failing the merge.
    const originalEvent =
      'CAST(CAST(d.context."segment"."event" AS VARCHAR) AS VARCHAR(256)) AS original_event';
    expect(stage.split(originalEvent)).toHaveLength(2);
    expect(stage).toMatch(/JSON_PARSE\(context\) END AS context/);
    expect(insert).toMatch(/^INSERT INTO events \([^)]*, context, original_event, merges_users, loaded_at\)/);
    // Neither staging branch reads such a column: the lake has none, only the merge derives it.
    expect(stage.match(/original_event/g)).toHaveLength(1);
  });

  it('adds original_event in a new migration that fills it for the rows merged before', () => {
    const migration = REDSHIFT_MIGRATIONS.find((m) => m.name === 'events_original_event');
    expect(migration?.statements).toEqual([
      'ALTER TABLE events ADD COLUMN original_event VARCHAR(256)',
      expect.stringMatching(
        /^UPDATE events SET original_event = CAST\(CAST\(events\.context\."segment"\."event" AS VARCHAR\) AS VARCHAR\(256\)\)\s+WHERE events\.context\."segment"\."event" IS NOT NULL$/,
      ),
    ]);
  });

  it('reports a failed merge as WAREHOUSE_LOAD_FAILED with the statement error as cause', async () => {
    redshift.on(BatchExecuteStatementCommand).resolves({ Id: 'merge' });
    redshift
      .on(DescribeStatementCommand)
      .resolves({ Status: 'FAILED', Error: 'ERROR: 1023 Serializable isolation violation' });
    await expect(warehouse().loadNew()).rejects.toMatchObject({
      code: 'WAREHOUSE_LOAD_FAILED',
      cause: expect.objectContaining({ code: 'WAREHOUSE_STATEMENT_FAILED' }),
    });
  });

  it('merges a time Redshift cannot read (year 0000, February 30) as NULL instead of failing the merge', async () => {
    answer([]);
    redshift.on(BatchExecuteStatementCommand).resolves({ Id: 'merge' });
    await warehouse().loadNew();
    const merge = (redshift.commandCalls(BatchExecuteStatementCommand)[0]?.args[0].input.Sqls ?? []).join(
      '\n',
    );
    const guard = (text: string) =>
      `CASE WHEN ${text} ~ '${LAKE_TIMESTAMP_PATTERN}' THEN CAST(${text} AS TIMESTAMPTZ) END`;
    for (const [column, key] of [
      ['event_time', 'timestamp'],
      ['original_timestamp', 'originalTimestamp'],
      ['sent_at', 'sentAt'],
      ['received_at', 'receivedAt'],
    ] as const) {
      expect(merge).toContain(`${guard(`CAST(record."${key}" AS VARCHAR)`)} AS ${column}`);
      expect(merge).toContain(`${guard(column)} AS ${column}`);
    }
    // From the failed-events staging too, and no cast to a time anywhere without its guard.
    expect(merge).toContain(`${guard('CAST(record."receivedAt" AS VARCHAR)')} AS received_at`);
    const casts = merge.match(/AS TIMESTAMPTZ\)/g) ?? [];
    const guarded = merge.match(/THEN CAST\([^]*? AS TIMESTAMPTZ\) END/g) ?? [];
    // Four times from each of the three event staging tables, and received_at from staging_failed.
    expect(casts).toHaveLength(13);
    expect(guarded).toHaveLength(casts.length);
  });

  it('guards with a pattern that takes exactly the real times of the years 0001 to 9999', () => {
    const pattern = new RegExp(LAKE_TIMESTAMP_PATTERN);
    for (const text of [
      '0001-01-01T00:00:00.000Z',
      '2024-02-29T23:59:59.999Z',
      '2000-02-29T00:00:00Z',
      '0400-02-29T12:00:00.5Z',
      '9999-12-31T23:59:59.999999Z',
    ]) {
      expect([text, pattern.test(text)]).toEqual([text, true]);
    }
    for (const text of [
      '0000-01-01T00:00:00.000Z',
      '2026-02-30T00:00:00.000Z',
      '2023-02-29T00:00:00.000Z',
      '1900-02-29T00:00:00.000Z',
      '2026-04-31T00:00:00.000Z',
      '2026-05-04T24:00:00.000Z',
      '2026-05-04T10:00:00.000+02:00',
      '+010000-01-01T00:00:00.000Z',
      '2026-05-04 10:00:00Z',
      '',
    ]) {
      expect([text, pattern.test(text)]).toEqual([text, false]);
    }
    // Every shape of a canonical time, valid or not: the pattern agrees with the stream's own parser.
    let seed = 11;
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const disagreements: string[] = [];
    for (let i = 0; i < 20_000; i += 1) {
      const year = i % 5 === 0 ? next(20) * 100 + next(4) * 4 : next(10_000);
      const text = `${pad(year, 4)}-${pad(next(14), 2)}-${pad(next(33), 2)}T${pad(next(25), 2)}:${pad(next(61), 2)}:${pad(next(61), 2)}.${pad(next(1000), 3)}Z`;
      const valid = !Number.isNaN(canonicalIsoMs(text)) && year >= 1;
      if (pattern.test(text) !== valid) disagreements.push(text);
    }
    for (let ms = Date.UTC(1, 0, 1); ms < Date.UTC(9999, 11, 31); ms += 86_400_000 * 97 + 3_601_001) {
      if (!pattern.test(msToIso(ms))) disagreements.push(msToIso(ms));
    }
    expect(disagreements).toEqual([]);
  });

  it('reads status from events and the load log', async () => {
    answer([
      {
        match: /row_count/,
        columns: ['row_count', 'as_of_ms'],
        rows: [[{ longValue: 42 }, { longValue: Date.parse('2024-05-01T10:00:00Z') }]],
      },
    ]);
    expect(await warehouse().status()).toEqual({ rows: 42, dataAsOf: new Date('2024-05-01T10:00:00Z') });
    // DATE_PART(ms) carries the microseconds as a fraction: floored, not rounded into the next second.
    expect(redshift.commandCalls(ExecuteStatementCommand)[0]?.args[0].input.Sql).toContain(
      'CAST(FLOOR(DATE_PART(ms, MAX(started_at))) AS BIGINT) % 1000',
    );
  });
});

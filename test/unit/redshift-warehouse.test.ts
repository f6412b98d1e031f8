import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { RedshiftDataApi } from '../../src/sinks/warehouse/redshift/redshift-data-api';
import { lakeEventGlueColumns } from '../../src/sinks/lake/columns';
import { REDSHIFT_MIGRATIONS, mergeBatch } from '../../src/sinks/warehouse/redshift/redshift-sql';
import { RedshiftWarehouse } from '../../src/sinks/warehouse/redshift/redshift-warehouse';

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
    ]);
    expect(REDSHIFT_MIGRATIONS[3]?.statements.join('\n')).toMatch(/s3_key VARCHAR\(1024\) NOT NULL/);
  });

  it('stages Parquet events in a table whose columns follow the lake files, as COPY maps them by position', () => {
    const ddl = REDSHIFT_MIGRATIONS[4]?.statements.join('\n') ?? '';
    const columns = [...ddl.matchAll(/^\s+([a-z_]+) (?:VARCHAR|SUPER)/gm)].map((m) => m[1]);
    expect(columns).toEqual(lakeEventGlueColumns().map((c) => c.name));
    expect(ddl).toMatch(/enrichment SUPER/);
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
    expect(await warehouse().loadNew()).toEqual({ files: 0, rows: 123, pendingFiles: 0, skippedKeys: [] });
    const sqls = redshift.commandCalls(BatchExecuteStatementCommand)[0]?.args[0].input.Sqls ?? [];
    expect(sqls).toEqual(mergeBatch(LOAD_ID));
    const merge = sqls.join('\n');
    // One row per messageId, the earliest receivedAt winning, none already in events.
    expect(merge).toMatch(/PARTITION BY s\.message_id ORDER BY s\.received_at ASC/);
    expect(merge).toMatch(/NOT EXISTS \(SELECT 1 FROM events e WHERE e\.message_id = d\.message_id\)/);
    expect(sqls.slice(-3)).toEqual([
      'DELETE FROM staging_events',
      'DELETE FROM staging_events_parquet',
      'DELETE FROM staging_failed',
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

  it('reads status from events and the load log', async () => {
    answer([
      {
        match: /row_count/,
        columns: ['row_count', 'as_of_ms'],
        rows: [[{ longValue: 42 }, { longValue: Date.parse('2024-05-01T10:00:00Z') }]],
      },
    ]);
    expect(await warehouse().status()).toEqual({ rows: 42, dataAsOf: new Date('2024-05-01T10:00:00Z') });
  });
});

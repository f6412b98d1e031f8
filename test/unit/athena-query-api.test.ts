import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-athena';
import type {
  GetQueryExecutionCommandOutput,
  QueryExecutionState,
  QueryExecutionStatus,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AthenaQueryApi,
  MAX_PARAMETER_LENGTH,
  createAthenaQueryApi,
  toPositional,
} from '../../src/sinks/warehouse/athena/athena-query-api';
import type { AthenaQueryApiOptions } from '../../src/sinks/warehouse/athena/athena-query-api';
import { WarehouseError, WarehouseStatementError } from '../../src/sinks/warehouse/errors';

const athena = mockClient(AthenaClient);
const client = new AthenaClient({ region: 'eu-west-1' });

let sleeps: number[];
let clock: number;

function api(overrides: Partial<AthenaQueryApiOptions> = {}): AthenaQueryApi {
  return new AthenaQueryApi({
    client,
    workgroup: 'tributary',
    database: 'warehouse',
    timeoutMs: 10_000,
    pollMinMs: 100,
    pollMaxMs: 800,
    // A virtual clock: each sleep advances it, so timeouts are tested without waiting.
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    now: () => clock,
    ...overrides,
  });
}

const state = (
  State: QueryExecutionState,
  extra: Omit<QueryExecutionStatus, 'State'> = {},
): GetQueryExecutionCommandOutput => ({
  QueryExecution: { QueryExecutionId: 'q1', Status: { State, ...extra } },
  $metadata: {},
});

beforeEach(() => {
  athena.reset();
  sleeps = [];
  clock = 0;
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
});

afterAll(() => athena.restore());

describe('toPositional', () => {
  it('turns named placeholders into ? with one quoted literal per occurrence, in order', () => {
    expect(toPositional('SELECT 1 WHERE a = :a AND b IN (:b, :a)', { a: "it's", b: 'x' })).toEqual({
      sql: 'SELECT 1 WHERE a = ? AND b IN (?, ?)',
      parameters: ["'it''s'", "'x'", "'it''s'"],
    });
  });

  it('leaves colons in quoted text, quoted identifiers and comments alone', () => {
    const sql = `SELECT '10:30 :a', "$path:x" -- :a\n, /* :a */ :a`;
    expect(toPositional(sql, { a: 'v' })).toEqual({
      sql: `SELECT '10:30 :a', "$path:x" -- :a\n, /* :a */ ?`,
      parameters: ["'v'"],
    });
  });

  it('refuses a placeholder without a value, and a value longer than Athena takes', () => {
    expect(() => toPositional('SELECT :missing', {})).toThrow(/"missing" has no value/);
    expect(() => toPositional('SELECT :a', { a: 'x'.repeat(MAX_PARAMETER_LENGTH - 1) })).toThrow(
      expect.objectContaining({ code: 'WAREHOUSE_INVALID_QUERY' }),
    );
    expect(toPositional('SELECT :a', { a: 'x'.repeat(MAX_PARAMETER_LENGTH - 2) }).parameters[0]).toHaveLength(
      MAX_PARAMETER_LENGTH,
    );
  });

  it('keeps a value that looks like SQL inside its literal', () => {
    const { parameters } = toPositional('SELECT :a', { a: "x'); DROP TABLE events; --" });
    expect(parameters).toEqual(["'x''); DROP TABLE events; --'"]);
  });
});

describe('AthenaQueryApi', () => {
  it('starts the query in the workgroup and database, with positional parameters and the results location', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    await api({ outputLocation: 's3://results/athena/' }).execute('DELETE FROM t WHERE a = :a', { a: 'x' });
    const [start] = athena.commandCalls(StartQueryExecutionCommand);
    expect(start?.args[0].input).toEqual({
      QueryString: 'DELETE FROM t WHERE a = ?',
      WorkGroup: 'tributary',
      QueryExecutionContext: { Database: 'warehouse', Catalog: 'AwsDataCatalog' },
      ExecutionParameters: ["'x'"],
      ResultConfiguration: { OutputLocation: 's3://results/athena/' },
    });
    // A statement without rows asks for none.
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });

  it('sends no ExecutionParameters without placeholders, and leaves the results location to the workgroup', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    await api().execute('VACUUM events');
    const input = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input;
    expect(input?.ExecutionParameters).toBeUndefined();
    expect(input?.ResultConfiguration).toBeUndefined();
  });

  it('polls with exponential backoff capped at pollMaxMs until the query succeeds', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(state('QUEUED'))
      .resolvesOnce(state('RUNNING'))
      .resolvesOnce(state('RUNNING'))
      .resolvesOnce(state('RUNNING'))
      .resolvesOnce(state('RUNNING'))
      .resolves(state('SUCCEEDED'));
    await api().execute('OPTIMIZE events REWRITE DATA USING BIN_PACK');
    expect(sleeps).toEqual([100, 200, 400, 800, 800]);
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(6);
  });

  it('fails with the state change reason when the query fails', async () => {
    athena.on(GetQueryExecutionCommand).resolves(
      state('FAILED', {
        StateChangeReason: 'COLUMN_NOT_FOUND: line 1:8',
        AthenaError: { Retryable: false },
      }),
    );
    const error = await api()
      .query('SELECT nope FROM events')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseStatementError);
    expect(error).toMatchObject({
      code: 'WAREHOUSE_STATEMENT_FAILED',
      statementId: 'q1',
      retryable: false,
      message: expect.stringContaining('COLUMN_NOT_FOUND: line 1:8') as unknown,
    });
  });

  it('marks a failure Athena calls retryable as retryable', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolves(
        state('FAILED', { StateChangeReason: 'ICEBERG_COMMIT_ERROR', AthenaError: { Retryable: true } }),
      );
    await expect(api().execute('DELETE FROM events')).rejects.toMatchObject({ retryable: true });
  });

  it('fails as aborted when the query was cancelled', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolves(state('CANCELLED', { StateChangeReason: 'stopped by user' }));
    await expect(api().query('SELECT 1')).rejects.toMatchObject({
      code: 'WAREHOUSE_STATEMENT_ABORTED',
      message: expect.stringContaining('stopped by user') as unknown,
    });
  });

  it('stops a query still running at the timeout and fails as WAREHOUSE_TIMEOUT', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('RUNNING'));
    athena.on(StopQueryExecutionCommand).resolves({});
    await expect(api({ timeoutMs: 1_000 }).query('SELECT 1')).rejects.toMatchObject({
      code: 'WAREHOUSE_TIMEOUT',
      retryable: true,
    });
    expect(athena.commandCalls(StopQueryExecutionCommand)[0]?.args[0].input).toEqual({
      QueryExecutionId: 'q1',
    });
    // Never sleeps past the deadline.
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(1_000);
  });

  it('still reports the timeout when stopping the query fails', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('RUNNING'));
    athena.on(StopQueryExecutionCommand).rejects(new Error('already finished'));
    await expect(api({ timeoutMs: 100 }).query('SELECT 1')).rejects.toMatchObject({
      code: 'WAREHOUSE_TIMEOUT',
    });
  });

  it('reads every page, drops the header row of the first page only, and types values by column', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    const columns = [
      { Name: 'event', Label: 'event', Type: 'varchar' },
      { Name: 'n', Label: 'n', Type: 'bigint' },
      { Name: 'bot', Label: 'bot', Type: 'boolean' },
    ];
    const row = (...values: Array<string | undefined>) => ({
      Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })),
    });
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q1', NextToken: undefined })
      .resolves({
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: columns },
          Rows: [row('event', 'n', 'bot'), row('a', '1', 'true')],
        },
        NextToken: 't2',
      })
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q1', NextToken: 't2' })
      // A later page's first row is data, even when it reads like the header.
      .resolves({
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: columns },
          Rows: [row('event', '2', 'false'), row(undefined, undefined, undefined)],
        },
      });
    await expect(api().query('SELECT event, n, bot FROM t')).resolves.toEqual([
      { event: 'a', n: 1, bot: true },
      { event: 'event', n: 2, bot: false },
      { event: null, n: null, bot: null },
    ]);
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(2);
  });

  it('translates throttling into WAREHOUSE_BUSY', async () => {
    athena
      .on(StartQueryExecutionCommand)
      .rejects(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} }));
    await expect(api().query('SELECT 1')).rejects.toMatchObject({ code: 'WAREHOUSE_BUSY', retryable: true });
  });

  it('refuses a statement with an unbound placeholder before sending anything', async () => {
    await expect(api().query('SELECT :a')).rejects.toBeInstanceOf(WarehouseError);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });

  it('is built from the configuration with its query timeout', async () => {
    athena.on(GetQueryExecutionCommand).resolves(state('RUNNING'));
    athena.on(StopQueryExecutionCommand).resolves({});
    const built = createAthenaQueryApi(
      { aws: { region: 'eu-west-1' }, athena: { workgroup: 'wg', database: 'db', queryTimeoutMs: 300 } },
      { client, sleep: async () => Promise.resolve(), now: () => (clock += 100) },
    );
    await expect(built.query('SELECT 1')).rejects.toMatchObject({ code: 'WAREHOUSE_TIMEOUT' });
    expect(athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input).toMatchObject({
      WorkGroup: 'wg',
      QueryExecutionContext: { Database: 'db' },
    });
  });
});

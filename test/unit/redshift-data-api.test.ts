import {
  ActiveStatementsExceededException,
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
  ValidationException,
} from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigError, loadConfig } from '../../src/config';
import {
  RedshiftDataApi,
  createRedshiftDataApi,
  fieldValue,
} from '../../src/sinks/warehouse/redshift/redshift-data-api';
import type { RedshiftDataApiOptions } from '../../src/sinks/warehouse/redshift/redshift-data-api';
import { REDSHIFT_DIALECT } from '../../src/sinks/warehouse/dialect';
import { WarehouseQueries } from '../../src/sinks/warehouse/queries';

const redshift = mockClient(RedshiftDataClient);
const client = new RedshiftDataClient({ region: 'eu-west-1' });

let sleeps: number[];
let clock: number;

function api(overrides: Partial<RedshiftDataApiOptions> = {}): RedshiftDataApi {
  return new RedshiftDataApi({
    client,
    workgroupName: 'analytics',
    database: 'tributary',
    secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift',
    timeoutMs: 10_000,
    pollMinMs: 100,
    pollMaxMs: 800,
    // A virtual clock: each sleep advances it, so timeouts are tested without waiting.
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    ...overrides,
  });
}

beforeEach(() => {
  redshift.reset();
  sleeps = [];
  clock = 1_000_000;
});

describe('RedshiftDataApi', () => {
  it('sends named parameters and the target, polls with backoff until FINISHED, and reads every page', async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'st-1' });
    redshift
      .on(DescribeStatementCommand)
      .resolvesOnce({ Status: 'SUBMITTED' })
      .resolvesOnce({ Status: 'PICKED' })
      .resolvesOnce({ Status: 'STARTED' })
      .resolvesOnce({ Status: 'STARTED' })
      .resolves({ Status: 'FINISHED', HasResultSet: true });
    const columns = [{ name: 'event' }, { name: 'n' }, { name: 'ratio' }, { name: 'bot' }, { name: 'note' }];
    redshift
      .on(GetStatementResultCommand, { Id: 'st-1', NextToken: undefined })
      .resolves({
        ColumnMetadata: columns,
        Records: [
          [
            { stringValue: 'a' },
            { longValue: 3 },
            { doubleValue: 0.5 },
            { booleanValue: true },
            { isNull: true },
          ],
        ],
        NextToken: 'page-2',
      })
      .on(GetStatementResultCommand, { Id: 'st-1', NextToken: 'page-2' })
      .resolves({
        ColumnMetadata: columns,
        Records: [
          [
            { stringValue: 'b' },
            { longValue: 4 },
            { doubleValue: 1 },
            { booleanValue: false },
            { stringValue: 'x' },
          ],
        ],
      });

    const rows = await api().query('SELECT … WHERE event = :event AND t >= :from', {
      event: 'a',
      from: '2024-05-01',
    });

    expect(rows).toEqual([
      { event: 'a', n: 3, ratio: 0.5, bot: true, note: null },
      { event: 'b', n: 4, ratio: 1, bot: false, note: 'x' },
    ]);
    expect(redshift.commandCalls(ExecuteStatementCommand)[0]?.args[0].input).toEqual({
      WorkgroupName: 'analytics',
      Database: 'tributary',
      SecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift',
      Sql: 'SELECT … WHERE event = :event AND t >= :from',
      Parameters: [
        { name: 'event', value: 'a' },
        { name: 'from', value: '2024-05-01' },
      ],
    });
    expect(sleeps).toEqual([100, 200, 400, 800]);
    expect(redshift.commandCalls(GetStatementResultCommand)).toHaveLength(2);
  });

  it('returns no rows, and reads no result, for a statement without a result set', async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'st-2' });
    redshift.on(DescribeStatementCommand).resolves({ Status: 'FINISHED', HasResultSet: false });
    expect(await api().query('DELETE FROM staging_events')).toEqual([]);
    expect(redshift.commandCalls(ExecuteStatementCommand)[0]?.args[0].input.Parameters).toBeUndefined();
    expect(redshift.commandCalls(GetStatementResultCommand)).toHaveLength(0);
  });

  it('throws WAREHOUSE_STATEMENT_FAILED with the engine message when the statement FAILED', async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'st-3' });
    redshift
      .on(DescribeStatementCommand)
      .resolves({ Status: 'FAILED', Error: 'ERROR: relation "evnts" does not exist' });
    await expect(api().query('SELECT 1 FROM evnts')).rejects.toMatchObject({
      name: 'WarehouseStatementError',
      code: 'WAREHOUSE_STATEMENT_FAILED',
      statementId: 'st-3',
      retryable: false,
      message: expect.stringContaining('relation "evnts" does not exist'),
    });
  });

  it('throws a retryable WAREHOUSE_STATEMENT_ABORTED when the statement was ABORTED', async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'st-4' });
    redshift.on(DescribeStatementCommand).resolves({ Status: 'ABORTED' });
    await expect(api().query('SELECT 1')).rejects.toMatchObject({
      code: 'WAREHOUSE_STATEMENT_ABORTED',
      statementId: 'st-4',
      retryable: true,
    });
  });

  it('cancels a statement that outlives the timeout and throws WAREHOUSE_TIMEOUT', async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'st-5' });
    redshift.on(DescribeStatementCommand).resolves({ Status: 'STARTED' });
    redshift.on(CancelStatementCommand).resolves({ Status: true });
    await expect(api({ timeoutMs: 2_000 }).query('SELECT pg_sleep(60)')).rejects.toMatchObject({
      code: 'WAREHOUSE_TIMEOUT',
      statementId: 'st-5',
      retryable: true,
    });
    expect(redshift.commandCalls(CancelStatementCommand).map((c) => c.args[0].input)).toEqual([
      { Id: 'st-5' },
    ]);
    // Never sleeps past the deadline: 100 + 200 + 400 + 800 + 500 = 2,000.
    expect(sleeps).toEqual([100, 200, 400, 800, 500]);
  });

  it('still reports the timeout when the cancel itself fails', async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'st-6' });
    redshift.on(DescribeStatementCommand).resolves({ Status: 'SUBMITTED' });
    redshift
      .on(CancelStatementCommand)
      .rejects(new ValidationException({ message: 'already finished', $metadata: {} }));
    await expect(api({ timeoutMs: 100 }).query('SELECT 1')).rejects.toMatchObject({
      code: 'WAREHOUSE_TIMEOUT',
    });
  });

  it('runs a batch as one BatchExecuteStatement and waits for it', async () => {
    redshift.on(BatchExecuteStatementCommand).resolves({ Id: 'batch-1' });
    redshift
      .on(DescribeStatementCommand)
      .resolvesOnce({ Status: 'STARTED' })
      .resolves({ Status: 'FINISHED' });
    await api().batch(['INSERT INTO a SELECT 1', 'DELETE FROM b']);
    expect(redshift.commandCalls(BatchExecuteStatementCommand)[0]?.args[0].input).toMatchObject({
      WorkgroupName: 'analytics',
      Database: 'tributary',
      Sqls: ['INSERT INTO a SELECT 1', 'DELETE FROM b'],
    });
    expect(redshift.commandCalls(DescribeStatementCommand)).toHaveLength(2);
  });

  it('translates throttling into a retryable WAREHOUSE_BUSY and rethrows errors it does not know', async () => {
    redshift
      .on(ExecuteStatementCommand)
      .rejectsOnce(new ActiveStatementsExceededException({ message: 'too many', $metadata: {} }))
      .rejectsOnce(new TypeError('socket hang up'));
    await expect(api().query('SELECT 1')).rejects.toMatchObject({
      code: 'WAREHOUSE_BUSY',
      retryable: true,
      cause: expect.any(ActiveStatementsExceededException),
    });
    await expect(api().query('SELECT 1')).rejects.toThrow(TypeError);
  });

  it('translates a ValidationException into WAREHOUSE_STATEMENT_FAILED', async () => {
    redshift
      .on(ExecuteStatementCommand)
      .rejects(new ValidationException({ message: 'bad parameter', $metadata: {} }));
    await expect(api().query('SELECT :x', { x: 'y' })).rejects.toMatchObject({
      code: 'WAREHOUSE_STATEMENT_FAILED',
      retryable: false,
    });
  });

  it('refuses to bind an empty value, which the Data API rejects, before calling it', async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'st-7' });
    await expect(
      api().query('SELECT 1 WHERE event = :event', { from: 'x', event: '' }),
    ).rejects.toMatchObject({
      name: 'WarehouseError',
      code: 'WAREHOUSE_INVALID_QUERY',
      message: expect.stringContaining('"event"'),
    });
    expect(redshift.commandCalls(ExecuteStatementCommand)).toHaveLength(0);
  });
});

describe('createRedshiftDataApi', () => {
  const virtualClock = {
    client,
    pollMinMs: 100,
    pollMaxMs: 800,
    sleep: async (ms: number) => {
      clock += ms;
    },
    now: () => clock,
  };
  const started = () => clock;
  /** What the handlers pass: the AWS settings and the Redshift ones, from the environment. */
  const fromEnv = (env: Record<string, string>) => {
    const { aws, redshift } = loadConfig({ TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics', ...env });
    if (redshift === undefined) throw new Error('no Redshift settings');
    return { aws, redshift };
  };

  it('cancels statements after TRIBUTARY_REDSHIFT_QUERY_TIMEOUT_MS, and signs in by IAM without a secret', async () => {
    // What the stack gives the graphql function: no secret, statements shorter than its 15 s.
    const config = fromEnv({ TRIBUTARY_REDSHIFT_QUERY_TIMEOUT_MS: '10000' });
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'st-slow' });
    redshift.on(DescribeStatementCommand).resolves({ Status: 'STARTED' });
    redshift.on(CancelStatementCommand).resolves({ Status: true });
    const from = started();
    await expect(createRedshiftDataApi(config, virtualClock).query('SELECT 1')).rejects.toMatchObject({
      code: 'WAREHOUSE_TIMEOUT',
    });
    expect(clock - from).toBe(10_000);
    expect(redshift.commandCalls(CancelStatementCommand).map((c) => c.args[0].input)).toEqual([
      { Id: 'st-slow' },
    ]);
    expect(redshift.commandCalls(ExecuteStatementCommand)[0]?.args[0].input).toEqual(
      expect.objectContaining({ WorkgroupName: 'analytics', Database: 'tributary', SecretArn: undefined }),
    );
  });

  it('lets the caller give its own timeout (the load step merges for minutes)', async () => {
    const config = fromEnv({ TRIBUTARY_REDSHIFT_QUERY_TIMEOUT_MS: '10000' });
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'st-merge' });
    redshift.on(DescribeStatementCommand).resolves({ Status: 'STARTED' });
    const from = started();
    await expect(
      createRedshiftDataApi(config, { ...virtualClock, timeoutMs: 300_000 }).query('SELECT 1'),
    ).rejects.toMatchObject({ code: 'WAREHOUSE_TIMEOUT' });
    expect(clock - from).toBe(300_000);
  });

  it('defaults the timeout to a minute and refuses one outside 1 s to 15 min', () => {
    expect(loadConfig({ TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics' }).redshift?.queryTimeoutMs).toBe(60_000);
    for (const value of ['999', '900001', '10s']) {
      expect(() =>
        loadConfig({ TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics', TRIBUTARY_REDSHIFT_QUERY_TIMEOUT_MS: value }),
      ).toThrow(ConfigError);
    }
  });

  it('takes a reader user name it can quote, and refuses one that could end the quotes', () => {
    const reader = (value: string) =>
      loadConfig({ TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics', TRIBUTARY_REDSHIFT_READER_USER: value })
        .redshift?.readerUser;
    expect(reader('IAMR:tributary-prod-api-eu-west-1')).toBe('IAMR:tributary-prod-api-eu-west-1');
    expect(() => reader('api"; DROP TABLE events; --')).toThrow(/TRIBUTARY_REDSHIFT_READER_USER/);
  });
});

describe('fieldValue', () => {
  it('maps each member of the Field union', () => {
    const blob = new Uint8Array([1, 2]);
    expect(fieldValue({ isNull: true })).toBeNull();
    expect(fieldValue({ stringValue: '' })).toBe('');
    expect(fieldValue({ longValue: 0 })).toBe(0);
    expect(fieldValue({ doubleValue: -1.5 })).toBe(-1.5);
    expect(fieldValue({ booleanValue: false })).toBe(false);
    expect(fieldValue({ blobValue: blob })).toBe(blob);
  });
});

describe('analytics queries on the Redshift dialect', () => {
  it('binds every client string as a :parameter and never puts it in the SQL', async () => {
    redshift.on(ExecuteStatementCommand).resolves({ Id: 'q' });
    redshift.on(DescribeStatementCommand).resolves({ Status: 'FINISHED', HasResultSet: true });
    redshift.on(GetStatementResultCommand).resolves({ ColumnMetadata: [], Records: [] });
    const queries = new WarehouseQueries(REDSHIFT_DIALECT, (q) => api().query(q.sql, q.params));
    const attack = "x' OR '1'='1";
    const range = { from: new Date('2024-05-01T00:00:00Z'), to: new Date('2024-05-08T00:00:00Z') };
    await queries.eventCounts({ ...range, granularity: 'WEEK', events: [attack], groupBy: ['UTM_SOURCE'] });
    await queries.uniqueUsers({ ...range, event: attack });
    await queries.funnel({ ...range, steps: ['a', attack], windowHours: 24 });
    await queries.retention({ ...range, startEvent: attack, returnEvent: attack, period: 'DAY' });
    await queries.topItems({ ...range, event: attack, limit: 10 });
    await queries.failedEvents({ ...range, event: attack, failureType: 'malformed', limit: 10 });
    const calls = redshift.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(6);
    for (const input of calls) {
      expect(input.Sql).not.toContain(attack);
      expect(input.Sql).not.toContain("'1'");
      expect(input.Parameters?.some((p) => p.value === attack)).toBe(true);
      for (const p of input.Parameters ?? []) expect(input.Sql).toContain(`:${p.name}`);
    }
    expect(calls[0]?.Parameters).toEqual([
      { name: 'from', value: '2024-05-01T00:00:00.000Z' },
      { name: 'to', value: '2024-05-08T00:00:00.000Z' },
      { name: 'e0', value: attack },
    ]);
  });
});

import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { ColumnInfo, Row } from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import type { LakeLister, LakeObject } from '../../src/sinks/lake/firehose/s3-lake-lister';
import { AthenaQueryApi } from '../../src/sinks/warehouse/athena/athena-query-api';

/** A result cell as a test writes it; Athena sends each as text, typed by its column. */
export type Cell = string | number | boolean | null;

/** One query Athena was asked to run, as it was sent. */
export interface SentQuery {
  sql: string;
  parameters: string[];
  workgroup: string | undefined;
  database: string | undefined;
  catalog: string | undefined;
}

/**
 * Athena on aws-sdk-client-mock, as far as AthenaQueryApi uses it (there is no emulator): every
 * query succeeds at once unless `fail` names a reason, and a SELECT answers the rows `answer`
 * gives, sent back as Athena does (a header row first, values as text, NULL as a datum without one,
 * `pageSize` rows a page). Every query is kept in `sent`, in order.
 */
export class FakeAthena {
  readonly mock = mockClient(AthenaClient);
  readonly client = new AthenaClient({ region: 'eu-west-1' });
  readonly sent: SentQuery[] = [];
  pageSize = 3;
  answer: (sql: string) => Array<Record<string, Cell>> | undefined = () => undefined;
  fail: (sql: string) => string | undefined = () => undefined;

  private readonly pages = new Map<string, Row[][]>();
  private readonly columns = new Map<string, ColumnInfo[]>();
  private readonly failures = new Map<string, string>();

  constructor() {
    this.install();
  }

  /** The SQL of every query sent, in order. */
  get statements(): string[] {
    return this.sent.map((query) => query.sql);
  }

  api(options: { timeoutMs?: number } = {}): AthenaQueryApi {
    return new AthenaQueryApi({
      client: this.client,
      workgroup: 'tributary',
      database: 'warehouse',
      timeoutMs: options.timeoutMs ?? 60_000,
      sleep: async () => Promise.resolve(),
    });
  }

  restore(): void {
    this.mock.restore();
  }

  private install(): void {
    this.mock.on(StartQueryExecutionCommand).callsFake((input: StartQueryExecutionCommand['input']) => {
      const id = `q${this.sent.length + 1}`;
      const sql = input.QueryString ?? '';
      this.sent.push({
        sql,
        parameters: input.ExecutionParameters ?? [],
        workgroup: input.WorkGroup,
        database: input.QueryExecutionContext?.Database,
        catalog: input.QueryExecutionContext?.Catalog,
      });
      const failure = this.fail(sql);
      if (failure !== undefined) {
        this.failures.set(id, failure);
      } else {
        this.prepare(id, this.answer(sql) ?? []);
      }
      return { QueryExecutionId: id };
    });
    this.mock.on(GetQueryExecutionCommand).callsFake((input: GetQueryExecutionCommand['input']) => {
      const reason = this.failures.get(input.QueryExecutionId ?? '');
      return {
        QueryExecution: {
          QueryExecutionId: input.QueryExecutionId,
          Status:
            reason === undefined
              ? { State: 'SUCCEEDED' }
              : { State: 'FAILED', StateChangeReason: reason, AthenaError: { Retryable: false } },
        },
      };
    });
    this.mock.on(GetQueryResultsCommand).callsFake((input: GetQueryResultsCommand['input']) => {
      const id = input.QueryExecutionId ?? '';
      const pages = this.pages.get(id) ?? [[]];
      const index = input.NextToken === undefined ? 0 : Number(input.NextToken);
      return {
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: this.columns.get(id) ?? [] },
          Rows: pages[index] ?? [],
        },
        NextToken: index + 1 < pages.length ? String(index + 1) : undefined,
      };
    });
    this.mock.on(StopQueryExecutionCommand).resolves({});
  }

  private prepare(id: string, rows: Array<Record<string, Cell>>): void {
    const names = Object.keys(rows[0] ?? {});
    const columns = names.map((name) => ({
      Name: name,
      Label: name,
      Type: typeOf(rows.map((row) => row[name])),
    }));
    const header: Row = { Data: names.map((name) => ({ VarCharValue: name })) };
    const data: Row[] = rows.map((row) => ({
      Data: names.map((name) => {
        const value = row[name];
        return value === null || value === undefined ? {} : { VarCharValue: String(value) };
      }),
    }));
    const all = [header, ...data];
    const pages: Row[][] = [];
    for (let i = 0; i < all.length; i += this.pageSize) pages.push(all.slice(i, i + this.pageSize));
    this.pages.set(id, pages);
    this.columns.set(id, columns);
  }
}

function typeOf(values: ReadonlyArray<Cell | undefined>): string {
  const value = values.find((v) => v !== null && v !== undefined);
  if (typeof value === 'number') return 'bigint';
  if (typeof value === 'boolean') return 'boolean';
  return 'varchar';
}

/** A lake bucket in memory: its keys, listed by prefix as S3 lists them. */
export class MemoryLakeLister implements LakeLister {
  readonly listed: string[] = [];
  constructor(
    readonly bucket: string,
    public keys: string[] = [],
  ) {}

  list(prefix: string): Promise<LakeObject[]> {
    this.listed.push(prefix);
    return Promise.resolve(
      this.keys
        .filter((key) => key.startsWith(prefix))
        .sort()
        .map((key) => ({ key, size: 1000 })),
    );
  }
}

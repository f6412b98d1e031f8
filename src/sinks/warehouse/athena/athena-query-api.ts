import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  InternalServerException,
  InvalidRequestException,
  QueryExecutionState,
  ResourceNotFoundException,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-athena';
import type { ColumnInfo, QueryExecution, Row } from '@aws-sdk/client-athena';
import { WarehouseError, WarehouseStatementError } from '../errors';
import type { SqlParams, SqlRow } from '../queries';
import { callTranslating, pollStatement, resultPages, statementPolling } from '../statement-api';
import type {
  KnownStatementError,
  StatementPolling,
  StatementPollingOptions,
  StatementStatus,
} from '../statement-api';

/** Where statements run: the workgroup (which holds the results location) and the Glue database. */
export interface AthenaTarget {
  workgroup: string;
  /** The Glue database of the warehouse's tables; statements name tables without it. */
  database: string;
  /** The data catalog; Glue's (`AwsDataCatalog`) unless told otherwise. */
  catalog?: string;
  /**
   * Where query results go (s3://bucket/prefix/); undefined leaves it to the workgroup, which should
   * set it and enforce it, with a lifecycle rule: results of failedEvents hold raw payloads.
   */
  outputLocation?: string;
}

/** A query still running after `timeoutMs` is stopped (StopQueryExecution); GetQueryExecution is polled. */
export interface AthenaQueryApiOptions extends AthenaTarget, StatementPollingOptions {
  client: AthenaClient;
}

/** Athena takes at most this many characters in one execution parameter. */
export const MAX_PARAMETER_LENGTH = 1024;

/** A statement as Athena takes it: `?` placeholders, and one SQL literal per placeholder, in order. */
export interface PositionalStatement {
  sql: string;
  parameters: string[];
}

/**
 * Turns the named placeholders the dialect writes (`:name`) into Athena's positional `?`, with the
 * parameters in the order they occur (a name used twice is sent twice). Quoted text, quoted
 * identifiers and comments are copied as they are, so a colon inside them is never a placeholder.
 * Athena reads each parameter as an SQL literal, so every value, all text, travels as a string
 * literal with its quotes doubled: never as SQL.
 */
export function toPositional(sql: string, params: SqlParams): PositionalStatement {
  const parameters: string[] = [];
  let out = '';
  let i = 0;
  const copyQuoted = (quote: string): void => {
    let end = i + 1;
    for (;;) {
      const next = sql.indexOf(quote, end);
      if (next < 0) throw new WarehouseError('unterminated quote in SQL', 'WAREHOUSE_INVALID_QUERY');
      if (sql[next + 1] === quote) {
        end = next + 2;
        continue;
      }
      out += sql.slice(i, next + 1);
      i = next + 1;
      return;
    }
  };
  while (i < sql.length) {
    const char = sql[i] as string;
    if (char === "'" || char === '"') {
      copyQuoted(char);
    } else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      out += sql.slice(i, stop);
      i = stop;
    } else if (char === ':' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))?.[0] as string;
      const value = params[name];
      if (value === undefined) {
        throw new WarehouseError(`parameter "${name}" has no value`, 'WAREHOUSE_INVALID_QUERY');
      }
      const literal = `'${value.replace(/'/g, "''")}'`;
      if (literal.length > MAX_PARAMETER_LENGTH) {
        throw new WarehouseError(
          `parameter "${name}" is longer than Athena takes (${MAX_PARAMETER_LENGTH} characters as a literal)`,
          'WAREHOUSE_INVALID_QUERY',
        );
      }
      parameters.push(literal);
      out += '?';
      i += 1 + name.length;
    } else {
      out += char;
      i += 1;
    }
  }
  return { sql: out, parameters };
}

/**
 * Athena as "run this SQL, give me rows": StartQueryExecution in the workgroup and database,
 * GetQueryExecution polling with capped exponential backoff, GetQueryResults pages, and
 * StopQueryExecution when the timeout passes. Athena runs one statement per query and has no
 * transactions: each statement commits on its own.
 */
export class AthenaQueryApi {
  private readonly polling: StatementPolling;

  constructor(private readonly options: AthenaQueryApiOptions) {
    this.polling = statementPolling(options, { pollMinMs: 100, pollMaxMs: 2_000 });
  }

  /**
   * Runs a SELECT (or WITH … SELECT) with named parameters (`:name`) and returns its rows, typed by
   * the result's column types: numbers for integer and floating types, booleans, text otherwise,
   * null for NULL. The first row Athena returns for a query is its header, which is dropped.
   */
  async query(sql: string, params: SqlParams = {}): Promise<SqlRow[]> {
    const id = await this.run(sql, params);
    return this.readResult(id);
  }

  /** Runs a statement that returns no rows (DDL, INSERT, MERGE, DELETE, OPTIMIZE, VACUUM). */
  async execute(sql: string, params: SqlParams = {}): Promise<void> {
    await this.run(sql, params);
  }

  private async run(sql: string, params: SqlParams): Promise<string> {
    const statement = toPositional(sql, params);
    const started = this.polling.now();
    const { QueryExecutionId } = await this.send(
      () =>
        this.options.client.send(
          new StartQueryExecutionCommand({
            QueryString: statement.sql,
            WorkGroup: this.options.workgroup,
            QueryExecutionContext: {
              Database: this.options.database,
              Catalog: this.options.catalog ?? 'AwsDataCatalog',
            },
            ExecutionParameters: statement.parameters.length > 0 ? statement.parameters : undefined,
            ResultConfiguration:
              this.options.outputLocation === undefined
                ? undefined
                : { OutputLocation: this.options.outputLocation },
          }),
        ),
      undefined,
    );
    if (QueryExecutionId === undefined) {
      throw new WarehouseStatementError(
        'Athena returned no query execution id',
        'WAREHOUSE_STATEMENT_FAILED',
      );
    }
    await pollStatement(this.polling, {
      id: QueryExecutionId,
      kind: 'Athena query',
      cancelledAs: 'stopped',
      started,
      status: () => this.status(QueryExecutionId),
      cancel: async () => {
        await this.options.client.send(new StopQueryExecutionCommand({ QueryExecutionId }));
      },
    });
    return QueryExecutionId;
  }

  /** One GetQueryExecution: SUCCEEDED ends the wait, FAILED and CANCELLED fail it. */
  private async status(id: string): Promise<StatementStatus<void>> {
    const { QueryExecution: execution } = await this.send(
      () => this.options.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id })),
      id,
    );
    const state = execution?.Status?.State;
    if (state === QueryExecutionState.SUCCEEDED) return { ended: true, result: undefined };
    if (state === QueryExecutionState.FAILED) {
      throw new WarehouseStatementError(
        `Athena query ${id} failed: ${reasonOf(execution)}`,
        'WAREHOUSE_STATEMENT_FAILED',
        { statementId: id, retryable: execution?.Status?.AthenaError?.Retryable === true },
      );
    }
    if (state === QueryExecutionState.CANCELLED) {
      throw new WarehouseStatementError(
        `Athena query ${id} was cancelled: ${reasonOf(execution)}`,
        'WAREHOUSE_STATEMENT_ABORTED',
        { statementId: id, retryable: true },
      );
    }
    return { ended: false };
  }

  private async readResult(id: string): Promise<SqlRow[]> {
    const rows: SqlRow[] = [];
    let columns: ColumnInfo[] | undefined;
    let header = true;
    const pages = resultPages((token) =>
      this.send(
        () =>
          this.options.client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token })),
        id,
      ),
    );
    for await (const page of pages) {
      columns ??= page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
      const pageRows = page.ResultSet?.Rows ?? [];
      // Only the first page starts with the header row.
      for (const row of header ? pageRows.slice(1) : pageRows) rows.push(rowOf(row, columns));
      header = false;
    }
    return rows;
  }

  private send<T>(call: () => Promise<T>, statementId: string | undefined): Promise<T> {
    return callTranslating(call, { name: 'Athena', translate }, statementId);
  }
}

function reasonOf(execution: QueryExecution | undefined): string {
  return (
    execution?.Status?.StateChangeReason ?? execution?.Status?.AthenaError?.ErrorMessage ?? 'no reason given'
  );
}

/** The Athena exceptions this adapter knows; anything else is rethrown unchanged. */
function translate(error: unknown): KnownStatementError | undefined {
  if (error instanceof TooManyRequestsException) {
    return { code: 'WAREHOUSE_BUSY', message: error.message, retryable: true };
  }
  if (error instanceof InternalServerException) {
    return { code: 'WAREHOUSE_UNAVAILABLE', message: error.message, retryable: true };
  }
  if (error instanceof InvalidRequestException || error instanceof ResourceNotFoundException) {
    return {
      code: 'WAREHOUSE_STATEMENT_FAILED',
      message: `${error.name}: ${error.message}`,
      retryable: false,
    };
  }
  return undefined;
}

const NUMERIC_TYPES = new Set([
  'tinyint',
  'smallint',
  'integer',
  'int',
  'bigint',
  'double',
  'float',
  'real',
  'decimal',
]);

/**
 * One result row as a plain object. Athena sends every value as text, and a NULL as a datum without
 * one; the column's type says what the text is (BIGINTs beyond 2^53 lose precision).
 */
function rowOf(row: Row, columns: readonly ColumnInfo[]): SqlRow {
  const out: SqlRow = {};
  columns.forEach((column, i) => {
    const text = row.Data?.[i]?.VarCharValue;
    const type = (column.Type ?? 'varchar').toLowerCase();
    const name = column.Label ?? column.Name ?? `column${i}`;
    if (text === undefined) out[name] = null;
    else if (NUMERIC_TYPES.has(type)) out[name] = Number(text);
    else if (type === 'boolean') out[name] = text === 'true';
    else out[name] = text;
  });
  return out;
}

/** Builds the adapter for the configured workgroup, with one client for the process. */
export function createAthenaQueryApi(
  config: { aws: { region: string }; athena: AthenaTarget & { queryTimeoutMs?: number } },
  options: Partial<Omit<AthenaQueryApiOptions, keyof AthenaTarget>> = {},
): AthenaQueryApi {
  const { workgroup, database, catalog, outputLocation, queryTimeoutMs } = config.athena;
  return new AthenaQueryApi({
    client: options.client ?? new AthenaClient({ region: config.aws.region }),
    workgroup,
    database,
    catalog,
    outputLocation,
    ...options,
    timeoutMs: options.timeoutMs ?? queryTimeoutMs,
  });
}

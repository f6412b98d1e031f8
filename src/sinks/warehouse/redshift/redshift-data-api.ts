import {
  ActiveSessionsExceededException,
  ActiveStatementsExceededException,
  ActiveWaitingRequestsExceededException,
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DatabaseConnectionException,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  BatchExecuteStatementException,
  ExecuteStatementException,
  InternalServerException,
  QueryTimeoutException,
  ResourceNotFoundException,
  StatusString,
  ValidationException,
} from '@aws-sdk/client-redshift-data';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { ColumnMetadata, Field } from '@aws-sdk/client-redshift-data';
import type { Config } from '../../../config';
import { WarehouseError, WarehouseStatementError } from '../errors';
import type { SqlParams, SqlRow } from '../queries';
import { callTranslating, pollStatement, resultPages, statementPolling } from '../statement-api';
import type {
  KnownStatementError,
  StatementPolling,
  StatementPollingOptions,
  StatementStatus,
} from '../statement-api';

export interface RedshiftTarget {
  /** Redshift Serverless workgroup. */
  workgroupName: string;
  database: string;
  /**
   * Secrets Manager secret with the database credentials. Without it the Data API signs in as the
   * caller's IAM identity (redshift-serverless:GetCredentials): an IAM role's user is `IAMR:<role name>`.
   */
  secretArn?: string;
}

/** A statement still running after `timeoutMs` is cancelled (CancelStatement); DescribeStatement is polled. */
export interface RedshiftDataApiOptions extends RedshiftTarget, StatementPollingOptions {
  client: RedshiftDataClient;
}

/**
 * The Redshift Data API as "run this SQL, give me rows": ExecuteStatement (or BatchExecuteStatement,
 * which runs its statements as one transaction), DescribeStatement polling with exponential
 * backoff, GetStatementResult pages, and CancelStatement when the timeout passes.
 */
export class RedshiftDataApi {
  private readonly polling: StatementPolling;

  constructor(private readonly options: RedshiftDataApiOptions) {
    this.polling = statementPolling(options, { pollMinMs: 50, pollMaxMs: 1_000 });
  }

  /**
   * Runs one statement with named parameters (`:name` in the SQL) and returns all its rows. An empty
   * parameter is refused (WAREHOUSE_INVALID_QUERY) before anything is sent: the Data API rejects
   * zero-length values, so the statement could only fail there.
   */
  async query(sql: string, params: SqlParams = {}): Promise<SqlRow[]> {
    const parameters = Object.entries(params).map(([name, value]) => ({ name, value }));
    const empty = parameters.find((parameter) => parameter.value === '');
    if (empty !== undefined) {
      throw new WarehouseError(
        `parameter "${empty.name}" is empty, and the Redshift Data API binds no empty value`,
        'WAREHOUSE_INVALID_QUERY',
      );
    }
    const started = this.polling.now();
    const { Id } = await this.send(
      () =>
        this.options.client.send(
          new ExecuteStatementCommand({
            ...this.target(),
            Sql: sql,
            Parameters: parameters.length > 0 ? parameters : undefined,
          }),
        ),
      undefined,
    );
    const id = requireId(Id);
    const hasResultSet = await this.waitFor(id, started);
    return hasResultSet ? this.readResult(id) : [];
  }

  /** Runs statements in order as one transaction; nothing is committed unless all succeed. */
  async batch(sqls: string[]): Promise<void> {
    const started = this.polling.now();
    const { Id } = await this.send(
      () => this.options.client.send(new BatchExecuteStatementCommand({ ...this.target(), Sqls: sqls })),
      undefined,
    );
    await this.waitFor(requireId(Id), started);
  }

  private target() {
    return {
      WorkgroupName: this.options.workgroupName,
      Database: this.options.database,
      SecretArn: this.options.secretArn,
    };
  }

  /** Polls until the statement ends; resolves with whether it has a result set. */
  private waitFor(id: string, started: number): Promise<boolean> {
    return pollStatement(this.polling, {
      id,
      kind: 'Redshift statement',
      cancelledAs: 'cancelled',
      started,
      status: () => this.status(id),
      cancel: async () => {
        await this.options.client.send(new CancelStatementCommand({ Id: id }));
      },
    });
  }

  /** One DescribeStatement: FINISHED ends the wait, FAILED and ABORTED fail it. */
  private async status(id: string): Promise<StatementStatus<boolean>> {
    const status = await this.send(
      () => this.options.client.send(new DescribeStatementCommand({ Id: id })),
      id,
    );
    switch (status.Status) {
      case StatusString.FINISHED:
        return { ended: true, result: status.HasResultSet === true };
      case StatusString.FAILED:
        throw new WarehouseStatementError(
          `Redshift statement ${id} failed: ${status.Error ?? 'no reason given'}`,
          'WAREHOUSE_STATEMENT_FAILED',
          { statementId: id },
        );
      case StatusString.ABORTED:
        throw new WarehouseStatementError(
          `Redshift statement ${id} was aborted`,
          'WAREHOUSE_STATEMENT_ABORTED',
          { statementId: id, retryable: true },
        );
      default:
        return { ended: false };
    }
  }

  private async readResult(id: string): Promise<SqlRow[]> {
    const rows: SqlRow[] = [];
    let columns: ColumnMetadata[] | undefined;
    const pages = resultPages((token) =>
      this.send(
        () => this.options.client.send(new GetStatementResultCommand({ Id: id, NextToken: token })),
        id,
      ),
    );
    for await (const page of pages) {
      columns ??= page.ColumnMetadata ?? [];
      const names = columns.map((column, i) => column.label ?? column.name ?? `column${i}`);
      for (const record of page.Records ?? []) {
        const row: SqlRow = {};
        record.forEach((field, i) => {
          row[names[i] ?? `column${i}`] = fieldValue(field);
        });
        rows.push(row);
      }
    }
    return rows;
  }

  private send<T>(call: () => Promise<T>, statementId: string | undefined): Promise<T> {
    return callTranslating(call, { name: 'Redshift Data API', translate }, statementId);
  }
}

/** The Data API exceptions this adapter knows; anything else is rethrown unchanged. */
function translate(error: unknown): KnownStatementError | undefined {
  if (
    error instanceof ActiveStatementsExceededException ||
    error instanceof ActiveSessionsExceededException ||
    error instanceof ActiveWaitingRequestsExceededException
  ) {
    return { code: 'WAREHOUSE_BUSY', message: error.message, retryable: true };
  }
  if (error instanceof DatabaseConnectionException || error instanceof InternalServerException) {
    return { code: 'WAREHOUSE_UNAVAILABLE', message: error.message, retryable: true };
  }
  if (error instanceof QueryTimeoutException) {
    return { code: 'WAREHOUSE_TIMEOUT', message: error.message, retryable: true };
  }
  if (
    error instanceof ValidationException ||
    error instanceof ResourceNotFoundException ||
    error instanceof ExecuteStatementException ||
    error instanceof BatchExecuteStatementException
  ) {
    return {
      code: 'WAREHOUSE_STATEMENT_FAILED',
      message: `${error.name}: ${error.message}`,
      retryable: false,
    };
  }
  return undefined;
}

function requireId(id: string | undefined): string {
  if (id === undefined) {
    throw new WarehouseStatementError(
      'Redshift Data API returned no statement id',
      'WAREHOUSE_STATEMENT_FAILED',
    );
  }
  return id;
}

/** A Data API value as JS: null, string, number, boolean or bytes (BIGINTs beyond 2^53 lose precision). */
export function fieldValue(field: Field): unknown {
  if (field.isNull === true) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.blobValue !== undefined) return field.blobValue;
  return null;
}

/**
 * Builds the Data API adapter for the configured workgroup, with one client for the process.
 * Statements get the configured timeout (TRIBUTARY_REDSHIFT_QUERY_TIMEOUT_MS) unless `options`
 * gives another.
 */
export function createRedshiftDataApi(
  config: Pick<Config, 'aws'> & { redshift: RedshiftTarget & { queryTimeoutMs?: number } },
  options: Partial<Omit<RedshiftDataApiOptions, keyof RedshiftTarget>> = {},
): RedshiftDataApi {
  const { workgroupName, database, secretArn, queryTimeoutMs } = config.redshift;
  return new RedshiftDataApi({
    client: options.client ?? new RedshiftDataClient({ region: config.aws.region }),
    workgroupName,
    database,
    secretArn,
    ...options,
    timeoutMs: options.timeoutMs ?? queryTimeoutMs,
  });
}

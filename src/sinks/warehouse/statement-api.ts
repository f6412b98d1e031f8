/**
 * What the asynchronous statement APIs (the Redshift Data API, Athena) have in common: a statement
 * is started, its status asked until it ends, cancelled when it runs too long, and its result read
 * page by page. Each adapter keeps what is its service's own (state names, the cancel call, paging
 * tokens, which exceptions mean what) and hands those in; the waiting and paging live here once,
 * so both engines time out, back off and page alike.
 */
import { sleep as realSleep } from '../../aws/retry';
import { WarehouseStatementError } from './errors';
import type { WarehouseErrorCode } from './errors';

/** How long a statement may run and how often its status is asked. */
export interface StatementPollingOptions {
  /** A statement still running after this long is cancelled and fails as WAREHOUSE_TIMEOUT. */
  timeoutMs?: number;
  /** First status delay; it doubles up to pollMaxMs. */
  pollMinMs?: number;
  pollMaxMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export type StatementPolling = Required<StatementPollingOptions>;

const DEFAULT_TIMEOUT_MS = 60_000;

/** The options with every gap filled: the service's own poll delays, a minute's timeout, the real clock. */
export function statementPolling(
  options: StatementPollingOptions,
  defaults: { pollMinMs: number; pollMaxMs: number },
): StatementPolling {
  return {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    pollMinMs: options.pollMinMs ?? defaults.pollMinMs,
    pollMaxMs: options.pollMaxMs ?? defaults.pollMaxMs,
    sleep: options.sleep ?? realSleep,
    now: options.now ?? Date.now,
  };
}

/** One look at a statement: still running, or ended well with what the caller reads next. */
export type StatementStatus<T> = { ended: false } | { ended: true; result: T };

export interface PolledStatement<T> {
  id: string;
  /** What the service calls a statement, for the timeout message: "Athena query". */
  kind: string;
  /** The service's word for what its cancel call does: "cancelled", "stopped". */
  cancelledAs: string;
  /** When the statement was started (by `now`): the timeout counts from there, not from the first poll. */
  started: number;
  /** Asks the service once; throws the adapter's own error when the statement ended badly. */
  status: () => Promise<StatementStatus<T>>;
  /** Asks the service to end the statement. */
  cancel: () => Promise<void>;
}

/**
 * Asks for the statement's status with capped exponential backoff until it ends, and resolves with
 * what the last status carried. A statement still running at the timeout is cancelled and fails as
 * a retryable WAREHOUSE_TIMEOUT; no sleep reaches past the deadline, so the timeout is kept to the
 * millisecond however the delays fall.
 */
export async function pollStatement<T>(polling: StatementPolling, statement: PolledStatement<T>): Promise<T> {
  let delay = polling.pollMinMs;
  for (;;) {
    const status = await statement.status();
    if (status.ended) return status.result;
    const remaining = statement.started + polling.timeoutMs - polling.now();
    if (remaining <= 0) {
      await cancelQuietly(statement.cancel);
      throw new WarehouseStatementError(
        `${statement.kind} ${statement.id} ran longer than ${polling.timeoutMs} ms and was ${statement.cancelledAs}`,
        'WAREHOUSE_TIMEOUT',
        { statementId: statement.id, retryable: true },
      );
    }
    await polling.sleep(Math.min(delay, remaining));
    delay = Math.min(delay * 2, polling.pollMaxMs);
  }
}

// Best effort: the statement may have ended in the meantime, and the timeout error is what matters.
async function cancelQuietly(cancel: () => Promise<void>): Promise<void> {
  try {
    await cancel();
  } catch {
    return;
  }
}

/** Yields a result's pages in order, asking for the next while the service hands back a token. */
export async function* resultPages<P extends { NextToken?: string }>(
  readPage: (nextToken: string | undefined) => Promise<P>,
): AsyncGenerator<P> {
  let nextToken: string | undefined;
  do {
    const page = await readPage(nextToken);
    yield page;
    nextToken = page.NextToken;
  } while (nextToken !== undefined && nextToken !== '');
}

/** An SDK exception an adapter recognises, as the warehouse error it becomes. */
export interface KnownStatementError {
  code: WarehouseErrorCode;
  message: string;
  retryable: boolean;
}

/**
 * Runs one service call, turning the exceptions `translate` knows into WarehouseStatementErrors
 * (named after the service, carrying the statement id and the SDK error as cause); anything else
 * is rethrown unchanged, so a bug is not dressed up as a warehouse failure.
 */
export async function callTranslating<T>(
  call: () => Promise<T>,
  service: { name: string; translate: (error: unknown) => KnownStatementError | undefined },
  statementId: string | undefined,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const known = service.translate(error);
    if (known === undefined) throw error;
    throw new WarehouseStatementError(`${service.name}: ${known.message}`, known.code, {
      cause: error,
      statementId,
      retryable: known.retryable,
    });
  }
}

import { WarehouseStatementError } from '../../src/sinks/warehouse/errors';
import {
  callTranslating,
  pollStatement,
  resultPages,
  statementPolling,
} from '../../src/sinks/warehouse/statement-api';
import type { PolledStatement, StatementStatus } from '../../src/sinks/warehouse/statement-api';

let sleeps: number[];
let clock: number;

beforeEach(() => {
  sleeps = [];
  clock = 5_000;
});

// A virtual clock: each sleep advances it, so timeouts are tested without waiting.
const polling = (timeoutMs: number) =>
  statementPolling(
    {
      timeoutMs,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
        return Promise.resolve();
      },
      now: () => clock,
    },
    { pollMinMs: 100, pollMaxMs: 800 },
  );

/** A statement whose status calls answer `statuses` in turn, the last one for ever after. */
function statement<T>(
  statuses: Array<StatementStatus<T> | Error>,
): PolledStatement<T> & { asked: () => number; cancels: () => number } {
  let asked = 0;
  let cancels = 0;
  return {
    id: 'st-1',
    kind: 'Test statement',
    cancelledAs: 'cancelled',
    started: clock,
    status: () => {
      const next = statuses[Math.min(asked, statuses.length - 1)] as StatementStatus<T> | Error;
      asked += 1;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    cancel: () => {
      cancels += 1;
      return Promise.resolve();
    },
    asked: () => asked,
    cancels: () => cancels,
  };
}

const running = { ended: false } as const;

describe('statementPolling', () => {
  it("fills the gaps with the service's poll delays, a minute's timeout and the real clock", () => {
    const filled = statementPolling({ pollMaxMs: 300 }, { pollMinMs: 50, pollMaxMs: 1_000 });
    expect(filled).toMatchObject({ timeoutMs: 60_000, pollMinMs: 50, pollMaxMs: 300, now: Date.now });
    expect(typeof filled.sleep).toBe('function');
  });
});

describe('pollStatement', () => {
  it('resolves with the final status at once, without sleeping, when the statement has already ended', async () => {
    const done = statement([{ ended: true, result: 'rows' }]);
    await expect(pollStatement(polling(10_000), done)).resolves.toBe('rows');
    expect(sleeps).toEqual([]);
    expect(done.asked()).toBe(1);
  });

  it('doubles the delay from pollMinMs and caps it at pollMaxMs until the statement ends', async () => {
    const slow = statement([
      running,
      running,
      running,
      running,
      running,
      running,
      { ended: true, result: 7 },
    ]);
    await expect(pollStatement(polling(10_000), slow)).resolves.toBe(7);
    expect(sleeps).toEqual([100, 200, 400, 800, 800, 800]);
    expect(slow.asked()).toBe(7);
    expect(slow.cancels()).toBe(0);
  });

  it('passes on the error of a statement that ended badly, and cancels nothing', async () => {
    const failed = new WarehouseStatementError('it failed', 'WAREHOUSE_STATEMENT_FAILED');
    const bad = statement<void>([running, failed]);
    await expect(pollStatement(polling(10_000), bad)).rejects.toBe(failed);
    expect(bad.cancels()).toBe(0);
  });

  it('cancels a statement still running at the timeout, never sleeping past it, and fails as a retryable WAREHOUSE_TIMEOUT', async () => {
    const endless = statement<void>([running]);
    const error = await pollStatement(polling(2_000), endless).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseStatementError);
    expect(error).toMatchObject({
      code: 'WAREHOUSE_TIMEOUT',
      statementId: 'st-1',
      retryable: true,
      message: 'Test statement st-1 ran longer than 2000 ms and was cancelled',
    });
    expect(endless.cancels()).toBe(1);
    // 100 + 200 + 400 + 800 + 500 = 2,000: the last sleep is cut to the deadline.
    expect(sleeps).toEqual([100, 200, 400, 800, 500]);
  });

  it('counts the timeout from when the statement started, not from the first poll', async () => {
    const late = { ...statement<void>([running]), started: clock - 1_500 };
    await expect(pollStatement(polling(2_000), late)).rejects.toMatchObject({ code: 'WAREHOUSE_TIMEOUT' });
    expect(sleeps).toEqual([100, 200, 200]);
  });

  it('still reports the timeout when the cancel fails', async () => {
    const endless = {
      ...statement<void>([running]),
      cancel: () => Promise.reject(new Error('already finished')),
    };
    await expect(pollStatement(polling(100), endless)).rejects.toMatchObject({ code: 'WAREHOUSE_TIMEOUT' });
  });
});

describe('resultPages', () => {
  it('reads pages while a token comes back, and stops at an absent or empty one', async () => {
    const asked: Array<string | undefined> = [];
    const pages: Record<string, { rows: number[]; NextToken?: string }> = {
      first: { rows: [1], NextToken: 'b' },
      b: { rows: [2], NextToken: 'c' },
      c: { rows: [3], NextToken: '' },
    };
    const read: number[] = [];
    for await (const page of resultPages((token) => {
      asked.push(token);
      return Promise.resolve(pages[token ?? 'first'] as { rows: number[]; NextToken?: string });
    })) {
      read.push(...page.rows);
    }
    expect(read).toEqual([1, 2, 3]);
    expect(asked).toEqual([undefined, 'b', 'c']);
  });
});

describe('callTranslating', () => {
  const service = {
    name: 'Test API',
    translate: (error: unknown) =>
      error instanceof RangeError
        ? { code: 'WAREHOUSE_BUSY' as const, message: 'slow down', retryable: true }
        : undefined,
  };

  it('turns an exception the service knows into a WarehouseStatementError named after the service', async () => {
    const cause = new RangeError('throttled');
    await expect(callTranslating(() => Promise.reject(cause), service, 'st-9')).rejects.toMatchObject({
      name: 'WarehouseStatementError',
      message: 'Test API: slow down',
      code: 'WAREHOUSE_BUSY',
      statementId: 'st-9',
      retryable: true,
      cause,
    });
  });

  it('rethrows an exception it does not know unchanged, and passes a result through', async () => {
    const unknown = new TypeError('socket hang up');
    await expect(callTranslating(() => Promise.reject(unknown), service, undefined)).rejects.toBe(unknown);
    await expect(callTranslating(() => Promise.resolve(3), service, undefined)).resolves.toBe(3);
  });
});

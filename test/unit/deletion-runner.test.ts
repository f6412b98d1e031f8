import { newDeletionRequest } from '../../src/privacy/deletion-plan';
import type { DeletionRequest, ErasureResult, PersonEraser } from '../../src/privacy/port';
import { DeletionRunner, type RetryTimers } from '../../src/services/deletion-runner';
import { MemoryDeletionRequestStore } from '../helpers/in-memory-privacy';

/** Timers that fire only when the test moves the clock. */
class ManualTimers implements RetryTimers {
  now = 0;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();
  private next = 0;

  set(callback: () => void, delayMs: number): unknown {
    this.next += 1;
    this.pending.set(this.next, { at: this.now + delayMs, callback });
    return this.next;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** The delays still to wait, from now. */
  get delays(): number[] {
    return [...this.pending.values()].map((timer) => timer.at - this.now);
  }

  advance(ms: number): void {
    this.now += ms;
    for (const [handle, timer] of [...this.pending]) {
      if (timer.at > this.now) continue;
      this.pending.delete(handle);
      timer.callback();
    }
  }
}

/** An eraser that records its calls and answers from a script: a number removed, or an error to throw. */
class ScriptedEraser implements PersonEraser {
  readonly calls: string[][] = [];

  constructor(
    readonly store: string,
    private readonly script: Array<number | Error | Promise<number>> = [],
  ) {}

  async erase(ids: readonly string[]): Promise<ErasureResult> {
    this.calls.push([...ids]);
    const next = this.script.shift() ?? 0;
    if (next instanceof Error) throw next;
    return { removed: await next };
  }
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const POLICY = { baseDelayMs: 1000, maxDelayMs: 8000 };
const NOW = Date.parse('2026-06-01T10:00:00Z');

function request(id: string, stores: readonly string[], subjectIds = ['u1', 'anon-1']): DeletionRequest {
  return newDeletionRequest({
    id,
    subjectIds,
    suppress: true,
    requestedAt: new Date(NOW + Number(id.replace(/\D/g, ''))).toISOString(),
    stores,
  });
}

describe('deletion runner', () => {
  const setup = (erasers: PersonEraser[], store = new MemoryDeletionRequestStore()) => {
    const timers = new ManualTimers();
    const errors: unknown[][] = [];
    const runner = new DeletionRunner({
      store,
      erasers,
      retry: POLICY,
      timers,
      now: () => NOW + timers.now,
      logger: { error: (...args: unknown[]) => errors.push(args) },
    });
    return { runner, store, timers, errors };
  };

  it('runs each step once, in order, saving the request as each step starts and ends', async () => {
    const hot = new ScriptedEraser('hot-tier', [3]);
    const lake = new ScriptedEraser('lake-events', [5]);
    const { runner, store } = setup([hot, lake]);
    expect(runner.stores).toEqual(['hot-tier', 'lake-events']);
    await store.create(request('del_1', runner.stores));
    await runner.resume();

    expect(hot.calls).toEqual([['u1', 'anon-1']]);
    expect(lake.calls).toEqual([['u1', 'anon-1']]);
    expect(store.saves.map((s) => [s.status, s.steps.map((step) => step.status).join(',')])).toEqual([
      ['RUNNING', 'RUNNING,PENDING'],
      ['RUNNING', 'COMPLETED,PENDING'],
      ['RUNNING', 'COMPLETED,RUNNING'],
      ['COMPLETED', 'COMPLETED,COMPLETED'],
    ]);
    const done = await store.get('del_1');
    expect(done).toMatchObject({ status: 'COMPLETED', completedAt: new Date(NOW).toISOString() });
    expect(done?.steps.map((s) => s.removed)).toEqual([3, 5]);

    // Nothing is left to run: waking again erases nothing more.
    runner.wake();
    await runner.idle();
    expect(hot.calls).toHaveLength(1);
  });

  it('retries a failing step after a doubling backoff, showing why it failed, until it completes', async () => {
    const hot = new ScriptedEraser('hot-tier', [1]);
    const warehouse = new ScriptedEraser('warehouse', [
      new Error('warehouse paused'),
      new Error('warehouse still paused'),
      7,
    ]);
    const { runner, store, timers, errors } = setup([hot, warehouse]);
    await store.create(request('del_1', runner.stores));
    await runner.resume();

    let seen = await store.get('del_1');
    expect(seen?.status).toBe('FAILED');
    expect(seen?.steps[1]).toEqual({
      store: 'warehouse',
      status: 'FAILED',
      removed: null,
      detail: 'Error: warehouse paused',
      attempts: 1,
    });
    expect(timers.delays).toEqual([1000]);
    expect(String(errors[0]?.[0])).toContain('deletion del_1: step warehouse failed (attempt 1)');

    timers.advance(999);
    await runner.idle();
    expect(warehouse.calls).toHaveLength(1);
    timers.advance(1);
    await runner.idle();
    seen = await store.get('del_1');
    expect(seen?.steps[1]).toMatchObject({
      status: 'FAILED',
      detail: 'Error: warehouse still paused',
      attempts: 2,
    });
    expect(timers.delays).toEqual([2000]);

    timers.advance(2000);
    await runner.idle();
    seen = await store.get('del_1');
    expect(seen?.status).toBe('COMPLETED');
    expect(seen?.steps[1]).toEqual({
      store: 'warehouse',
      status: 'COMPLETED',
      removed: 7,
      detail: null,
      attempts: 3,
    });
    expect(seen?.completedAt).toBe(new Date(NOW + 3000).toISOString());
    // The completed hot-tier step never ran again.
    expect(hot.calls).toHaveLength(1);
    expect(timers.delays).toEqual([]);
  });

  it('goes on with other requests while one waits for its retry', async () => {
    const hot = new ScriptedEraser('hot-tier', [new Error('throttled'), 2, 4]);
    const { runner, store, timers } = setup([hot]);
    await store.create(request('del_1', runner.stores, ['a']));
    await store.create(request('del_2', runner.stores, ['b']));
    await runner.resume();
    expect(hot.calls).toEqual([['a'], ['b']]);
    expect((await store.get('del_1'))?.status).toBe('FAILED');
    expect((await store.get('del_2'))?.status).toBe('COMPLETED');

    // A new request, woken, runs at once; the failed one still waits for its backoff.
    await store.create(request('del_3', runner.stores, ['c']));
    runner.wake();
    await runner.idle();
    expect(hot.calls).toEqual([['a'], ['b'], ['c']]);
    timers.advance(1000);
    await runner.idle();
    expect(hot.calls).toEqual([['a'], ['b'], ['c'], ['a']]);
    expect((await store.get('del_1'))?.status).toBe('COMPLETED');
  });

  it('resumes after a crash at the step it was in, never running a completed step again', async () => {
    const store = new MemoryDeletionRequestStore();
    const hung = deferred<number>();
    const crashed = setup(
      [new ScriptedEraser('hot-tier', [2]), new ScriptedEraser('lake-events', [hung.promise])],
      store,
    );
    await store.create(request('del_1', crashed.runner.stores));
    crashed.runner.wake();
    // The process dies while the lake step runs: the runner is never heard from again.
    await new Promise((resolve) => setImmediate(resolve));
    expect((await store.get('del_1'))?.steps.map((s) => s.status)).toEqual(['COMPLETED', 'RUNNING']);

    const hot = new ScriptedEraser('hot-tier');
    const lake = new ScriptedEraser('lake-events', [6]);
    const restarted = setup([hot, lake], store);
    await restarted.runner.resume();
    expect(hot.calls).toEqual([]);
    expect(lake.calls).toEqual([['u1', 'anon-1']]);
    const done = await store.get('del_1');
    expect(done?.status).toBe('COMPLETED');
    expect(done?.steps.map((s) => [s.removed, s.attempts])).toEqual([
      [2, 1],
      [6, 1],
    ]);
  });

  it('picks up a FAILED request at start without waiting for its backoff', async () => {
    const store = new MemoryDeletionRequestStore();
    const first = setup([new ScriptedEraser('hot-tier', [new Error('down')])], store);
    await store.create(request('del_1', first.runner.stores));
    await first.runner.resume();
    await first.runner.close();
    expect(first.timers.delays).toEqual([]);

    const hot = new ScriptedEraser('hot-tier', [1]);
    const second = setup([hot], store);
    await second.runner.resume();
    expect(hot.calls).toHaveLength(1);
    expect((await store.get('del_1'))?.steps[0]).toMatchObject({ status: 'COMPLETED', attempts: 2 });
  });

  it('waits on close for the step in progress, and starts no other', async () => {
    const slow = deferred<number>();
    const hot = new ScriptedEraser('hot-tier', [slow.promise]);
    const lake = new ScriptedEraser('lake-events', [1]);
    const { runner, store } = setup([hot, lake]);
    await store.create(request('del_1', runner.stores));
    runner.wake();
    await new Promise((resolve) => setImmediate(resolve));

    let closed = false;
    const closing = runner.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    slow.resolve(9);
    await closing;
    expect(lake.calls).toEqual([]);
    expect((await store.get('del_1'))?.steps.map((s) => [s.status, s.removed])).toEqual([
      ['COMPLETED', 9],
      ['PENDING', null],
    ]);
    runner.wake();
    await runner.idle();
    expect(lake.calls).toEqual([]);
  });

  it('retries from the last saved state when the request store fails', async () => {
    const hot = new ScriptedEraser('hot-tier', [2, 2]);
    const { runner, store, timers, errors } = setup([hot]);
    await store.create(request('del_1', runner.stores));
    store.failNextSave = new Error('table unavailable');
    await runner.resume();
    expect(hot.calls).toHaveLength(0);
    expect(String(errors[0]?.[0])).toContain('could not save its progress');
    expect(timers.delays).toEqual([1000]);
    timers.advance(1000);
    await runner.idle();
    expect(hot.calls).toHaveLength(1);
    expect((await store.get('del_1'))?.status).toBe('COMPLETED');
  });

  it('lists again after the backoff when the request store cannot list', async () => {
    const hot = new ScriptedEraser('hot-tier', [1]);
    const { runner, store, timers, errors } = setup([hot]);
    await store.create(request('del_1', runner.stores));
    const unfinished = store.unfinished.bind(store);
    store.unfinished = () => Promise.reject(new Error('table unavailable'));
    await runner.resume();
    expect(String(errors[0]?.[0])).toContain('could not list unfinished requests');
    expect(timers.delays).toEqual([1000]);
    store.unfinished = unfinished;
    timers.advance(1000);
    await runner.idle();
    expect((await store.get('del_1'))?.status).toBe('COMPLETED');
  });

  it('fails a step whose store has no eraser here, and refuses two erasers for one store', async () => {
    const { runner, store } = setup([new ScriptedEraser('hot-tier')]);
    await store.create(request('del_1', ['hot-tier', 'warehouse']));
    await runner.resume();
    const seen = await store.get('del_1');
    expect(seen?.status).toBe('FAILED');
    expect(seen?.steps[1]).toMatchObject({ detail: 'no eraser for store warehouse runs here', attempts: 1 });
    expect(() => setup([new ScriptedEraser('hot-tier'), new ScriptedEraser('hot-tier')])).toThrow(
      /same store/,
    );
  });
});

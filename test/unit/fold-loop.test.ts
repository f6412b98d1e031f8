import { setTimeout as sleep } from 'node:timers/promises';
import { FoldLoop } from '../../src/local/pipeline/fold-loop';
import type { FoldOutcome, HotTierFolder } from '../../src/sinks/hot-tier/port';

/** A folder that has `pending` entries to fold, `perFold` at a time, failing while `failures` > 0. */
class FakeFolder implements HotTierFolder {
  pending = 0;
  folds = 0;
  failures = 0;
  constructor(private readonly perFold = 1) {}

  async foldPending(): Promise<FoldOutcome> {
    this.folds += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('throttled');
    }
    const entries = Math.min(this.perFold, this.pending);
    this.pending -= entries;
    return { entries, items: entries, trends: 0, more: this.pending > 0 };
  }
}

const quiet = { error: () => undefined };

/** Waits until `done` holds, for up to 5 s: timers on a busy machine run late. */
async function waitFor(done: () => boolean): Promise<void> {
  for (const start = Date.now(); !done(); await sleep(5)) {
    if (Date.now() - start > 5000) throw new Error('timed out waiting');
  }
}

describe('the embedded stack fold loop', () => {
  let loop: FoldLoop | undefined;
  afterEach(async () => {
    await loop?.stop();
  });

  it('folds what an earlier run left at start, then nothing while no batch comes', async () => {
    const folder = new FakeFolder(2);
    folder.pending = 5;
    let folded = 0;
    loop = new FoldLoop(folder, { intervalMs: 20, folded: async () => void (folded += 1), logger: quiet });
    loop.start();
    await waitFor(() => folded > 0);
    expect(folder.pending).toBe(0);
    expect(folder.folds).toBe(3);
    // The API's cache forgets items and trends once per fold run that wrote something.
    expect(folded).toBe(1);
    await sleep(100);
    expect(folder.folds).toBe(3);
  });

  it('folds once per interval while batches keep coming', async () => {
    const folder = new FakeFolder(100);
    loop = new FoldLoop(folder, { intervalMs: 50, folded: async () => undefined, logger: quiet });
    loop.start();
    await waitFor(() => folder.folds > 0);
    const atStart = folder.folds;
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      folder.pending += 1;
      loop.applied();
      await sleep(10);
    }
    const elapsed = Date.now() - started;
    await waitFor(() => folder.pending === 0);
    // 20 batches, folded at most once per 50 ms (and once more for the last ones).
    expect(folder.folds - atStart).toBeGreaterThanOrEqual(1);
    expect(folder.folds - atStart).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 1);
    expect(folder.folds - atStart).toBeLessThan(20);
  });

  it('folds everything at once when asked, and retries a failed fold at the next interval', async () => {
    const folder = new FakeFolder(1);
    const errors: unknown[] = [];
    loop = new FoldLoop(folder, {
      intervalMs: 30,
      folded: async () => undefined,
      logger: { error: (...args: unknown[]) => void errors.push(args) },
    });
    loop.start();
    await sleep(10);
    folder.pending = 3;
    await loop.foldAll();
    expect(folder.pending).toBe(0);

    folder.pending = 2;
    folder.failures = 1;
    await expect(loop.foldAll()).rejects.toThrow('throttled');
    // The loop takes it up again on its own.
    await waitFor(() => folder.pending === 0);

    folder.failures = 1;
    folder.pending = 1;
    loop.applied();
    await waitFor(() => folder.pending === 0);
    expect(errors).toHaveLength(1);
  });
});

import { FALLBACK_INTERVAL_MS, WarehouseLoadLoop } from '../../src/local/warehouse-load-loop';
import type { LoadReport, WarehouseLoader } from '../../src/sinks/warehouse/port';

const INTERVAL_MS = 1_000;

/** A loader counting its loads; each takes `loadMs` of (fake) time. */
function countingLoader(loadMs = 0) {
  const loader = {
    loads: 0,
    fail: false,
    loadNew: async (): Promise<LoadReport> => {
      loader.loads += 1;
      if (loadMs > 0) await new Promise((resolve) => setTimeout(resolve, loadMs));
      if (loader.fail) throw new Error('lake unreadable');
      return { files: 0, rows: 0 };
    },
  };
  return loader satisfies WarehouseLoader;
}

describe('WarehouseLoadLoop', () => {
  const loops: WarehouseLoadLoop[] = [];
  const started = (loader: WarehouseLoader, logger: Pick<Console, 'error'> = { error: jest.fn() }) => {
    const loop = new WarehouseLoadLoop(loader, { intervalMs: INTERVAL_MS, logger });
    loops.push(loop);
    loop.start();
    return loop;
  };

  beforeEach(() => jest.useFakeTimers());

  afterEach(async () => {
    const stopped = Promise.all(loops.splice(0).map((loop) => loop.stop()));
    // A last load may take fake time.
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    await stopped;
    jest.useRealTimers();
  });

  it('loads at start, then, told nothing, only every fallback period', async () => {
    const loader = countingLoader();
    started(loader);
    await jest.advanceTimersByTimeAsync(0);
    expect(loader.loads).toBe(1);
    await jest.advanceTimersByTimeAsync(FALLBACK_INTERVAL_MS - 1);
    expect(loader.loads).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(loader.loads).toBe(2);
    await jest.advanceTimersByTimeAsync(FALLBACK_INTERVAL_MS);
    expect(loader.loads).toBe(3);
  });

  it('loads at once when told long after the last load', async () => {
    const loader = countingLoader();
    const loop = started(loader);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(loader.loads).toBe(1);
    loop.filesLanded();
    await jest.advanceTimersByTimeAsync(0);
    expect(loader.loads).toBe(2);
  });

  it('loads once within the interval for many notices, and no more after', async () => {
    const loader = countingLoader();
    const loop = started(loader);
    await jest.advanceTimersByTimeAsync(0);
    // Right after a load: the next waits out the interval, however often it is told.
    for (let i = 0; i < 10; i++) {
      loop.filesLanded();
      await jest.advanceTimersByTimeAsync(50);
    }
    expect(loader.loads).toBe(1);
    await jest.advanceTimersByTimeAsync(INTERVAL_MS - 500);
    expect(loader.loads).toBe(2);
    await jest.advanceTimersByTimeAsync(FALLBACK_INTERVAL_MS - 1);
    expect(loader.loads).toBe(2);
  });

  it('loads about once an interval while told all the time, as a busy lake is', async () => {
    const loader = countingLoader();
    const loop = started(loader);
    for (let ms = 0; ms < 10_000; ms += 100) {
      loop.filesLanded();
      await jest.advanceTimersByTimeAsync(100);
    }
    // At start, then once each interval.
    expect(loader.loads).toBe(11);
  });

  it('loads again, an interval later, when told during a load', async () => {
    const loader = countingLoader(300);
    const loop = started(loader);
    await jest.advanceTimersByTimeAsync(100);
    expect(loader.loads).toBe(1);
    // The load in progress may have listed the lake before these files landed.
    loop.filesLanded();
    await jest.advanceTimersByTimeAsync(200 + INTERVAL_MS - 1);
    expect(loader.loads).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(loader.loads).toBe(2);
  });

  it('moves a fallback load forward when told, rather than adding one', async () => {
    const loader = countingLoader();
    const loop = started(loader);
    await jest.advanceTimersByTimeAsync(10_000);
    loop.filesLanded();
    await jest.advanceTimersByTimeAsync(0);
    expect(loader.loads).toBe(2);
    // The fallback counts from the latest load.
    await jest.advanceTimersByTimeAsync(FALLBACK_INTERVAL_MS - 1);
    expect(loader.loads).toBe(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(loader.loads).toBe(3);
  });

  it('ignores notices before start and after stop, and stop loads one last time', async () => {
    const loader = countingLoader();
    const loop = new WarehouseLoadLoop(loader, { intervalMs: INTERVAL_MS });
    loop.filesLanded();
    await jest.advanceTimersByTimeAsync(FALLBACK_INTERVAL_MS);
    expect(loader.loads).toBe(0);
    loop.start();
    await jest.advanceTimersByTimeAsync(0);
    await loop.stop();
    expect(loader.loads).toBe(2);
    loop.filesLanded();
    await jest.advanceTimersByTimeAsync(FALLBACK_INTERVAL_MS * 2);
    expect(loader.loads).toBe(2);
  });

  it('runOnce loads now and resolves with the report, outside the schedule', async () => {
    const loader = countingLoader();
    const loop = started(loader);
    await jest.advanceTimersByTimeAsync(0);
    await expect(loop.runOnce()).resolves.toEqual({ files: 0, rows: 0 });
    expect(loader.loads).toBe(2);
    await jest.advanceTimersByTimeAsync(FALLBACK_INTERVAL_MS - 1);
    expect(loader.loads).toBe(2);
  });

  it('logs a failed load and tries again at the next one', async () => {
    const loader = countingLoader();
    loader.fail = true;
    const logger = { error: jest.fn() };
    const loop = started(loader, logger);
    await jest.advanceTimersByTimeAsync(0);
    expect(logger.error).toHaveBeenCalledWith('warehouse load failed; it will be retried', expect.any(Error));
    loader.fail = false;
    loop.filesLanded();
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(loader.loads).toBe(2);
    expect(logger.error).toHaveBeenCalledTimes(1);
  });
});

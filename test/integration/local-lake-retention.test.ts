import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hourPartition } from '../../src/sinks/lake/local/local-lake-delivery';
import { LocalLakeRetention } from '../../src/sinks/lake/local/local-lake-retention';

const NOW = new Date('2026-03-10T15:30:00.000Z');
const DAYS = { events: 30, failed: 7 };
const DAY_MS = 86_400_000;

describe('the embedded lake retention purge', () => {
  let lakeDir: string;

  beforeEach(async () => {
    lakeDir = await mkdtemp(path.join(tmpdir(), 'tributary-lake-retention-'));
  });

  afterEach(async () => {
    await rm(lakeDir, { recursive: true, force: true });
  });

  /** A lake file delivered at `at` into `folder`, as the local deliveries lay them out. */
  async function deliver(folder: 'events' | 'failed', at: Date, name = 'part-0001.parquet'): Promise<void> {
    const dir = path.join(lakeDir, folder, ...hourPartition(at).split('/'));
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, name), 'x');
  }

  /** Every file left, relative to the lake. */
  async function files(): Promise<string[]> {
    const entries = await readdir(lakeDir, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => path.relative(lakeDir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .sort();
  }

  const ago = (ms: number) => new Date(NOW.getTime() - ms);

  it('removes each hour partition once its whole hour is past its folder limit, and keeps the rest', async () => {
    // events, at 15:30: the hour 14:00-15:00 of 30 days ago has ended past the limit, and goes with
    // both its files; the hour 15:00-16:00 has not ended 30 days ago yet, and stays whole.
    await deliver('events', ago(30 * DAY_MS + 90 * 60_000));
    await deliver('events', ago(30 * DAY_MS + 40 * 60_000), 'part-0002.parquet');
    await deliver('events', ago(30 * DAY_MS + 20 * 60_000));
    await deliver('events', ago(400 * DAY_MS));
    await deliver('events', ago(1000));
    // failed: its own limit, 7 days.
    await deliver('failed', ago(8 * DAY_MS), 'part-0001.json.gz');
    await deliver('failed', ago(6 * DAY_MS), 'part-0001.json.gz');
    // Not a partition: left alone, whatever its age.
    await writeFile(path.join(lakeDir, 'events', 'README'), 'x');

    const purge = new LocalLakeRetention({ lakeDir, days: DAYS, now: () => NOW });
    await expect(purge.purge()).resolves.toEqual({ partitions: 3, files: 4 });
    expect(await files()).toEqual([
      'events/README',
      `events/${hourPartition(ago(30 * DAY_MS))}/part-0001.parquet`,
      `events/${hourPartition(ago(1000))}/part-0001.parquet`,
      `failed/${hourPartition(ago(6 * DAY_MS))}/part-0001.json.gz`,
    ]);
    // The folders the purge emptied are gone too: no year of 400 days ago is left.
    expect(await readdir(path.join(lakeDir, 'events'))).toEqual(['README', 'year=2026']);

    await expect(purge.purge()).resolves.toEqual({ partitions: 0, files: 0 });
    const later = new LocalLakeRetention({
      lakeDir,
      days: DAYS,
      now: () => new Date(NOW.getTime() + DAY_MS),
    });
    await expect(later.purge()).resolves.toEqual({ partitions: 1, files: 1 });
  });

  it('purges nothing from a lake that has no folders yet, and refuses a limit that is not whole days', async () => {
    await expect(new LocalLakeRetention({ lakeDir, days: DAYS }).purge()).resolves.toEqual({
      partitions: 0,
      files: 0,
    });
    expect(() => new LocalLakeRetention({ lakeDir, days: { events: 0, failed: 7 } })).toThrow(RangeError);
  });
});

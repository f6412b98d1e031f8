import { promises as fs } from 'node:fs';
import type { Dirent } from 'node:fs';
import path from 'node:path';

export interface LocalLakeRetentionOptions {
  /** The lake folder, e.g. `<dataDir>/lake`. */
  lakeDir: string;
  /** Days the files of each top folder are kept (Config.retention: lakeDays, failedEventsDays). */
  days: Readonly<Record<'events' | 'failed', number>>;
  now?: () => Date;
}

/** What a purge removed. */
export interface LakePurgeReport {
  /** Hour partitions removed, with every file in them. */
  partitions: number;
  files: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** One level of the hourly layout (`year=2024`…), the name and the number it holds. */
const LEVELS = ['year', 'month', 'day', 'hour'] as const;

/**
 * The lake's retention limits in the embedded stack, as the S3 lifecycle rules apply them in AWS
 * (docs/privacy.md#retention): an hour partition of `events/` or `failed/` is removed whole once
 * the whole hour is older than its folder's limit. Partitions are by delivery time, as Firehose's
 * are, so a file goes a fixed time after it was written, whatever the times of its events. The
 * folders a purge leaves empty go too; a name that is not a partition is left alone.
 */
export class LocalLakeRetention {
  private readonly now: () => Date;

  constructor(private readonly options: LocalLakeRetentionOptions) {
    for (const [folder, days] of Object.entries(options.days)) {
      if (!Number.isSafeInteger(days) || days < 1) {
        throw new RangeError(`the ${folder} lake limit must be a positive whole number of days, got ${days}`);
      }
    }
    this.now = options.now ?? (() => new Date());
  }

  /** Removes the partitions past their limit now. Cheap when none are: run it every hour or so. */
  async purge(): Promise<LakePurgeReport> {
    const report: LakePurgeReport = { partitions: 0, files: 0 };
    const now = this.now().getTime();
    for (const [folder, days] of Object.entries(this.options.days)) {
      const cutoff = now - days * DAY_MS;
      await this.purgeLevel(path.join(this.options.lakeDir, folder), 0, [], cutoff, report);
    }
    return report;
  }

  /**
   * Walks the partitions below `dir` (`values`: the numbers of the levels above), removing each hour
   * that ended by `cutoff`, and each folder that leaves empty; resolves with whether `dir` is empty.
   */
  private async purgeLevel(
    dir: string,
    level: number,
    values: number[],
    cutoff: number,
    report: LakePurgeReport,
  ): Promise<boolean> {
    const entries = await entriesOf(dir);
    let kept = entries.length;
    for (const entry of entries) {
      const value = partitionValue(entry, LEVELS[level] as string);
      if (value === undefined) continue;
      const child = path.join(dir, entry.name);
      if (level < LEVELS.length - 1) {
        if (await this.purgeLevel(child, level + 1, [...values, value], cutoff, report)) {
          await fs.rmdir(child).catch(() => undefined);
          kept -= 1;
        }
        continue;
      }
      const [year, month, day] = values as [number, number, number];
      if (Date.UTC(year, month - 1, day, value + 1) > cutoff) continue;
      report.files += await countFiles(child);
      report.partitions += 1;
      await fs.rm(child, { recursive: true, force: true });
      kept -= 1;
    }
    return kept === 0;
  }
}

async function entriesOf(dir: string): Promise<Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The number of a partition folder named `<level>=<digits>`; undefined for anything else. */
function partitionValue(entry: Dirent, level: string): number | undefined {
  if (!entry.isDirectory()) return undefined;
  const match = new RegExp(`^${level}=(\\d{2,4})$`).exec(entry.name);
  return match === null ? undefined : Number(match[1]);
}

async function countFiles(dir: string): Promise<number> {
  let files = 0;
  for (const entry of await entriesOf(dir)) {
    if (entry.isDirectory()) files += await countFiles(path.join(dir, entry.name));
    else files += 1;
  }
  return files;
}

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { TrackerStore } from './storage';

const KEY_PATTERN = /^[A-Za-z0-9_-]+$/;

/**
 * One JSON file per key in a folder. A write goes to a temporary file that is fsynced and then
 * renamed over the old one, so a crash mid-write leaves the previous queue, never half of one.
 */
export class FileStore implements TrackerStore {
  constructor(private readonly dir: string) {}

  async get(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.file(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async set(key: string, value: string): Promise<void> {
    const target = this.file(key);
    await mkdir(this.dir, { recursive: true });
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(value, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  private file(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error(`invalid store key "${key}"`);
    return path.join(this.dir, `${key}.json`);
  }
}

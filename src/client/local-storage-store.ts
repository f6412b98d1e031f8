import type { TrackerStore } from './storage';

/**
 * localStorage under a key prefix. `set` has written by the time it returns (an async function runs
 * synchronously up to its first await), so a save started in a `pagehide` handler is not cut off.
 */
export class LocalStorageStore implements TrackerStore {
  constructor(
    private readonly storage: Storage,
    private readonly prefix = 'tributary:',
  ) {}

  async get(key: string): Promise<string | undefined> {
    return this.storage.getItem(this.prefix + key) ?? undefined;
  }

  async set(key: string, value: string): Promise<void> {
    this.storage.setItem(this.prefix + key, value);
  }
}

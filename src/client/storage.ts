/**
 * Where the tracker keeps its queue and identity between runs: a file per key in Node.js,
 * localStorage in browsers. Values are strings (JSON); a missing key reads as undefined.
 */
export interface TrackerStore {
  /** Reads a value, or undefined when the key was never written. */
  get(key: string): Promise<string | undefined>;
  /** Writes a value durably (atomically where the medium allows) before resolving. */
  set(key: string, value: string): Promise<void>;
}

/** Keeps nothing across runs: for tests and for apps that accept losing the queue on exit. */
export class MemoryStore implements TrackerStore {
  private readonly values = new Map<string, string>();

  async get(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }

  async set(key: string, value: string): Promise<void> {
    this.values.set(key, value);
  }
}

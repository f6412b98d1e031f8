/**
 * A bounded, least-recently-used cache of read promises with a time-to-live. The promise is
 * cached, not its value, so concurrent readers of one missing key share a single read instead of
 * each sending their own (what keeps tail latency flat when a hot key expires under load).
 */
export class ReadCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; expiresAt: number }>();

  /**
   * @param ttlMs how long a read is served; 0 disables the cache (every call reads), Infinity
   *   keeps entries until they are deleted or evicted (for a cache told about every write).
   * @param maxEntries the bound; the least recently used entry goes first.
   * @param now the clock, injectable for tests.
   */
  constructor(
    readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {
    if (Number.isNaN(ttlMs) || ttlMs < 0) throw new RangeError(`ttlMs must be >= 0, got ${ttlMs}`);
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** The cached read of `key`, or a fresh `read()` when there is none or it is older than the TTL. */
  get(key: string, read: () => Promise<V>): Promise<V> {
    if (!this.enabled) return read();
    const hit = this.peek(key);
    if (hit !== undefined) return hit;
    return this.set(key, read());
  }

  /** A live entry, refreshed as most recently used; undefined when missing or expired. */
  peek(key: string): Promise<V> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  /**
   * Caches a read started now. The TTL counts from the start of the read, so what is served never
   * reflects the store as of longer ago than the TTL. A failed read is forgotten at once.
   */
  set(key: string, value: Promise<V>): Promise<V> {
    if (!this.enabled) return value;
    const entry = { value, expiresAt: this.now() + this.ttlMs };
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  /**
   * Forgets one key. A read of it still in flight goes on for those already waiting, but is no
   * longer handed out, so whoever asks next reads again.
   */
  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key, in the same way as delete. */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

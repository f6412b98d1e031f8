export interface ByteBoundedCacheOptions {
  /** The most the entries may weigh together, in bytes; 0 keeps nothing. */
  maxBytes: number;
  /** How long an entry is served; 0 keeps nothing, Infinity keeps entries until evicted. */
  ttlMs?: number;
  /** The clock, injectable for tests. */
  now?: () => number;
}

interface Entry<V> {
  value: V;
  bytes: number;
  expiresAt: number;
}

/**
 * A least-recently-used cache bounded by the bytes its entries weigh rather than by their number:
 * an entry count bounds nothing when a caller decides how large each entry is. An entry weighs
 * its key's UTF-8 bytes plus what the caller measured its value at; an entry heavier than the
 * whole bound is not kept, and the least recently used entries give way to a new one.
 */
export class ByteBoundedCache<V> {
  readonly maxBytes: number;
  readonly ttlMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry<V>>();
  private weight = 0;

  constructor(options: ByteBoundedCacheOptions) {
    const { maxBytes, ttlMs = Number.POSITIVE_INFINITY, now = Date.now } = options;
    if (!Number.isInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`maxBytes must be an integer >= 0, got ${maxBytes}`);
    }
    if (Number.isNaN(ttlMs) || ttlMs < 0) throw new RangeError(`ttlMs must be >= 0, got ${ttlMs}`);
    this.maxBytes = maxBytes;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /** Whether anything can be kept at all; callers skip the work of building keys when not. */
  get enabled(): boolean {
    return this.maxBytes > 0 && this.ttlMs > 0;
  }

  /** What the entries weigh together, in bytes; never more than maxBytes. */
  get bytes(): number {
    return this.weight;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A live entry, refreshed as most recently used; undefined when missing or expired. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.remove(key, entry);
    if (entry.expiresAt <= this.now()) return undefined;
    this.insert(key, entry);
    return entry.value;
  }

  /**
   * Keeps `value` under `key`, replacing what was there, and evicts the least recently used
   * entries until everything fits. Returns whether it was kept.
   */
  set(key: string, value: V, valueBytes: number): boolean {
    this.delete(key);
    const bytes = Buffer.byteLength(key, 'utf8') + valueBytes;
    if (!this.enabled || bytes > this.maxBytes) return false;
    for (const [oldestKey, oldest] of this.entries) {
      if (this.weight + bytes <= this.maxBytes) break;
      this.remove(oldestKey, oldest);
    }
    this.insert(key, { value, bytes, expiresAt: this.now() + this.ttlMs });
    return true;
  }

  /** Forgets one key; returns whether it was there. */
  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.remove(key, entry);
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.weight = 0;
  }

  private insert(key: string, entry: Entry<V>): void {
    this.entries.set(key, entry);
    this.weight += entry.bytes;
  }

  private remove(key: string, entry: Entry<V>): void {
    this.entries.delete(key);
    this.weight -= entry.bytes;
  }
}

import type { NeighbourEntry } from '../../realtime/items';
import type { TrendState, TrendWindow } from '../../realtime/trending';
import type { FailureReporter, HotActivity, HotStore, ItemRecord, UserProfileRecord } from './port';
import { ReadCache } from './read-cache';

export interface HotReadCacheOptions {
  /**
   * How stale a read may be served; 0 reads the store every time. Infinity suits a cache that
   * every write to the table goes through (the embedded stack): entries then live until a write
   * invalidates them or the bound evicts them.
   */
  ttlMs: number;
  /** Entries kept per kind of key (profiles, items, neighbour lists, trends). */
  maxEntries: number;
  now?: () => number;
}

/**
 * The hot store's reads behind a cache, for the read side (GraphQL). A popular profile, item or
 * trend is read from the table once per TTL instead of once per request, and whatever is served
 * reflects the table as of at most `ttlMs` ago. Absent keys are cached too, so unknown visitors do
 * not bypass it.
 *
 * Writes made through this instance invalidate what they may have changed, so where every writer
 * shares it (the embedded stack's stream processor and GraphQL server live in one process) reads
 * are never stale and the TTL can be unbounded. Where writers run elsewhere (the stream Lambda),
 * only the TTL bounds staleness.
 */
export class CachedHotStore implements HotStore {
  private readonly users: ReadCache<UserProfileRecord | null>;
  private readonly items: ReadCache<ItemRecord | null>;
  private readonly neighbours: ReadCache<NeighbourEntry[] | null>;
  private readonly trends: ReadCache<TrendState | null>;
  private writes = 0;

  constructor(
    private readonly store: HotStore,
    options: HotReadCacheOptions,
  ) {
    const cache = <V>() => new ReadCache<V>(options.ttlMs, options.maxEntries, options.now);
    this.users = cache();
    this.items = cache();
    this.neighbours = cache();
    this.trends = cache();
  }

  /**
   * Applies a batch of activity on the underlying store, then forgets what it may have changed:
   * the profiles it names, and every item, neighbour list and trend (one interaction re-scores
   * the neighbours of all the user's recent items, which only the store knows). Also after a
   * failure, which may have written some keys.
   */
  async applyActivity(activity: HotActivity[], report?: FailureReporter): Promise<void> {
    try {
      await this.store.applyActivity(activity, report);
    } finally {
      this.writes += 1;
      for (const { profileId } of activity) this.users.delete(profileId);
      this.items.clear();
      this.neighbours.clear();
      this.trends.clear();
    }
  }

  /**
   * Counts the batches applied through this instance (finished or failed): whatever was read
   * before a change of generation may be stale, which is how answers computed from these reads
   * are invalidated (see hotResponseCachePlugin).
   */
  get generation(): number {
    return this.writes;
  }

  /** Reads one profile, at most `ttlMs` stale. */
  getUser(id: string): Promise<UserProfileRecord | null> {
    return this.users.get(id, () => this.store.getUser(id));
  }

  /** Reads one item's stats and neighbours, at most `ttlMs` stale. */
  getItem(id: string): Promise<ItemRecord | null> {
    return this.items.get(id, () => this.store.getItem(id));
  }

  /**
   * Reads several neighbour lists: cached ones from the cache, all the others in one underlying
   * call (a BatchGet), whose answer is cached per item so other seed sets reuse it.
   */
  async getNeighbours(itemIds: string[]): Promise<Map<string, NeighbourEntry[]>> {
    if (!this.neighbours.enabled) return this.store.getNeighbours(itemIds);
    const ids = [...new Set(itemIds)];
    const pending = new Map<string, Promise<NeighbourEntry[] | null>>();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = this.neighbours.peek(id);
      if (hit === undefined) missing.push(id);
      else pending.set(id, hit);
    }
    if (missing.length > 0) {
      const read = this.store.getNeighbours(missing);
      for (const id of missing) {
        pending.set(
          id,
          this.neighbours.set(
            id,
            read.then((found) => found.get(id) ?? null),
          ),
        );
      }
    }
    const result = new Map<string, NeighbourEntry[]>();
    for (const id of ids) {
      const list = await pending.get(id);
      if (list !== null && list !== undefined) result.set(id, list);
    }
    return result;
  }

  /** Reads one trend, at most `ttlMs` stale. */
  getTrend(event: string | null, window: TrendWindow): Promise<TrendState | null> {
    // Event names cannot contain '/', so the key is unambiguous; null (every event) gets its own.
    const key = `${event === null ? '' : `e:${event}`}/${window}`;
    return this.trends.get(key, () => this.store.getTrend(event, window));
  }
}

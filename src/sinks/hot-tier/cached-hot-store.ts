import type { NeighbourEntry } from '../../realtime/items';
import type { TrendState, TrendWindow } from '../../realtime/trending';
import type { FailureReporter, HotActivity, HotStore, IdRecord, ItemRecord, UserProfileRecord } from './port';
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
  /** Each id's profile and identity, as readIds answers them; null when the id has neither. */
  private readonly records: ReadCache<IdRecord | null>;
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
    this.records = cache();
    this.items = cache();
    this.neighbours = cache();
    this.trends = cache();
  }

  /**
   * Applies a batch of activity on the underlying store, then forgets what it may have changed:
   * the profiles and identities it names. Items and trends change only when the pending changes
   * are folded in (forgetFolded). Also after a failure, which may have written some keys.
   */
  async applyActivity(activity: HotActivity[], report?: FailureReporter): Promise<void> {
    try {
      await this.store.applyActivity(activity, report);
    } finally {
      this.forgetWritesOf(activity);
    }
  }

  /**
   * Forgets what applying `activity` may have changed: the profile and identity of every id an
   * event names (a link changes the identity of both ids it joins). Bumps the generation.
   */
  forgetWritesOf(activity: readonly HotActivity[]): void {
    this.writes += 1;
    for (const a of activity) {
      for (const id of [a.profileId, a.userId, a.anonymousId, a.previousId]) {
        if (id === null) continue;
        this.users.delete(id);
        this.records.delete(id);
      }
    }
  }

  /**
   * Forgets what a fold of pending changes may have changed: every item, neighbour list and trend
   * (one interaction re-scores the neighbours of all the user's recent items, which only the store
   * knows). Bumps the generation.
   */
  forgetFolded(): void {
    this.writes += 1;
    this.items.clear();
    this.neighbours.clear();
    this.trends.clear();
  }

  /** Unlinks on the underlying store, then forgets the id's identity. */
  async unlink(id: string, at: string): Promise<boolean> {
    try {
      return await this.store.unlink(id, at);
    } finally {
      this.writes += 1;
      this.records.delete(id);
    }
  }

  /**
   * Forgets what erasing `ids` changed (HotTierEraser, on the underlying table): their profiles,
   * and every identity, since other ids' identities lose claims too and only the table knew which.
   */
  forgetErased(ids: readonly string[]): void {
    this.writes += 1;
    this.records.clear();
    for (const id of ids) this.users.delete(id);
  }

  /**
   * Reads several ids' records: cached ones from the cache, the others in one underlying call,
   * cached per id so a person's ids are shared by every query that resolves them.
   */
  readIds(ids: readonly string[]): Promise<Map<string, IdRecord>> {
    return this.batched(this.records, ids, (missing) => this.store.readIds(missing));
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
  getNeighbours(itemIds: string[]): Promise<Map<string, NeighbourEntry[]>> {
    return this.batched(this.neighbours, itemIds, (missing) => this.store.getNeighbours(missing));
  }

  /**
   * Reads keys through `cache`: cached ones from it, all the others in one underlying call, whose
   * answer is cached per key (absent keys as null) so other reads reuse it.
   */
  private async batched<V>(
    cache: ReadCache<V | null>,
    keys: readonly string[],
    readMissing: (missing: string[]) => Promise<Map<string, V>>,
  ): Promise<Map<string, V>> {
    if (!cache.enabled) return readMissing([...keys]);
    const unique = [...new Set(keys)];
    const pending = new Map<string, Promise<V | null>>();
    const missing: string[] = [];
    for (const key of unique) {
      const hit = cache.peek(key);
      if (hit === undefined) missing.push(key);
      else pending.set(key, hit);
    }
    if (missing.length > 0) {
      const read = readMissing(missing);
      for (const key of missing) {
        pending.set(
          key,
          cache.set(
            key,
            read.then((found) => found.get(key) ?? null),
          ),
        );
      }
    }
    const result = new Map<string, V>();
    for (const key of unique) {
      const value = await pending.get(key);
      if (value !== null && value !== undefined) result.set(key, value);
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

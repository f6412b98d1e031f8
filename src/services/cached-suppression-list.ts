import type { SuppressionList } from '../privacy/port';
import { ReadCache } from '../sinks/hot-tier/read-cache';

export interface SuppressionCacheOptions {
  /** How long an answer is served (TRIBUTARY_SUPPRESSION_CACHE_MS); 0 asks the list every time. */
  ttlMs: number;
  /** Ids whose answers are kept at most; the least recently used goes first. */
  maxEntries?: number;
  now?: () => number;
}

/** About 10 MB at worst: enough for the distinct ids of a few minutes of busy traffic. */
export const DEFAULT_SUPPRESSION_CACHE_ENTRIES = 100_000;

/**
 * The suppression list behind a short cache of its answers, "suppressed" and "not suppressed"
 * alike: the edge and the stream check every id of every request and batch, and without it each
 * check would be a strongly consistent DynamoDB read. Ids missing from the cache are read in one
 * call per check.
 *
 * The TTL bounds how long after deleteUser answers another process (another API instance, the
 * stream processor) may still let the person's events through. The process that answered must
 * drop them at once, so suppress and unsuppress are routed through this same object (create-services
 * hands it to both the deletion service and the ingest service): once the list has them, their new
 * answers replace whatever was cached, a read still in flight included.
 */
export class CachedSuppressionList implements SuppressionList {
  private readonly answers: ReadCache<boolean>;

  constructor(
    private readonly list: SuppressionList,
    options: SuppressionCacheOptions,
  ) {
    this.answers = new ReadCache<boolean>(
      options.ttlMs,
      options.maxEntries ?? DEFAULT_SUPPRESSION_CACHE_ENTRIES,
      options.now,
    );
  }

  /** Suppresses the ids, then answers them suppressed from this process at once. */
  async suppress(ids: readonly string[], requestId: string): Promise<void> {
    await this.changing(ids, true, () => this.list.suppress(ids, requestId));
  }

  /** Lifts the suppressions, then answers the ids not suppressed from this process at once. */
  async unsuppress(ids: readonly string[]): Promise<void> {
    await this.changing(ids, false, () => this.list.unsuppress(ids));
  }

  async suppressed(ids: readonly string[]): Promise<Set<string>> {
    if (!this.answers.enabled) return this.list.suppressed(ids);
    const answers = new Map<string, Promise<boolean>>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const cached = this.answers.peek(id);
      if (cached === undefined) missing.push(id);
      else answers.set(id, cached);
    }
    if (missing.length > 0) {
      const read = this.list.suppressed(missing);
      for (const id of missing)
        answers.set(
          id,
          this.answers.set(
            id,
            read.then((found) => found.has(id)),
          ),
        );
    }
    const entries = [...answers];
    // All at once, so a failed read rejects once and leaves no rejection unobserved.
    const flags = await Promise.all(entries.map(([, answer]) => answer));
    return new Set(entries.filter((_, i) => flags[i]).map(([id]) => id));
  }

  /** Not cached: lifting a suppression needs the request that made it as the list holds it now. */
  suppressedBy(ids: readonly string[]): Promise<Map<string, string>> {
    return this.list.suppressedBy(ids);
  }

  /**
   * Runs a change to the list, then caches its outcome for the ids. A change that failed may have
   * been made for some ids, so their answers are forgotten and read again on the next check.
   */
  private async changing(ids: readonly string[], suppressed: boolean, change: () => Promise<void>) {
    try {
      await change();
    } catch (error) {
      for (const id of ids) this.answers.delete(id);
      throw error;
    }
    for (const id of ids) this.answers.set(id, Promise.resolve(suppressed));
  }
}

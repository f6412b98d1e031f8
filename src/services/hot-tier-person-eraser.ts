import type { ErasureResult, PersonEraser } from '../privacy/port';
import type { CachedHotStore } from '../sinks/hot-tier/cached-hot-store';
import type { HotTierEraser } from '../sinks/hot-tier/port';

/** The deletion step of the hot tier, as DeletionStep.store names it. */
export const HOT_TIER_STORE = 'hot-tier';

/**
 * The hot tier as a deletion step: erases the ids from the table, then has the read cache in this
 * process forget them (also after a failure, which may have erased part), so no read serves a
 * profile or a link that is gone. Without a cache here, reads elsewhere go stale for their TTL only.
 */
export function hotTierPersonEraser(
  eraser: HotTierEraser,
  cache?: Pick<CachedHotStore, 'forgetErased'>,
): PersonEraser {
  return {
    store: HOT_TIER_STORE,
    async erase(ids: readonly string[]): Promise<ErasureResult> {
      try {
        return { removed: await eraser.eraseIds(ids) };
      } finally {
        cache?.forgetErased(ids);
      }
    },
  };
}

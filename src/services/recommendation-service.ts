import { SEED_ITEMS, userRecommendations, type Recommendation } from '../realtime/recommend';
import { readTrend, type TrendingItem, type TrendWindow } from '../realtime/trending';
import type { RecentItem } from '../realtime/profile';
import type { HotStore, ItemRecord, UserProfileRecord } from '../sinks/hot-tier/port';
import { badUserInput } from './errors';

export const MAX_LIMIT = 100;

/** The window whose trend fills recommendations that co-occurrence cannot. */
const FALLBACK_WINDOW: TrendWindow = 'DAY';

/** The limit, if it is an integer in [1, MAX_LIMIT]; else a BAD_USER_INPUT error. */
export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw badUserInput(`limit must be an integer between 1 and ${MAX_LIMIT}`);
  }
  return limit;
}

/** Real-time recommendations, trending items and item stats, read from the hot tier. */
export class RecommendationService {
  constructor(
    private readonly hotStore: HotStore,
    private readonly now: () => number = Date.now,
    /** A user's profile: the whole person's (ProfileService.user) wherever identities are stitched. */
    private readonly profileOf: (userId: string) => Promise<UserProfileRecord | null> = (userId) =>
      hotStore.getUser(userId),
  ) {}

  /**
   * Recommendations for a user, for an item, or for a user looking at an item (the item leads
   * their recent interests); trending items when neither is known.
   */
  async recommend(query: { userId?: string; itemId?: string; limit: number }): Promise<Recommendation[]> {
    checkLimit(query.limit);
    const profile = query.userId === undefined ? null : await this.profileOf(query.userId);
    return this.forProfile(profile, query.limit, query.itemId);
  }

  /** Recommendations for a profile already read (null: a visitor the hot tier has not seen). */
  async forProfile(
    profile: UserProfileRecord | null,
    limit: number,
    itemId?: string,
  ): Promise<Recommendation[]> {
    checkLimit(limit);
    const recent = profile?.recentItems ?? [];
    const known = recent.find((r) => r.id === itemId);
    const seeds: RecentItem[] = (
      itemId === undefined
        ? recent
        : [
            { id: itemId, weight: known?.weight ?? 1, at: new Date(this.now()).toISOString() },
            ...recent.filter((r) => r.id !== itemId),
          ]
    ).slice(0, SEED_ITEMS);
    // Never what they bought, nor the item they are looking at.
    const exclude = [...(profile?.purchased ?? []), ...(itemId === undefined ? [] : [itemId])];
    const [neighbours, trend] = await Promise.all([
      seeds.length > 0 ? this.hotStore.getNeighbours(seeds.map((s) => s.id)) : Promise.resolve(new Map()),
      this.hotStore.getTrend(null, FALLBACK_WINDOW),
    ]);
    return userRecommendations({
      recentItems: seeds,
      exclude,
      neighbours,
      trending: readTrend(trend, FALLBACK_WINDOW, this.now(), limit + exclude.length),
      limit,
    });
  }

  /** The items trending for one event (or every item event), best first. */
  async trending(event: string | undefined, window: TrendWindow, limit: number): Promise<TrendingItem[]> {
    checkLimit(limit);
    return readTrend(await this.hotStore.getTrend(event ?? null, window), window, this.now(), limit);
  }

  /** An item's stats and neighbours, or null when it has never been seen. */
  item(id: string): Promise<ItemRecord | null> {
    return this.hotStore.getItem(id);
  }
}

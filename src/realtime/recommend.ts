import type { NeighbourEntry } from './items';
import type { RecentItem } from './profile';
import type { TrendingItem } from './trending';

export interface Recommendation {
  itemId: string;
  score: number;
  reason: string;
}

export interface UserRecommendationInput {
  /** Newest first; the first `seeds` become seeds. */
  recentItems: readonly RecentItem[];
  /** Items never to recommend: what the user bought, the item they are looking at. */
  exclude: readonly string[];
  /** Neighbour lists of the seed items (missing ones have no neighbours yet). */
  neighbours: ReadonlyMap<string, readonly NeighbourEntry[]>;
  /** The fallback, best first. */
  trending: readonly TrendingItem[];
  limit: number;
}

/** How many of a user's latest items seed their recommendations. */
export const SEED_ITEMS = 10;
/** Each older seed counts this much less than the one after it: the latest interest leads. */
export const RECENCY = 0.5;

/**
 * Blends the neighbours of a user's latest items, each weighted by how strongly and how recently
 * the user engaged with it; never an excluded item (what they bought). When that yields too little (a new user, or
 * items nobody else touched), trending items fill the rest, ranked below every blended item.
 */
export function userRecommendations(input: UserRecommendationInput): Recommendation[] {
  const excluded = new Set(input.exclude);
  const scores = new Map<string, { score: number; best: number; because: string }>();
  input.recentItems.slice(0, SEED_ITEMS).forEach((seed, rank) => {
    const seedWeight = seed.weight * Math.pow(RECENCY, rank);
    for (const n of input.neighbours.get(seed.id) ?? []) {
      if (n.score <= 0 || excluded.has(n.id) || n.id === seed.id) continue;
      const part = seedWeight * n.score;
      const entry = scores.get(n.id) ?? { score: 0, best: 0, because: seed.id };
      entry.score += part;
      if (part > entry.best) Object.assign(entry, { best: part, because: seed.id });
      scores.set(n.id, entry);
    }
  });
  const blended = [...scores.entries()]
    .sort(([a, x], [b, y]) => y.score - x.score || (a < b ? -1 : 1))
    .slice(0, input.limit)
    .map(([itemId, e]) => ({ itemId, score: e.score, reason: `co-occurs with ${e.because}` }));
  if (blended.length >= input.limit) return blended;

  const taken = new Set(blended.map((r) => r.itemId));
  const floor = blended.at(-1)?.score ?? 1;
  const fallback = input.trending
    .filter((t) => !excluded.has(t.itemId) && !taken.has(t.itemId))
    .slice(0, input.limit - blended.length);
  const top = fallback[0]?.score ?? 0;
  // Trending scores are counts, not similarities: rescale them to sit just below the blend.
  return [
    ...blended,
    ...fallback.map((t) => ({
      itemId: t.itemId,
      score: top > 0 ? (floor * 0.5 * t.score) / top : 0,
      reason: 'trending',
    })),
  ];
}

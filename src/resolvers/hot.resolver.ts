import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { Item, Recommendation, TrendingItem, TrendWindow } from '../schema/recommendation.type';
import { RecentEvent, UserProfile } from '../schema/user.type';
import { checkLimit } from '../services/recommendation-service';
import type { RequestContext } from './context';
import { Requires, needs } from './requires';
import { perElement } from './costs';

const DEFAULT_LIMIT = 10;
/** `limit: Int = 10`: an explicit null means the default, as for an omitted argument. */
const LIMIT = { nullable: true, defaultValue: DEFAULT_LIMIT } as const;
const limitOf = (limit: number | null): number => limit ?? DEFAULT_LIMIT;

const toRecommendations = (items: Recommendation[]) =>
  items.map((r) => Object.assign(new Recommendation(), r));

@Resolver(() => UserProfile)
export class HotResolver {
  @Requires(needs('HOT_READ'), { person: 'id' })
  @Query(() => UserProfile, {
    nullable: true,
    description:
      'The person one of whose ids is `id` (a userId or an anonymous id), from the hot tier: their profile across every linked id.',
  })
  async user(
    @Arg('id', () => ID) id: string,
    @Ctx() { services }: RequestContext,
  ): Promise<UserProfile | null> {
    const profile = await services.profiles.user(id);
    return profile ? UserProfile.from(profile) : null;
  }

  @FieldResolver(() => [RecentEvent], {
    complexity: perElement(DEFAULT_LIMIT),
    description: 'The latest events, newest first (at most 50 are kept).',
  })
  recentEvents(
    @Root() user: UserProfile,
    @Arg('limit', () => Int, LIMIT) limit: number | null,
  ): RecentEvent[] {
    const count = checkLimit(limitOf(limit));
    return user.record.recentEvents
      .slice(0, count)
      .map((e) => Object.assign(new RecentEvent(), { ...e, timestamp: new Date(e.timestamp) }));
  }

  @FieldResolver(() => [Recommendation], {
    name: 'recommendations',
    complexity: perElement(DEFAULT_LIMIT, 5),
    description: 'Real-time recommendations for this person, from the history of every id linked to them.',
  })
  async userRecommendations(
    @Root() user: UserProfile,
    @Arg('limit', () => Int, LIMIT) limit: number | null,
    @Ctx() { services }: RequestContext,
  ): Promise<Recommendation[]> {
    return toRecommendations(await services.recommendations.forProfile(user.record, limitOf(limit)));
  }

  @Requires({ scope: 'PUBLIC_READ', whenAbsent: 'userId' }, needs('HOT_READ'), { person: 'userId' })
  @Query(() => [Recommendation], {
    complexity: perElement(DEFAULT_LIMIT, 5),
    description:
      'Items to recommend to a user, for an item, or to a user looking at an item; trending items for a visitor nobody knows.',
  })
  async recommendations(
    @Arg('userId', () => ID, { nullable: true }) userId: string | undefined,
    @Arg('itemId', () => ID, { nullable: true }) itemId: string | undefined,
    @Arg('limit', () => Int, LIMIT) limit: number | null,
    @Ctx() { services }: RequestContext,
  ): Promise<Recommendation[]> {
    return toRecommendations(
      await services.recommendations.recommend({
        userId: userId ?? undefined,
        itemId: itemId ?? undefined,
        limit: limitOf(limit),
      }),
    );
  }

  @Requires(needs('PUBLIC_READ'))
  @Query(() => [TrendingItem], {
    complexity: perElement(DEFAULT_LIMIT, 5),
    description: 'Items trending for an event (or for every item event), best first.',
  })
  async trending(
    @Arg('event', () => String, { nullable: true }) event: string | undefined,
    @Arg('window', () => TrendWindow, { nullable: true, defaultValue: TrendWindow.HOUR })
    window: TrendWindow | null,
    @Arg('limit', () => Int, LIMIT) limit: number | null,
    @Ctx() { services }: RequestContext,
  ): Promise<TrendingItem[]> {
    const items = await services.recommendations.trending(
      event ?? undefined,
      window ?? TrendWindow.HOUR,
      limitOf(limit),
    );
    return items.map((t) => Object.assign(new TrendingItem(), t));
  }

  @Requires(needs('PUBLIC_READ'))
  @Query(() => Item, { nullable: true, description: 'An item with its stats, from the hot tier.' })
  async item(@Arg('id', () => ID) id: string, @Ctx() { services }: RequestContext): Promise<Item | null> {
    const record = await services.recommendations.item(id);
    return record ? Item.from(record) : null;
  }
}

@Resolver(() => Item)
export class ItemResolver {
  @FieldResolver(() => [Recommendation], {
    complexity: perElement(DEFAULT_LIMIT),
    description: 'Items that co-occur with this one in users’ recent views, carts and purchases, best first.',
  })
  alsoViewed(@Root() item: Item, @Arg('limit', () => Int, LIMIT) limit: number | null): Recommendation[] {
    const count = checkLimit(limitOf(limit));
    return toRecommendations(
      item.record.neighbours
        .filter((n) => n.score > 0)
        .slice(0, count)
        .map((n) => ({ itemId: n.id, score: n.score, reason: `co-occurs with ${item.id}` })),
    );
  }
}

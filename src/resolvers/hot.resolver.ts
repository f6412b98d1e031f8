import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { Item, Recommendation, TrendingItem, TrendWindow } from '../schema/recommendation.type';
import { RecentEvent, UserProfile } from '../schema/user.type';
import { badUserInput } from '../services/errors';
import { MAX_LIMIT } from '../services/recommendation-service';
import type { RequestContext } from './context';

function checkLimit(limit: number): void {
  if (limit < 1 || limit > MAX_LIMIT) throw badUserInput(`limit must be between 1 and ${MAX_LIMIT}`);
}

const toRecommendations = (items: Recommendation[]) =>
  items.map((r) => Object.assign(new Recommendation(), r));

@Resolver(() => UserProfile)
export class HotResolver {
  @Query(() => UserProfile, {
    nullable: true,
    description: 'A user or anonymous visitor, from the hot tier.',
  })
  async user(
    @Arg('id', () => ID) id: string,
    @Ctx() { services }: RequestContext,
  ): Promise<UserProfile | null> {
    const profile = await services.profiles.user(id);
    return profile ? UserProfile.from(profile) : null;
  }

  @FieldResolver(() => [RecentEvent], {
    description: 'The latest events, newest first (at most 50 are kept).',
  })
  recentEvents(
    @Root() user: UserProfile,
    @Arg('limit', () => Int, { defaultValue: 10 }) limit: number,
  ): RecentEvent[] {
    checkLimit(limit);
    return user.record.recentEvents
      .slice(0, limit)
      .map((e) => Object.assign(new RecentEvent(), { ...e, timestamp: new Date(e.timestamp) }));
  }

  @FieldResolver(() => [Recommendation], {
    name: 'recommendations',
    description: 'Real-time recommendations for this user.',
  })
  async userRecommendations(
    @Root() user: UserProfile,
    @Arg('limit', () => Int, { defaultValue: 10 }) limit: number,
    @Ctx() { services }: RequestContext,
  ): Promise<Recommendation[]> {
    return toRecommendations(await services.recommendations.forProfile(user.record, limit));
  }

  @Query(() => [Recommendation], {
    description:
      'Items to recommend to a user, for an item, or to a user looking at an item; trending items for a visitor nobody knows.',
  })
  async recommendations(
    @Arg('userId', () => ID, { nullable: true }) userId: string | undefined,
    @Arg('itemId', () => ID, { nullable: true }) itemId: string | undefined,
    @Arg('limit', () => Int, { defaultValue: 10 }) limit: number,
    @Ctx() { services }: RequestContext,
  ): Promise<Recommendation[]> {
    return toRecommendations(
      await services.recommendations.recommend({
        userId: userId ?? undefined,
        itemId: itemId ?? undefined,
        limit,
      }),
    );
  }

  @Query(() => [TrendingItem], {
    description: 'Items trending for an event (or for every item event), best first.',
  })
  async trending(
    @Arg('event', () => String, { nullable: true }) event: string | undefined,
    @Arg('window', () => TrendWindow, { defaultValue: TrendWindow.HOUR }) window: TrendWindow,
    @Arg('limit', () => Int, { defaultValue: 10 }) limit: number,
    @Ctx() { services }: RequestContext,
  ): Promise<TrendingItem[]> {
    const items = await services.recommendations.trending(event ?? undefined, window, limit);
    return items.map((t) => Object.assign(new TrendingItem(), t));
  }

  @Query(() => Item, { nullable: true, description: 'An item with its stats, from the hot tier.' })
  async item(@Arg('id', () => ID) id: string, @Ctx() { services }: RequestContext): Promise<Item | null> {
    const record = await services.recommendations.item(id);
    return record ? Item.from(record) : null;
  }
}

@Resolver(() => Item)
export class ItemResolver {
  @FieldResolver(() => [Recommendation], {
    description: 'Items that co-occur with this one in users’ recent views, carts and purchases, best first.',
  })
  alsoViewed(
    @Root() item: Item,
    @Arg('limit', () => Int, { defaultValue: 10 }) limit: number,
  ): Recommendation[] {
    checkLimit(limit);
    return toRecommendations(
      item.record.neighbours
        .filter((n) => n.score > 0)
        .slice(0, limit)
        .map((n) => ({ itemId: n.id, score: n.score, reason: `co-occurs with ${item.id}` })),
    );
  }
}

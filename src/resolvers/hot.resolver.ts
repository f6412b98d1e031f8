import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { UserProfile } from '../schema/user.type';
import type { RequestContext } from './context';

@Resolver()
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
    if (!profile) return null;
    return Object.assign(new UserProfile(), {
      ...profile,
      firstSeen: new Date(profile.firstSeen),
      lastSeen: new Date(profile.lastSeen),
    });
  }
}

import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { Identity } from '../schema/identity.type';
import type { RequestContext } from './context';
import { Requires, needs } from './requires';

@Resolver(() => Identity)
export class IdentityResolver {
  @Requires(needs('HOT_READ'), { person: 'id' })
  @Query(() => Identity, {
    nullable: true,
    description: 'Who an id belongs to, from the hot tier; null when it has never been seen.',
  })
  async identity(
    @Arg('id', () => ID) id: string,
    @Ctx() { services }: RequestContext,
  ): Promise<Identity | null> {
    const identity = await services.profiles.identity(id);
    return identity === null ? null : Identity.from(identity);
  }

  @Requires(needs('ADMIN'))
  @Mutation(() => Identity, {
    description:
      'Splits a wrongly linked id off its person for good: its profile and recommendations, and the person’s, go back to what they were without the link, and later links of the id are ignored. NOT_LINKED when the id is its own person.',
  })
  async unlinkIdentity(
    @Arg('id', () => ID) id: string,
    @Ctx() { services }: RequestContext,
  ): Promise<Identity> {
    return Identity.from(await services.profiles.unlink(id));
  }
}

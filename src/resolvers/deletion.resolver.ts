import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { DeletionRequest } from '../schema/deletion.type';
import type { RequestContext } from './context';
import { Requires, needs } from './requires';

@Resolver()
export class DeletionResolver {
  @Requires(needs('ADMIN'))
  @Mutation(() => DeletionRequest, {
    description:
      'Erases a person from every store: the id and every id linked to it. Answers the request at once; the stores are erased in the background (deletionRequest shows how far). With suppress, events for these ids are dropped from before the answer on, until unsuppressUser.',
  })
  async deleteUser(
    @Arg('id', () => ID) id: string,
    @Arg('suppress', () => Boolean, { nullable: true, defaultValue: true }) suppress: boolean | null,
    @Ctx() { services }: RequestContext,
  ): Promise<DeletionRequest> {
    return DeletionRequest.from(await services.deletions.deleteUser(id, suppress ?? true));
  }

  @Requires(needs('ADMIN'))
  @Query(() => DeletionRequest, { nullable: true, description: 'A deletion request and how far it got.' })
  async deletionRequest(
    @Arg('id', () => ID) id: string,
    @Ctx() { services }: RequestContext,
  ): Promise<DeletionRequest | null> {
    const request = await services.deletions.deletionRequest(id);
    return request === null ? null : DeletionRequest.from(request);
  }

  @Requires(needs('ADMIN'))
  @Mutation(() => [ID], {
    description:
      'Lifts the suppression of an id and of every id the same deletion suppressed with it; answers the ids no longer suppressed. Nothing erased comes back.',
  })
  async unsuppressUser(
    @Arg('id', () => ID) id: string,
    @Ctx() { services }: RequestContext,
  ): Promise<string[]> {
    return services.deletions.unsuppressUser(id);
  }
}

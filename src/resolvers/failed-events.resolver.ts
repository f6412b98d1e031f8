import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { FailureType as FailureTypeValue } from '../events/types';
import { FailedEvent, FailureType, ReplayResult } from '../schema/failed-event.type';
import type { RequestContext } from './context';
import { Requires, needs } from './requires';
import { COST, fixed, perElement } from './costs';

const toDomain = (type: FailureType | undefined | null): FailureTypeValue | undefined =>
  type == null ? undefined : (type.toLowerCase() as FailureTypeValue);

@Resolver()
export class FailedEventsResolver {
  @Requires(needs('FAILED_EVENTS_READ'))
  @Query(() => [FailedEvent], {
    complexity: perElement(100, 10),
    description: 'Failed events received in [from, to), newest first, from the warehouse.',
  })
  async failedEvents(
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('type', () => FailureType, { nullable: true }) type: FailureType | undefined,
    @Arg('event', () => String, { nullable: true }) event: string | undefined,
    @Arg('limit', () => Int, { defaultValue: 100 }) limit: number,
    @Ctx() { services }: RequestContext,
  ): Promise<FailedEvent[]> {
    const rows = await services.failedEvents.list({
      from,
      to,
      failureType: toDomain(type),
      event: event ?? undefined,
      limit,
    });
    return rows.map((row) =>
      Object.assign(new FailedEvent(), {
        ...row,
        failureType: FailureType[row.failureType.toUpperCase() as keyof typeof FailureType],
        receivedAt: new Date(row.receivedAt),
      }),
    );
  }

  @Requires(needs('ADMIN'))
  @Mutation(() => ReplayResult, {
    complexity: fixed(COST.replay),
    description:
      'Replays the failed events of [from, to) through the stream with their original messageIds (after a schema fix); never duplicates.',
  })
  async replayFailedEvents(
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('type', () => FailureType, { nullable: true }) type: FailureType | undefined,
    @Arg('event', () => String, { nullable: true }) event: string | undefined,
    @Ctx() { services }: RequestContext,
  ): Promise<ReplayResult> {
    const report = await services.failedEvents.replay({
      from,
      to,
      failureType: toDomain(type),
      event: event ?? undefined,
    });
    return Object.assign(new ReplayResult(), report);
  }
}

import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import { EventCount, Granularity } from '../schema/event-count.type';
import type { RequestContext } from './context';

@Resolver()
export class AnalyticsResolver {
  @Query(() => [EventCount], {
    description: 'Events and distinct users per time bucket in [from, to), from the warehouse.',
  })
  async eventCounts(
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('granularity', () => Granularity, { defaultValue: Granularity.DAY }) granularity: Granularity,
    @Arg('events', () => [String], { nullable: true }) events: string[] | undefined,
    @Ctx() { services }: RequestContext,
  ): Promise<EventCount[]> {
    const rows = await services.analytics.eventCounts({ from, to, granularity, events: events ?? undefined });
    return rows.map((row) => Object.assign(new EventCount(), row));
  }
}

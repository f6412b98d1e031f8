import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, Info, Int, Query, Resolver } from 'type-graphql';
import { CACHE_TTL_SECONDS } from '../services/analytics-service';
import {
  Dimension,
  Funnel,
  IdentityMode,
  Retention,
  TopItems,
  UniqueUsers,
  WarehouseStatus,
} from '../schema/analytics.type';
import { EventCount, Granularity } from '../schema/event-count.type';
import type { RequestContext } from './context';
import { Requires, needs } from './requires';
import { COST, fixed, perStep } from './costs';
import { selectsField } from './selection';

const RANGE = 'All analytics count events by event time in [from, to) (UTC).';

/** The `identity` argument of the queries that count distinct users. */
const IDENTITY = {
  defaultValue: IdentityMode.PERSON,
  description: 'Whom to count as one user: a person (linked ids together), or each raw id.',
} as const;

@Resolver()
export class AnalyticsResolver {
  @Requires(needs('ANALYTICS_READ'))
  @Query(() => [EventCount], {
    complexity: fixed(COST.eventCounts),
    description: `Events and distinct users per time bucket in [from, to), grouped by EVENT unless groupBy says otherwise. Cached for up to ${CACHE_TTL_SECONDS} s.`,
  })
  async eventCounts(
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('granularity', () => Granularity, { defaultValue: Granularity.DAY }) granularity: Granularity,
    @Arg('events', () => [String], { nullable: true }) events: string[] | undefined,
    @Arg('groupBy', () => [Dimension], {
      nullable: true,
      description: 'Dimensions to group by (besides the bucket); omitted means [EVENT], [] means totals.',
    })
    groupBy: Dimension[] | undefined,
    @Arg('identity', () => IdentityMode, IDENTITY) identity: IdentityMode,
    @Ctx() { services }: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<EventCount[]> {
    const rows = await services.analytics.eventCounts({
      from,
      to,
      granularity,
      events: events ?? undefined,
      groupBy: groupBy ?? undefined,
      identity,
      // Distinct users cost most of the query: counted only when the operation reads them.
      users: selectsField(info, 'EventCount', 'users'),
    });
    return rows.map((row) => Object.assign(new EventCount(), row));
  }

  @Requires(needs('ANALYTICS_READ'))
  @Query(() => UniqueUsers, {
    complexity: fixed(COST.uniqueUsers),
    description: `Distinct users in [from, to), optionally of one event. ${RANGE}`,
  })
  async uniqueUsers(
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('event', () => String, { nullable: true }) event: string | undefined,
    @Arg('identity', () => IdentityMode, IDENTITY) identity: IdentityMode,
    @Ctx() { services }: RequestContext,
  ): Promise<UniqueUsers> {
    return services.analytics.uniqueUsers({ from, to, event: event ?? undefined, identity });
  }

  @Requires(needs('ANALYTICS_READ'))
  @Query(() => Funnel, {
    complexity: perStep,
    description: `Users who did the steps in order inside [from, to), each step at most windowHours after step 1. ${RANGE}`,
  })
  async funnel(
    @Arg('steps', () => [String]) steps: string[],
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('windowHours', () => Int, { nullable: true, defaultValue: 24 }) windowHours: number | null,
    @Arg('identity', () => IdentityMode, IDENTITY) identity: IdentityMode,
    @Ctx() { services }: RequestContext,
  ): Promise<Funnel> {
    return services.analytics.funnel({ steps, from, to, windowHours: windowHours ?? 24, identity });
  }

  @Requires(needs('ANALYTICS_READ'))
  @Query(() => Retention, {
    complexity: fixed(COST.retention),
    description: `Cohorts of users by the period of their first startEvent in [from, to), with how many did returnEvent in each later period. ${RANGE}`,
  })
  async retention(
    @Arg('startEvent', () => String) startEvent: string,
    @Arg('returnEvent', () => String) returnEvent: string,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('period', () => Granularity, { nullable: true, defaultValue: Granularity.DAY })
    period: Granularity | null,
    @Arg('identity', () => IdentityMode, IDENTITY) identity: IdentityMode,
    @Ctx() { services }: RequestContext,
  ): Promise<Retention> {
    return services.analytics.retention({
      startEvent,
      returnEvent,
      from,
      to,
      period: period ?? Granularity.DAY,
      identity,
    });
  }

  @Requires(needs('ANALYTICS_READ'))
  @Query(() => TopItems, {
    complexity: fixed(COST.topItems),
    description: `The items with the most events of one name in [from, to). ${RANGE}`,
  })
  async topItems(
    @Arg('event', () => String) event: string,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('limit', () => Int, { nullable: true, defaultValue: 10 }) limit: number | null,
    @Ctx() { services }: RequestContext,
  ): Promise<TopItems> {
    return services.analytics.topItems({ event, from, to, limit: limit ?? 10 });
  }

  @Requires(needs('ANALYTICS_READ'))
  @Query(() => WarehouseStatus, { description: 'How many events the warehouse holds and how fresh it is.' })
  async warehouse(@Ctx() { services }: RequestContext): Promise<WarehouseStatus> {
    return services.analytics.status();
  }
}

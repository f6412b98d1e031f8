import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { CACHE_TTL_SECONDS } from '../services/analytics-service';
import { Dimension } from './analytics.type';

export enum Granularity {
  HOUR = 'HOUR',
  DAY = 'DAY',
  WEEK = 'WEEK',
}
registerEnumType(Granularity, {
  name: 'Granularity',
  description: 'Time bucket size (UTC). Weeks start on Monday 00:00 UTC.',
});

@ObjectType({ description: 'One bucket and value combination of the grouped dimensions' })
export class DimensionValue {
  @Field(() => Dimension)
  dimension!: Dimension;

  @Field(() => String, { nullable: true, description: 'Null when events carry no value for it.' })
  value!: string | null;
}

@ObjectType({
  description: `Events and distinct users in one time bucket, from the warehouse. Results may be served from a cache for up to ${CACHE_TTL_SECONDS} s.`,
})
export class EventCount {
  @Field(() => Date, { description: 'Start of the bucket (UTC).' })
  bucket!: Date;

  @Field(() => String, {
    nullable: true,
    description: 'The event name when the rows are grouped by EVENT (the default); null otherwise.',
  })
  event!: string | null;

  @Field(() => Int)
  count!: number;

  @Field(() => Int, {
    description:
      'Distinct users: persons, or userId (else anonymousId) with identity RAW_ID. Counted only when selected: counts alone are several times faster.',
  })
  // Null only when the operation did not select it, so it is never sent.
  users!: number | null;

  @Field(() => [DimensionValue], { description: 'The grouped dimensions, in the order of groupBy.' })
  dimensions!: DimensionValue[];
}

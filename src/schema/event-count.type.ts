import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum Granularity {
  HOUR = 'HOUR',
  DAY = 'DAY',
}
registerEnumType(Granularity, { name: 'Granularity', description: 'Time bucket size (UTC).' });

@ObjectType({ description: 'Events and distinct users in one time bucket, from the warehouse.' })
export class EventCount {
  @Field(() => Date, { description: 'Start of the bucket (UTC).' })
  bucket!: Date;

  @Field(() => String)
  event!: string;

  @Field(() => Int)
  count!: number;

  @Field(() => Int, { description: 'Distinct userId, or anonymousId when there is no userId.' })
  users!: number;
}

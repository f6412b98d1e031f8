import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A user (or anonymous visitor) as the hot tier knows them.' })
export class UserProfile {
  @Field(() => ID)
  id!: string;

  @Field(() => Int)
  eventCount!: number;

  @Field(() => Date)
  firstSeen!: Date;

  @Field(() => Date)
  lastSeen!: Date;

  @Field(() => String)
  lastEvent!: string;
}

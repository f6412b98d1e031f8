import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { CACHE_TTL_SECONDS } from '../services/analytics-service';

/** Each value maps to one fixed warehouse column; nothing else can be grouped by. */
export enum Dimension {
  EVENT = 'EVENT',
  UTM_SOURCE = 'UTM_SOURCE',
  UTM_MEDIUM = 'UTM_MEDIUM',
  UTM_CAMPAIGN = 'UTM_CAMPAIGN',
  BROWSER = 'BROWSER',
  OS = 'OS',
  DEVICE_TYPE = 'DEVICE_TYPE',
  REFERRER_CLASS = 'REFERRER_CLASS',
}
registerEnumType(Dimension, { name: 'Dimension', description: 'What eventCounts can group by.' });

/** Whom the distinct counts of eventCounts, uniqueUsers, funnel and retention count. */
export enum IdentityMode {
  PERSON = 'PERSON',
  RAW_ID = 'RAW_ID',
}
registerEnumType(IdentityMode, {
  name: 'IdentityMode',
  description: 'Whom analytics count as one user (docs/identity.md).',
  valuesConfig: {
    PERSON: {
      description:
        'A person: an event counts for the person its userId (else anonymousId) is linked to, so a visitor who signs in counts once, including for events before the link was made.',
    },
    RAW_ID: { description: 'The id itself: userId, else anonymousId, linked or not.' },
  },
});

const CACHED = `Served from a cache for up to ${CACHE_TTL_SECONDS} s (the embedded warehouse drops it as soon as a load adds rows).`;
const DATA_AS_OF = 'Everything delivered before this time is in the warehouse; null before the first load.';

@ObjectType({ description: `Distinct users: persons, or ids with identity RAW_ID. ${CACHED}` })
export class UniqueUsers {
  @Field(() => Int)
  count!: number;

  @Field(() => Date, { nullable: true, description: DATA_AS_OF })
  dataAsOf!: Date | null;
}

@ObjectType()
export class FunnelStep {
  @Field(() => String)
  event!: string;

  @Field(() => Int, { description: 'Users who did every step up to this one, in order.' })
  users!: number;

  @Field(() => Float, { description: "Share of the first step's users who reached this step, 0..1." })
  conversion!: number;
}

@ObjectType({ description: `A conversion funnel. ${CACHED}` })
export class Funnel {
  @Field(() => [FunnelStep])
  steps!: FunnelStep[];

  @Field(() => Date, { nullable: true, description: DATA_AS_OF })
  dataAsOf!: Date | null;
}

@ObjectType({ description: 'The users whose first startEvent in the range fell in one period.' })
export class Cohort {
  @Field(() => Date, { description: 'Start of the cohort period (UTC).' })
  start!: Date;

  @Field(() => Int)
  users!: number;

  @Field(() => [Int], {
    description:
      'returned[k]: cohort users who did returnEvent k periods after start (returned[0] is the cohort period), up to the period holding `to`.',
  })
  returned!: number[];
}

@ObjectType({ description: `Retention by cohort. ${CACHED}` })
export class Retention {
  @Field(() => [Cohort])
  cohorts!: Cohort[];

  @Field(() => Date, { nullable: true, description: DATA_AS_OF })
  dataAsOf!: Date | null;
}

@ObjectType()
export class ItemCount {
  @Field(() => ID)
  itemId!: string;

  @Field(() => Int, { description: 'Events about the item.' })
  count!: number;

  @Field(() => Int, { description: 'Distinct users behind those events.' })
  users!: number;
}

@ObjectType({ description: `The items with the most events, most first (ties by itemId). ${CACHED}` })
export class TopItems {
  @Field(() => [ItemCount])
  items!: ItemCount[];

  @Field(() => Date, { nullable: true, description: DATA_AS_OF })
  dataAsOf!: Date | null;
}

@ObjectType({ description: 'How much the warehouse holds and how fresh it is (never cached).' })
export class WarehouseStatus {
  @Field(() => Number, { description: 'Rows in the events table.' })
  rows!: number;

  @Field(() => Date, { nullable: true, description: DATA_AS_OF })
  dataAsOf!: Date | null;
}

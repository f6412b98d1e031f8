import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { ItemRecord } from '../sinks/hot-tier/port';
import { EventTally, tallies } from './user.type';

export enum TrendWindow {
  HOUR = 'HOUR',
  DAY = 'DAY',
}
registerEnumType(TrendWindow, {
  name: 'TrendWindow',
  description: 'How fast trending forgets: scores halve every hour (HOUR) or every day (DAY).',
});

@ObjectType({ description: 'A recommended item.' })
export class Recommendation {
  @Field(() => ID)
  itemId!: string;

  @Field(() => Float, { description: 'Higher is better; comparable within one answer only.' })
  score!: number;

  @Field(() => String, { description: 'Why: `co-occurs with <itemId>`, or `trending`.' })
  reason!: string;
}

@ObjectType({ description: 'An item trending for an event.' })
export class TrendingItem {
  @Field(() => ID)
  itemId!: string;

  @Field(() => Float, { description: 'Time-decayed event count.' })
  score!: number;

  @Field(() => Int, { description: 'Events in the last window (estimated from two fixed windows).' })
  count!: number;
}

@ObjectType({ description: 'What the hot tier counts for an item.' })
export class ItemStats {
  @Field(() => [EventTally], { description: 'Events per name, most frequent first.' })
  counts!: EventTally[];

  @Field(() => Int, { description: 'Every event about the item.' })
  total!: number;

  @Field(() => Float, {
    description: 'Popularity: per user, the strongest interaction (view 1, cart 3, purchase 5).',
  })
  weight!: number;
}

@ObjectType({ description: 'An item, from the hot tier.' })
export class Item {
  @Field(() => ID)
  id!: string;

  @Field(() => ItemStats)
  stats!: ItemStats;

  /** The record the alsoViewed resolver reads from. */
  record!: ItemRecord;

  static from(record: ItemRecord): Item {
    const counts = tallies(record.stats.counts);
    return Object.assign(new Item(), {
      id: record.id,
      stats: Object.assign(new ItemStats(), {
        counts,
        total: counts.reduce((sum, c) => sum + c.count, 0),
        weight: record.stats.weight,
      }),
      record,
    });
  }
}

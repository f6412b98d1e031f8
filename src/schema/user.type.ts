import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { PersonProfile } from '../services/profile-service';
import { LinkedId } from './identity.type';
import { JSONObject } from './scalars';

@ObjectType({ description: 'How many times one event happened.' })
export class EventTally {
  @Field(() => String)
  event!: string;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: 'A run of activity with no gap over 30 minutes.' })
export class Session {
  @Field(() => Date)
  start!: Date;

  @Field(() => Date)
  end!: Date;

  @Field(() => Int)
  events!: number;
}

@ObjectType({ description: 'One of the latest events of a user.' })
export class RecentEvent {
  @Field(() => ID)
  messageId!: string;

  @Field(() => String)
  event!: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'The item the event is about; null when it names none, or several (an order listing products).',
  })
  itemId!: string | null;

  @Field(() => Date)
  timestamp!: Date;
}

/** Counts as a list, most frequent first, so clients need not know every event name. */
export function tallies(counts: Record<string, number>): EventTally[] {
  return Object.entries(counts)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .map(([event, count]) => Object.assign(new EventTally(), { event, count }));
}

@ObjectType({
  description:
    'A person as the hot tier knows them: the user or anonymous visitor asked for, with every id linked to them (docs/identity.md). Counts, sessions, recent events, traits and recommendations cover all of those ids.',
})
export class UserProfile {
  @Field(() => ID, { description: 'The id asked for.' })
  id!: string;

  @Field(() => ID, {
    description: 'The person the id belongs to: their userId, or the id itself when nothing links it.',
  })
  personId!: string;

  @Field(() => [LinkedId], { description: 'Every id of the person, their own first.' })
  ids!: LinkedId[];

  @Field(() => Int)
  eventCount!: number;

  @Field(() => Date)
  firstSeen!: Date;

  @Field(() => Date)
  lastSeen!: Date;

  @Field(() => String)
  lastEvent!: string;

  @Field(() => JSONObject, { description: 'Traits set by identify events, latest value per trait.' })
  traits!: Record<string, unknown>;

  @Field(() => [EventTally], { description: 'Events per name, most frequent first.' })
  counts!: EventTally[];

  @Field(() => Int, { description: 'Sessions ever (30-minute inactivity rule).' })
  sessionCount!: number;

  @Field(() => [Session], { description: 'The latest sessions, newest first.' })
  sessions!: Session[];

  /** The record the field resolvers (recentEvents, recommendations) read from. */
  record!: PersonProfile;

  static from(record: PersonProfile): UserProfile {
    return Object.assign(new UserProfile(), {
      id: record.id,
      personId: record.personId,
      ids: record.ids.map(LinkedId.from),
      eventCount: record.eventCount,
      firstSeen: new Date(record.firstSeen),
      lastSeen: new Date(record.lastSeen),
      lastEvent: record.lastEvent,
      traits: record.traits,
      counts: tallies(record.counts),
      sessionCount: record.sessionCount,
      sessions: [...record.sessions]
        .reverse()
        .map((s) =>
          Object.assign(new Session(), { start: new Date(s.start), end: new Date(s.end), events: s.events }),
        ),
      record,
    });
  }
}

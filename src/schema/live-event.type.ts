import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { LIVE_EVENT_STATUSES, LIVE_FILTER_LIMITS } from '../live/live-event';
import { FailureType } from './failed-event.type';
import { JSONObject } from './scalars';
import { EventError } from './track-result.type';

/** The GraphQL enum mirrors the live domain's list, so a status is added in one place. */
export const LiveEventStatus = Object.fromEntries(LIVE_EVENT_STATUSES.map((s) => [s, s])) as {
  [S in (typeof LIVE_EVENT_STATUSES)[number]]: S;
};
export type LiveEventStatus = (typeof LIVE_EVENT_STATUSES)[number];
registerEnumType(LiveEventStatus, {
  name: 'LiveEventStatus',
  description: 'What became of an event, as the live view shows it (docs/live.md).',
  valuesConfig: {
    ACCEPTED: { description: 'The edge answered ACCEPTED: the event is on the stream.' },
    REJECTED: {
      description:
        'The edge answered REJECTED (see errors). An invalid event goes on to the stream, which shows it again as FAILED.',
    },
    FAILED: { description: 'The stream processor wrote it to failed events (see failureType and errors).' },
    SUPPRESSED: { description: 'It names a suppressed id (deleteUser): dropped, shown without its payload.' },
  },
});

@InputType({
  description: `Which events a liveEvents subscription sees; every field given must match, a list when any of its values does. At most ${LIVE_FILTER_LIMITS.events} event names and ${LIVE_EVENT_STATUSES.length} statuses, each value at most ${LIVE_FILTER_LIMITS.value} characters.`,
})
export class LiveEventFilter {
  @Field(() => [String], { nullable: true, description: 'Event names.' })
  events?: string[] | null;

  @Field(() => ID, { nullable: true })
  userId?: string | null;

  @Field(() => ID, { nullable: true })
  anonymousId?: string | null;

  @Field(() => [LiveEventStatus], { nullable: true })
  statuses?: LiveEventStatus[] | null;
}

@ObjectType({
  description:
    'An event as the edge answered it or the stream failed it, personal data scrubbed as in failed events.',
})
export class LiveEvent {
  @Field(() => ID, { description: 'Generated (`unknown-<uuid>`) for a record too broken to name one.' })
  messageId!: string;

  @Field(() => String, { nullable: true })
  event!: string | null;

  @Field(() => ID, { nullable: true })
  userId!: string | null;

  @Field(() => ID, { nullable: true })
  anonymousId!: string | null;

  @Field(() => LiveEventStatus)
  status!: LiveEventStatus;

  @Field(() => FailureType, { nullable: true, description: 'Why the stream failed it; FAILED only.' })
  failureType!: FailureType | null;

  @Field(() => [EventError])
  errors!: EventError[];

  @Field(() => Date, { description: "The edge's time (the processor's, for a record without one)." })
  receivedAt!: Date;

  @Field(() => JSONObject, {
    nullable: true,
    description: 'x-pii fields hashed; null when SUPPRESSED, oversized or unreadable.',
  })
  properties!: Record<string, unknown> | null;

  @Field(() => JSONObject, { nullable: true, description: 'context.ip anonymised.' })
  context!: Record<string, unknown> | null;
}

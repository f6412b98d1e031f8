import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum TrackStatus {
  ACCEPTED = 'ACCEPTED',
  DUPLICATE = 'DUPLICATE',
  SUPPRESSED = 'SUPPRESSED',
  REJECTED = 'REJECTED',
}
registerEnumType(TrackStatus, {
  name: 'TrackStatus',
  description:
    'ACCEPTED: durably on the stream. DUPLICATE: seen before. SUPPRESSED: one of its ids is suppressed (deleteUser); dropped and stored nowhere, do not resend it. REJECTED: not written, see errors.',
});

@ObjectType({ description: 'Why an event was rejected or failed.' })
export class EventError {
  @Field(() => String, { description: 'Stable machine-readable code, e.g. ENVELOPE_INVALID.' })
  code!: string;

  @Field(() => String, {
    nullable: true,
    description: 'JSON pointer into the event, e.g. /properties/price.',
  })
  path!: string | null;

  @Field(() => String)
  message!: string;
}

@ObjectType()
export class TrackResult {
  @Field(() => ID)
  messageId!: string;

  @Field(() => TrackStatus)
  status!: TrackStatus;

  @Field(() => [EventError])
  errors!: EventError[];

  @Field(() => Boolean, {
    description: 'True when a REJECTED event was valid but not written: resend it with the same messageId.',
  })
  retryable!: boolean;
}

@ObjectType()
export class BatchTrackResult {
  @Field(() => Int)
  accepted!: number;

  @Field(() => Int)
  rejected!: number;

  @Field(() => [TrackResult], { description: 'One result per input event, in input order.' })
  results!: TrackResult[];
}

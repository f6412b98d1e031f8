import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { EventError } from './track-result.type';

export enum FailureType {
  MALFORMED = 'MALFORMED',
  ENVELOPE_INVALID = 'ENVELOPE_INVALID',
  SCHEMA_VIOLATION = 'SCHEMA_VIOLATION',
  SCHEMA_UNKNOWN = 'SCHEMA_UNKNOWN',
  SIZE_EXCEEDED = 'SIZE_EXCEEDED',
  ENRICHMENT_FAILED = 'ENRICHMENT_FAILED',
  PROFILE_LIMIT = 'PROFILE_LIMIT',
  HOT_TIER_REFUSED = 'HOT_TIER_REFUSED',
  IDENTITY_CONFLICT = 'IDENTITY_CONFLICT',
}
registerEnumType(FailureType, {
  name: 'FailureType',
  description:
    'Why the stream refused a record: not UTF-8 JSON (MALFORMED), envelope rules, its schema, no schema, too large, or enrichment. ' +
    'PROFILE_LIMIT, HOT_TIER_REFUSED and IDENTITY_CONFLICT name events that were delivered (they are in the warehouse) but that the hot tier applied only in part (traits past the profile caps, named in the errors) or not at all, or whose identity link was refused.',
  valuesConfig: {
    PROFILE_LIMIT: {
      description: 'Delivered; the profile kept the event but dropped the traits its errors name.',
    },
    HOT_TIER_REFUSED: {
      description: 'Delivered; the hot tier refused it for good, so no hot counter has it.',
    },
    IDENTITY_CONFLICT: {
      description:
        'Delivered and counted; the link it claimed between two ids was refused (the id belongs to another person, the person is at its cap, or it would merge two users). The error code says which.',
    },
  },
});

@ObjectType({
  description: 'A record the stream could not accept, with everything needed to fix and replay it.',
})
export class FailedEvent {
  @Field(() => ID, { nullable: true })
  messageId!: string | null;

  @Field(() => FailureType)
  failureType!: FailureType;

  @Field(() => String, { nullable: true })
  event!: string | null;

  @Field(() => [EventError], { description: 'Every error, each with a JSON pointer where it has one.' })
  errors!: EventError[];

  @Field(() => String, { description: 'The raw record: UTF-8 JSON, or base64 where it was not UTF-8.' })
  payload!: string;

  @Field(() => String, { nullable: true, description: 'The schema checked against, `<event>/<version>`.' })
  schema!: string | null;

  @Field(() => Date)
  receivedAt!: Date;

  @Field(() => String)
  processorVersion!: string;
}

@ObjectType({ description: 'What a replay of failed events did.' })
export class ReplayResult {
  @Field(() => Int, { description: 'Records put back on the stream with their original messageIds.' })
  replayed!: number;

  @Field(() => Int, {
    description: 'Failed events that cannot be replayed (not a JSON object, or no messageId).',
  })
  skipped!: number;

  @Field(() => Int, { description: 'Records the stream did not take; run the replay again.' })
  notWritten!: number;

  @Field(() => Boolean, { description: 'True when the range held more than one replay takes; run it again.' })
  truncated!: boolean;
}

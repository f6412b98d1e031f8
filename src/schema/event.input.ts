import { Field, ID, InputType } from 'type-graphql';
import {
  IsDate,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { JSONObject } from './scalars';

/** The event name rule: lower snake case, starting with a letter, at most 64 characters. */
export const EVENT_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
const ID_MAX = 256;

@InputType({ description: 'The page the event happened on (browsers).' })
export class PageContextInput {
  @Field(() => String, { nullable: true }) @IsOptional() @IsString() @MaxLength(4096) url?: string;
  @Field(() => String, { nullable: true }) @IsOptional() @IsString() @MaxLength(2048) path?: string;
  @Field(() => String, { nullable: true }) @IsOptional() @IsString() @MaxLength(4096) referrer?: string;
  @Field(() => String, { nullable: true }) @IsOptional() @IsString() @MaxLength(1024) title?: string;
  @Field(() => String, { nullable: true }) @IsOptional() @IsString() @MaxLength(4096) search?: string;
}

@InputType({ description: 'The app that sent the event.' })
export class AppContextInput {
  @Field(() => String, { nullable: true }) @IsOptional() @IsString() @MaxLength(256) name?: string;
  @Field(() => String, { nullable: true }) @IsOptional() @IsString() @MaxLength(64) version?: string;
  @Field(() => String, { nullable: true }) @IsOptional() @IsString() @MaxLength(64) build?: string;
}

@InputType({ description: 'The tracking library that sent the event.' })
export class LibraryContextInput {
  @Field(() => String) @IsString() @MaxLength(256) name!: string;
  @Field(() => String) @IsString() @MaxLength(64) version!: string;
}

@InputType({ description: 'Where the event happened: page, user agent, locale, app, library and client IP.' })
export class EventContextInput {
  @Field(() => PageContextInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  page?: PageContextInput;

  @Field(() => String, { nullable: true }) @IsOptional() @IsString() @MaxLength(1024) userAgent?: string;
  @Field(() => String, { nullable: true }) @IsOptional() @IsString() @MaxLength(35) locale?: string;

  @Field(() => AppContextInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  app?: AppContextInput;

  @Field(() => LibraryContextInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  library?: LibraryContextInput;

  @Field(() => String, { nullable: true, description: 'Client IP; defaults to the request source IP.' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  ip?: string;
}

@InputType({ description: 'One event. Either userId or anonymousId is required.' })
export class TrackEventInput {
  @Field(() => ID, {
    nullable: true,
    description: 'Idempotency key end to end; generated at the edge when absent. Reuse it on retries.',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(ID_MAX)
  messageId?: string;

  @Field(() => String, { description: 'Event name, e.g. product_viewed: ^[a-z][a-z0-9_]{0,63}$' })
  @IsString()
  @Matches(EVENT_NAME_PATTERN, { message: 'event must match ^[a-z][a-z0-9_]{0,63}$' })
  event!: string;

  @Field(() => ID, { nullable: true })
  // class-validator runs decorators bottom-up and stops at the first failure: the presence rule goes last.
  @ValidateIf((o: TrackEventInput) => o.userId !== undefined || o.anonymousId === undefined)
  @MaxLength(ID_MAX)
  @IsNotEmpty({ message: 'userId or anonymousId is required' })
  @IsString({ message: 'userId or anonymousId is required' })
  userId?: string;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(ID_MAX)
  anonymousId?: string;

  @Field(() => ID, { nullable: true }) @IsOptional() @IsString() @MaxLength(ID_MAX) sessionId?: string;

  @Field(() => Date, { nullable: true, description: 'When the event happened, by the client clock.' })
  @IsOptional()
  @IsDate()
  timestamp?: Date;

  @Field(() => Date, { nullable: true, description: 'When the client sent the event, by the client clock.' })
  @IsOptional()
  @IsDate()
  sentAt?: Date;

  @Field(() => JSONObject, { nullable: true })
  @IsOptional()
  @IsObject()
  properties?: Record<string, unknown>;

  @Field(() => EventContextInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  context?: EventContextInput;

  @Field(() => String, {
    nullable: true,
    description: 'Pin a schema version (MODEL-REVISION-ADDITION); the latest of its model applies otherwise.',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[1-9][0-9]*-[0-9]+-[0-9]+$/, { message: 'schemaVersion must look like 1-0-0' })
  schemaVersion?: string;
}

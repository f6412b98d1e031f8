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
import {
  APP_RULES,
  CONTEXT_RULES,
  ENVELOPE_RULES,
  LIBRARY_RULES,
  PAGE_RULES,
} from '../events/envelope-rules';
import { JSONObject } from './scalars';

// The numbers and patterns come from the envelope rules, which the edge and the stream check too.
const { messageId, event, userId, anonymousId, sessionId, schemaVersion } = ENVELOPE_RULES;

@InputType({ description: 'The page the event happened on (browsers).' })
export class PageContextInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(PAGE_RULES.url.maxLength)
  url?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(PAGE_RULES.path.maxLength)
  path?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(PAGE_RULES.referrer.maxLength)
  referrer?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(PAGE_RULES.title.maxLength)
  title?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(PAGE_RULES.search.maxLength)
  search?: string;
}

@InputType({ description: 'The app that sent the event.' })
export class AppContextInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(APP_RULES.name.maxLength)
  name?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(APP_RULES.version.maxLength)
  version?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(APP_RULES.build.maxLength)
  build?: string;
}

@InputType({ description: 'The tracking library that sent the event.' })
export class LibraryContextInput {
  @Field(() => String) @IsString() @MaxLength(LIBRARY_RULES.name.maxLength) name!: string;
  @Field(() => String) @IsString() @MaxLength(LIBRARY_RULES.version.maxLength) version!: string;
}

@InputType({ description: 'Where the event happened: page, user agent, locale, app, library and client IP.' })
export class EventContextInput {
  @Field(() => PageContextInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  page?: PageContextInput;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(CONTEXT_RULES.userAgent.maxLength)
  userAgent?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(CONTEXT_RULES.locale.maxLength)
  locale?: string;

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
  @MaxLength(CONTEXT_RULES.ip.maxLength)
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
  @MaxLength(messageId.maxLength)
  messageId?: string;

  @Field(() => String, { description: `Event name, e.g. ${event.example}: ${event.pattern.source}` })
  @IsString()
  @MaxLength(event.maxLength)
  @Matches(event.pattern, { message: event.message })
  event!: string;

  @Field(() => ID, { nullable: true })
  // class-validator runs decorators bottom-up and stops at the first failure: the presence rule goes last.
  @ValidateIf((o: TrackEventInput) => o.userId !== undefined || o.anonymousId === undefined)
  @MaxLength(userId.maxLength)
  @IsNotEmpty({ message: userId.message })
  @IsString({ message: userId.message })
  userId?: string;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(anonymousId.maxLength)
  anonymousId?: string;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(sessionId.maxLength)
  sessionId?: string;

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
  @Matches(schemaVersion.pattern, { message: schemaVersion.message })
  schemaVersion?: string;
}

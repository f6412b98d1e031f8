import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { MAX_KEY_NAME_LENGTH, MAX_RATE_LIMIT_PER_SECOND, type ApiKeyRecord } from '../access/api-key';
import { MAX_ALLOWED_ORIGINS } from '../access/origins';
import { SCOPES } from '../access/scopes';

/** The GraphQL enums mirror the access domain's lists, so a scope is added in one place. */
export const Scope = Object.fromEntries(SCOPES.map((s) => [s, s])) as { [S in (typeof SCOPES)[number]]: S };
export type Scope = (typeof SCOPES)[number];
registerEnumType(Scope, {
  name: 'Scope',
  description: 'What a key may do; each field of the API names the scope it needs (docs/access.md).',
  valuesConfig: {
    INGEST: { description: 'trackEvent, trackEvents.' },
    PUBLIC_READ: {
      description:
        'trending, item, recommendations(itemId) without a userId: what a product page shows anyone.',
    },
    HOT_READ: { description: 'user(id) and recommendations(userId) for any user, userToken.' },
    ANALYTICS_READ: { description: 'eventCounts, uniqueUsers, funnel, retention, topItems, warehouse.' },
    FAILED_EVENTS_READ: { description: 'failedEvents.' },
    LIVE_READ: { description: 'The liveEvents subscription (SECRET keys only).' },
    ADMIN: { description: 'Key management, replayFailedEvents and every admin operation.' },
  },
});

export enum ApiKeyKind {
  WRITE = 'WRITE',
  SECRET = 'SECRET',
}
registerEnumType(ApiKeyKind, {
  name: 'ApiKeyKind',
  description:
    'WRITE: publishable, safe in a browser or app (INGEST and PUBLIC_READ only). SECRET: for servers.',
});

@ObjectType({ description: 'An API key; its secret is shown once, when it is created.' })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => ApiKeyKind)
  kind!: ApiKeyKind;

  @Field(() => [Scope])
  scopes!: Scope[];

  @Field(() => [String], {
    nullable: true,
    description: 'Browser origins allowed to use the key; null: any.',
  })
  allowedOrigins!: string[] | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Requests a second (burst: twice that); null: the default for its kind.',
  })
  rateLimitPerSecond!: number | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'Recorded at most once a minute.' })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  static from(record: ApiKeyRecord): ApiKey {
    return Object.assign(new ApiKey(), {
      id: record.id,
      name: record.name,
      kind: ApiKeyKind[record.kind],
      scopes: record.scopes,
      allowedOrigins: record.allowedOrigins,
      rateLimitPerSecond: record.rateLimitPerSecond,
      createdAt: new Date(record.createdAt),
      lastUsedAt: record.lastUsedAt ? new Date(record.lastUsedAt) : null,
      revokedAt: record.revokedAt ? new Date(record.revokedAt) : null,
    });
  }
}

@ObjectType()
export class CreatedApiKey {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => String, {
    description: 'The key to send in x-api-key. Shown this once: it is stored only as a hash.',
  })
  secret!: string;
}

/** Checked by the access service (names, scope rules per kind, origins, limits), not by decorators. */
@InputType()
export class CreateApiKeyInput {
  @Field(() => String, { description: `1 to ${MAX_KEY_NAME_LENGTH} characters.` })
  name!: string;

  @Field(() => ApiKeyKind)
  kind!: ApiKeyKind;

  @Field(() => [Scope], {
    description: `1 to ${SCOPES.length} scopes; a WRITE key only INGEST and PUBLIC_READ.`,
  })
  scopes!: Scope[];

  @Field(() => [String], {
    nullable: true,
    description: `At most ${MAX_ALLOWED_ORIGINS} origins, e.g. https://shop.example or https://*.shop.example; null: any origin.`,
  })
  allowedOrigins?: string[] | null;

  @Field(() => Int, {
    nullable: true,
    description: `1 to ${MAX_RATE_LIMIT_PER_SECOND}; null: the default for the kind.`,
  })
  rateLimitPerSecond?: number | null;
}

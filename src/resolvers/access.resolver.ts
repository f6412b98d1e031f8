import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { USER_TOKEN_MAX_TTL_SECONDS, USER_TOKEN_MIN_TTL_SECONDS } from '../access/user-token';
import { ApiKey, CreateApiKeyInput, CreatedApiKey } from '../schema/api-key.type';
import type { RequestContext } from './context';
import { Requires, needs } from './requires';

const DEFAULT_USER_TOKEN_TTL_SECONDS = 3600;

@Resolver()
export class AccessResolver {
  @Requires(needs('ADMIN'))
  @Mutation(() => CreatedApiKey, {
    description: 'Creates a key; its secret is in the answer, and only there.',
  })
  async createApiKey(
    @Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput,
    @Ctx() { services }: RequestContext,
  ): Promise<CreatedApiKey> {
    const { record, secret } = await services.access.createKey(input);
    return Object.assign(new CreatedApiKey(), { apiKey: ApiKey.from(record), secret });
  }

  @Requires(needs('ADMIN'))
  @Mutation(() => ApiKey, { description: 'Revokes a key: at once in this process, everywhere within 60 s.' })
  async revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() { services }: RequestContext): Promise<ApiKey> {
    return ApiKey.from(await services.access.revokeKey(id));
  }

  @Requires(needs('ADMIN'))
  @Query(() => [ApiKey], {
    description: 'Every stored key, newest first (the bootstrap keys live in the environment, not here).',
    complexity: 10,
  })
  async apiKeys(@Ctx() { services }: RequestContext): Promise<ApiKey[]> {
    return (await services.access.listKeys()).map((record) => ApiKey.from(record));
  }

  @Requires(needs('HOT_READ'))
  @Query(() => String, {
    description:
      'A signed token for one user: sent as `Authorization: Bearer …` with a WRITE key, it reads that user’s profile and recommendations.',
  })
  userToken(
    @Arg('userId', () => ID) userId: string,
    @Arg('ttlSeconds', () => Int, {
      nullable: true,
      defaultValue: DEFAULT_USER_TOKEN_TTL_SECONDS,
      description: `${USER_TOKEN_MIN_TTL_SECONDS} to ${USER_TOKEN_MAX_TTL_SECONDS} seconds.`,
    })
    ttlSeconds: number | null,
    @Ctx() { services }: RequestContext,
  ): Promise<string> {
    return services.access.userToken(userId, ttlSeconds ?? DEFAULT_USER_TOKEN_TTL_SECONDS);
  }
}

/**
 * `npm run keys -- create --name <name> --kind WRITE|SECRET --scopes INGEST,PUBLIC_READ [--origins https://a,https://b] [--rate 100]`
 * `npm run keys -- list`
 * `npm run keys -- revoke <key id>`
 * (each takes `--url …` and `--api-key …`; the key must hold ADMIN)
 *
 * Key management from a terminal: the same GraphQL operations as the playground, against the
 * running stack (or a deployed API with --url).
 */
import { parseArgs } from 'node:util';
import { requireApiKey } from './lib/api-key';
import { callApi, defaultGraphqlUrl } from './lib/graphql';

const KEY_FIELDS = 'id name kind scopes allowedOrigins rateLimitPerSecond createdAt lastUsedAt revokedAt';

interface ApiKey {
  id: string;
  name: string;
  kind: string;
  scopes: string[];
  allowedOrigins: string[] | null;
  rateLimitPerSecond: number | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const list = (value: string | undefined): string[] | undefined =>
  value
    ?.split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

function describe(key: ApiKey): string {
  const origins = key.allowedOrigins ? key.allowedOrigins.join(' ') : 'any origin';
  const rate = key.rateLimitPerSecond === null ? 'default rate' : `${key.rateLimitPerSecond}/s`;
  const state = key.revokedAt ? `revoked ${key.revokedAt}` : `last used ${key.lastUsedAt ?? 'never'}`;
  return `${key.id}  ${key.kind.padEnd(6)}  ${key.name}  [${key.scopes.join(', ')}]  ${origins}  ${rate}  ${state}`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      kind: { type: 'string' },
      scopes: { type: 'string' },
      origins: { type: 'string' },
      rate: { type: 'string' },
      url: { type: 'string' },
      'api-key': { type: 'string' },
    },
  });
  const [command, id] = positionals;
  const url = values.url ?? defaultGraphqlUrl();
  const call = async <T>(query: string, variables: Record<string, unknown> = {}) =>
    callApi<T>(url, await requireApiKey(values['api-key']), query, variables);

  if (command === 'list') {
    const { apiKeys } = await call<{ apiKeys: ApiKey[] }>(`{ apiKeys { ${KEY_FIELDS} } }`);
    console.log(
      apiKeys.length === 0
        ? 'no keys yet (the bootstrap keys are set in the environment)'
        : apiKeys.map(describe).join('\n'),
    );
    return;
  }
  if (command === 'revoke') {
    if (!id) throw new Error('usage: npm run keys -- revoke <key id>');
    const { revokeApiKey } = await call<{ revokeApiKey: ApiKey }>(
      `mutation($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`,
      { id },
    );
    console.log(describe(revokeApiKey));
    return;
  }
  if (command === 'create') {
    const rate = values.rate === undefined ? undefined : Number(values.rate);
    if (rate !== undefined && !Number.isInteger(rate)) throw new Error('--rate must be an integer');
    const input = {
      name: values.name,
      kind: values.kind?.toUpperCase(),
      scopes: list(values.scopes?.toUpperCase()),
      allowedOrigins: list(values.origins),
      rateLimitPerSecond: rate,
    };
    if (!input.name || !input.kind || !input.scopes)
      throw new Error(
        'usage: npm run keys -- create --name <name> --kind WRITE|SECRET --scopes INGEST,PUBLIC_READ',
      );
    const { createApiKey } = await call<{ createApiKey: { apiKey: ApiKey; secret: string } }>(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { ${KEY_FIELDS} } } }`,
      { input },
    );
    console.log(describe(createApiKey.apiKey));
    console.log(`\nsecret (shown once, stored only as a hash):\n${createApiKey.secret}`);
    return;
  }
  throw new Error('usage: npm run keys -- create|list|revoke …');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

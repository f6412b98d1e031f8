import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../config';

export interface SecretSource {
  /** The variable names, for the error message when neither is set. */
  names: { value: string; arn: string };
  /** A value given directly (environment), used as is. */
  value?: string;
  /** Otherwise the secret is read from Secrets Manager. */
  secretArn?: string;
  region: string;
  client?: SecretsManagerClient;
}

/**
 * A secret for a Lambda (API key, PII key): from its environment variable when set, else read once
 * from Secrets Manager and kept for the life of the execution environment.
 */
export function secretLoader(source: SecretSource): () => Promise<string> {
  let pending: Promise<string> | undefined;
  return () => {
    pending ??= load(source).catch((error: unknown) => {
      pending = undefined; // a transient failure must not poison every later invocation
      throw error;
    });
    return pending;
  };
}

const clients = new Map<string, SecretsManagerClient>();

/**
 * One client per region for every secret of the process: a client's first call resolves its endpoint
 * and opens its connection, which a function reading three secrets paid three times at cold start.
 */
function sharedClient(region: string): SecretsManagerClient {
  let client = clients.get(region);
  if (client === undefined) clients.set(region, (client = new SecretsManagerClient({ region })));
  return client;
}

async function load(source: SecretSource): Promise<string> {
  if (source.value) return source.value;
  if (!source.secretArn) throw new ConfigError(`set ${source.names.value} or ${source.names.arn}`);
  const secrets = source.client ?? sharedClient(source.region);
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: source.secretArn }));
  if (!SecretString) throw new ConfigError(`secret ${source.secretArn} has no string value`);
  return SecretString.trim();
}

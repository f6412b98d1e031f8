import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, type Config } from '../config';

/**
 * The API key for a Lambda: from TRIBUTARY_API_KEY when set, else read once from Secrets Manager
 * (TRIBUTARY_API_KEY_SECRET_ARN) and kept for the life of the execution environment.
 */
export function apiKeyLoader(config: Config, client?: SecretsManagerClient): () => Promise<string> {
  let pending: Promise<string> | undefined;
  return () => {
    pending ??= load(config, client).catch((error: unknown) => {
      pending = undefined; // a transient failure must not poison every later request
      throw error;
    });
    return pending;
  };
}

async function load(config: Config, client?: SecretsManagerClient): Promise<string> {
  if (config.apiKey) return config.apiKey;
  if (!config.apiKeySecretArn) {
    throw new ConfigError('set TRIBUTARY_API_KEY or TRIBUTARY_API_KEY_SECRET_ARN for the GraphQL function');
  }
  const secrets = client ?? new SecretsManagerClient({ region: config.aws.region });
  const { SecretString } = await secrets.send(
    new GetSecretValueCommand({ SecretId: config.apiKeySecretArn }),
  );
  if (!SecretString) throw new ConfigError(`secret ${config.apiKeySecretArn} has no string value`);
  return SecretString.trim();
}

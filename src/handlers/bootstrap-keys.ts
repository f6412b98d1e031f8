import type { Config } from '../config';
import type { BootstrapKeys } from '../services/access-service';
import { secretLoader } from './secrets';

/**
 * The bootstrap keys and the user-token secret for a function that authenticates keys: each from
 * its variable when set (tests, local runs), else from Secrets Manager, read once per environment.
 */
export function bootstrapKeysLoader(
  config: Pick<
    Config,
    | 'apiKey'
    | 'apiKeySecretArn'
    | 'writeKey'
    | 'writeKeySecretArn'
    | 'userTokenSecret'
    | 'userTokenSecretArn'
    | 'aws'
  >,
): () => Promise<BootstrapKeys> {
  const secret = (name: string, value: string | undefined, secretArn: string | undefined) =>
    secretLoader({
      names: { value: name, arn: `${name}_SECRET_ARN` },
      value,
      secretArn,
      region: config.aws.region,
    });
  const secretKey = secret('TRIBUTARY_API_KEY', config.apiKey, config.apiKeySecretArn);
  const writeKey = secret('TRIBUTARY_WRITE_KEY', config.writeKey, config.writeKeySecretArn);
  const userTokenSecret = secret(
    'TRIBUTARY_USER_TOKEN_SECRET',
    config.userTokenSecret,
    config.userTokenSecretArn,
  );
  // Read side by side: one after the other, a cold start waits for three round trips.
  return async () => {
    const [secretValue, writeValue, tokenSecret] = await Promise.all([
      secretKey(),
      writeKey(),
      userTokenSecret(),
    ]);
    return { secretKey: secretValue, writeKey: writeValue, userTokenSecret: tokenSecret };
  };
}

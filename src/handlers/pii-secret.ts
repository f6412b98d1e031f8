import type { Config } from '../config';
import { secretLoader } from './secrets';

/**
 * The PII key (the HMAC key of `x-pii` values) for a function that pseudonymises: from
 * TRIBUTARY_PII_SECRET when set (tests, local runs), else from the secret TRIBUTARY_PII_SECRET_ARN
 * names, read on first use and kept for the life of the execution environment. Pseudonyms must be
 * stable across environments and functions, so the key is configured, never generated.
 */
export function piiSecretLoader(config: Pick<Config, 'events' | 'aws'>): () => Promise<string> {
  return secretLoader({
    names: { value: 'TRIBUTARY_PII_SECRET', arn: 'TRIBUTARY_PII_SECRET_ARN' },
    value: config.events.piiSecret,
    secretArn: config.events.piiSecretArn,
    region: config.aws.region,
  });
}

import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Secrets the embedded stack generates when the environment sets none, each kept in a file of the
 * data folder (mode 0600) so a restart does not change it: the bootstrap keys, the user-token
 * signing secret and the PII key. The scripts read the secret key from there too.
 */
interface SecretFile {
  name: string;
  minLength: number;
  generate: () => string;
}

const API_KEY: SecretFile = {
  name: 'api-key',
  minLength: 8,
  generate: () => `trib_${randomBytes(18).toString('base64url')}`,
};
const WRITE_KEY: SecretFile = {
  name: 'write-key',
  minLength: 8,
  generate: () => `trbw_${randomBytes(18).toString('base64url')}`,
};
const USER_TOKEN_SECRET: SecretFile = {
  name: 'user-token-secret',
  minLength: 32,
  generate: () => randomBytes(32).toString('base64url'),
};
const PII_SECRET: SecretFile = {
  name: 'pii-secret',
  minLength: 16,
  generate: () => randomBytes(32).toString('base64url'),
};

/** Where the embedded stack keeps the API key it generated; the scripts read it from there too. */
export const apiKeyFile = (dataDir: string): string => path.join(dataDir, API_KEY.name);

async function readSecretFile(dataDir: string, secret: SecretFile): Promise<string | undefined> {
  try {
    const existing = (await readFile(path.join(dataDir, secret.name), 'utf8')).trim();
    return existing.length >= secret.minLength ? existing : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function persisted(dataDir: string, secret: SecretFile): Promise<string> {
  const existing = await readSecretFile(dataDir, secret);
  if (existing !== undefined) return existing;
  const value = secret.generate();
  await writeFile(path.join(dataDir, secret.name), `${value}\n`, { mode: 0o600 });
  return value;
}

/** The key kept in the data folder; undefined when there is none (a key shorter than 8 characters is none). */
export const readApiKeyFile = (dataDir: string): Promise<string | undefined> =>
  readSecretFile(dataDir, API_KEY);

/** The bootstrap SECRET key (every scope). */
export const persistedApiKey = (dataDir: string): Promise<string> => persisted(dataDir, API_KEY);
/** The bootstrap WRITE key (INGEST and PUBLIC_READ): the one the demo shop ships to browsers. */
export const persistedWriteKey = (dataDir: string): Promise<string> => persisted(dataDir, WRITE_KEY);
/** The HS256 key user tokens are signed with. */
export const persistedUserTokenSecret = (dataDir: string): Promise<string> =>
  persisted(dataDir, USER_TOKEN_SECRET);
/** The HMAC key of `x-pii` fields, kept so pseudonyms stay stable across restarts. */
export const persistedPiiSecret = (dataDir: string): Promise<string> => persisted(dataDir, PII_SECRET);

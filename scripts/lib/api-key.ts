import { loadConfig } from '../../src/config';
import { apiKeyFile, readApiKeyFile } from '../../src/local/secret-files';

type Env = Record<string, string | undefined>;

/**
 * The key a script sends: the one given on its command line, else TRIBUTARY_API_KEY, else the key
 * the embedded stack generated and keeps in its data folder (TRIBUTARY_DATA_DIR).
 */
export async function findApiKey(
  given: string | undefined,
  env: Env = process.env,
): Promise<string | undefined> {
  if (given !== undefined) return given;
  const config = loadConfig(env);
  return config.apiKey ?? (await readApiKeyFile(config.dataDir));
}

/** Like findApiKey, for a script that cannot do without a key: the error says where it looked. */
export async function requireApiKey(given: string | undefined, env: Env = process.env): Promise<string> {
  const key = await findApiKey(given, env);
  if (key !== undefined) return key;
  throw new Error(
    `no API key: pass --api-key, set TRIBUTARY_API_KEY, or run from the folder holding ${apiKeyFile(loadConfig(env).dataDir)}`,
  );
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findApiKey, requireApiKey } from '../../scripts/lib/api-key';
import { apiKeyFile, persistedApiKey } from '../../src/local/secret-files';

describe('the API key the scripts send', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-api-key-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is the one given, else TRIBUTARY_API_KEY, else the one the embedded stack keeps', async () => {
    const kept = await persistedApiKey(dataDir);
    const env = { TRIBUTARY_DATA_DIR: dataDir };
    const withKey = { ...env, TRIBUTARY_API_KEY: 'from-the-env-123' };

    expect(await findApiKey('given-on-the-command-line', withKey)).toBe('given-on-the-command-line');
    expect(await findApiKey(undefined, withKey)).toBe('from-the-env-123');
    expect(await findApiKey(undefined, env)).toBe(kept);
    // A restart of the stack keeps the same key.
    expect(await persistedApiKey(dataDir)).toBe(kept);
  });

  it('is none in a data folder without a usable key, and requireApiKey says where it looked', async () => {
    const env = { TRIBUTARY_DATA_DIR: dataDir };
    expect(await findApiKey(undefined, env)).toBeUndefined();
    await expect(requireApiKey(undefined, env)).rejects.toThrow(apiKeyFile(dataDir));

    // The stack replaces a key shorter than 8 characters, so the scripts do not send one either.
    await writeFile(apiKeyFile(dataDir), 'short\n');
    expect(await findApiKey(undefined, env)).toBeUndefined();
  });
});

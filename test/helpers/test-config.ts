import { loadConfig, type Config } from '../../src/config';

/**
 * The embedded stack's config for a test: free ports, its own data folder, a known API key, and
 * short batching windows so events reach the lake and the warehouse in milliseconds.
 */
export function testConfig(dataDir: string, apiKey: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    PORT: '0',
    TRIBUTARY_DATA_DIR: dataDir,
    TRIBUTARY_API_KEY: apiKey,
    TRIBUTARY_KINESIS_PORT: '0',
    TRIBUTARY_DYNAMODB_PORT: '0',
    TRIBUTARY_POLLER_BATCH_WINDOW_MS: '20',
    TRIBUTARY_LAKE_FLUSH_INTERVAL_MS: '20',
    ...env,
  });
}

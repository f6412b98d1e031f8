import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gql } from '../helpers/graphql-client';

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '../..');
const API_KEY = 'main-process-key-1';

/** Runs `npm start`'s entry point as a newcomer would, on free ports, and stops it with Ctrl-C. */
function start(dataDir: string) {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'src/local/main.ts'],
    {
      cwd: ROOT,
      // NODE_ENV=production as in real use: jest's NODE_ENV=test would hide signal-handling bugs.
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: '0',
        TRIBUTARY_API_KEY: API_KEY,
        TRIBUTARY_DATA_DIR: dataDir,
        TRIBUTARY_KINESIS_PORT: '0',
        TRIBUTARY_DYNAMODB_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /GraphQL\s+(http:\/\/\S+\/graphql)/.exec(output);
      if (match?.[1]) {
        clearInterval(timer);
        resolve(match[1]);
      }
    }, 50);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`exited before it was ready:\n${output}`));
    });
  });
  return { child, url, exited, output: () => output };
}

describe('npm start', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-main-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints its URLs and key, stops cleanly on Ctrl-C, and keeps the data for the next start', async () => {
    const first = start(dataDir);
    const url = await first.url;
    expect(first.output()).toContain(`Secret key  ${API_KEY}`);
    // The write key is generated into the data folder and printed beside the secret key.
    const writeKey = (await readFile(path.join(dataDir, 'write-key'), 'utf8')).trim();
    expect(writeKey).toMatch(/^trbw_/);
    expect(first.output()).toContain(`Write key   ${writeKey}`);
    const sent = await gql<{ trackEvent: { status: string } }>(
      url,
      'mutation { trackEvent(event: { event: "page_viewed", userId: "ctrl-c" }) { status } }',
      {},
      API_KEY,
    );
    expect(sent.data?.trackEvent.status).toBe('ACCEPTED');
    const counted = async (at: string) =>
      (
        await gql<{ user: { eventCount: number } | null }>(
          at,
          '{ user(id: "ctrl-c") { eventCount } }',
          {},
          API_KEY,
        )
      ).data?.user?.eventCount;
    for (let i = 0; i < 100 && (await counted(url)) !== 1; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await counted(url)).toBe(1);

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);

    const second = start(dataDir);
    const again = await second.url;
    expect(await counted(again)).toBe(1);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });
});

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gql } from '../helpers/graphql-client';
import { startMainProcess } from '../helpers/main-process';

jest.setTimeout(90_000);

const API_KEY = 'main-process-key-1';
const start = (dataDir: string) => startMainProcess(dataDir, API_KEY);

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

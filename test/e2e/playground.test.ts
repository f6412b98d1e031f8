import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { launchChromium, newOfflinePage } from '../helpers/browser';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(90_000);

describe('the playground', () => {
  let dataDir: string;
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-playground-'));
    stack = await startLocalStack(testConfig(dataDir, 'playground-key-0123'));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('renders offline from / and runs an example operation against the API', async () => {
    // Only the stack itself may be reached: anything else is recorded and refused, as with no network.
    const { page, external } = await newOfflinePage(browser);
    await page.goto(stack.url, { waitUntil: 'load' });
    expect(new URL(page.url()).pathname).toBe('/playground');
    await page.waitForSelector('.graphiql-container', { timeout: 30_000 });
    const tabs = await page.locator('.graphiql-tab').count();
    expect(tabs).toBeGreaterThanOrEqual(3);

    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(
      () => document.querySelector('.result-window')?.textContent?.includes('accepted'),
      null,
      {
        timeout: 30_000,
      },
    );
    const result = await page.locator('.result-window').innerText();
    expect(result).toContain('"accepted": 3');
    expect(external).toEqual([]);
  });
});

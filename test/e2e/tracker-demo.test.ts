import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { launchChromium, newOfflinePage } from '../helpers/browser';
import { gql } from '../helpers/graphql-client';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(90_000);

const API_KEY = 'demo-shop-key-0123';
const USER = `query($id: ID!) { user(id: $id) { eventCount lastEvent } }`;
const COUNTS = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  eventCounts(from: $from, to: $to, granularity: DAY) { event count }
}`;

describe('the demo shop at /demo', () => {
  let dataDir: string;
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-demo-'));
    stack = await startLocalStack(testConfig(dataDir, API_KEY));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const stats = (page: Page) => page.locator('#stats').innerText();

  it('tracks clicks, keeps them across a reload while the API is unreachable, and delivers them', async () => {
    const { page, external } = await newOfflinePage(browser);
    await page.goto(`${stack.url}/demo`, { waitUntil: 'load' });
    await page.waitForFunction(() =>
      /^[0-9a-f-]{36}$/.test(document.getElementById('visitor')?.textContent ?? ''),
    );
    const visitor = await page.locator('#visitor').innerText();

    await page.locator('button[data-product="sku-mug"]', { hasText: 'View' }).click();
    await page.locator('button[data-product="sku-mug"]', { hasText: 'Add to cart' }).click();
    await page.locator('button[data-product="sku-tea"]', { hasText: 'Add to cart' }).click();
    await page.locator('#checkout').click();
    await page.waitForFunction(() => document.getElementById('stats')?.textContent?.includes('delivered 5'));
    expect(await stats(page)).toContain('pending 0');

    // Offline: the order is queued in localStorage, survives a reload, and goes out once the API is back.
    await page.route('**/graphql', (route) => route.abort('internetdisconnected'));
    await page.locator('#order').click();
    await page.waitForTimeout(700);
    expect(await stats(page)).toContain('pending 1');
    await page.reload({ waitUntil: 'load' });
    await page.unroute('**/graphql');
    await page.waitForFunction(() => document.getElementById('stats')?.textContent?.includes('pending 0'));
    expect(await page.locator('#visitor').innerText()).toBe(visitor);

    await stack.settle();
    const user = await gql<{ user: { eventCount: number; lastEvent: string } }>(
      stack.graphqlUrl,
      USER,
      { id: visitor },
      API_KEY,
    );
    // page_viewed, product_viewed, 2 × product_added_to_cart, checkout_started, order_completed, page_viewed.
    expect(user.data?.user.eventCount).toBe(7);
    const from = new Date(Date.now() - 86_400_000).toISOString();
    const to = new Date(Date.now() + 86_400_000).toISOString();
    const counts = await gql<{ eventCounts: Array<{ event: string; count: number }> }>(
      stack.graphqlUrl,
      COUNTS,
      { from, to },
      API_KEY,
    );
    const byEvent: Record<string, number> = {};
    for (const row of counts.data?.eventCounts ?? [])
      byEvent[row.event] = (byEvent[row.event] ?? 0) + row.count;
    expect(byEvent).toEqual({
      page_viewed: 2,
      product_viewed: 1,
      product_added_to_cart: 2,
      checkout_started: 1,
      order_completed: 1,
    });
    expect(external).toEqual([]);
  });
});

import 'reflect-metadata';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import type { Browser, Page } from 'playwright-core';
import { createKinesisClient } from '../../src/aws/clients';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { launchChromium, newOfflinePage } from '../helpers/browser';
import { gql } from '../helpers/graphql-client';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(120_000);

const API_KEY = 'console-test-secret-key';
const TRACK = `mutation($events: [TrackEventInput!]!) { trackEvents(events: $events) { accepted rejected } }`;
/** Set to write the screenshots docs/console.md shows; CI leaves the tree as it is. */
const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === '1' ? path.join(__dirname, '..', '..', 'docs', 'images') : undefined;
const CHARTS = ['events-over-time', 'funnel', 'retention', 'top-items', 'trending-items', 'failures'];

const DAY = 86_400_000;
const PRODUCTS = ['sku-tent', 'sku-stove', 'sku-lamp', 'sku-boots', 'sku-map'];

/**
 * A few days of a small shop: half the visitors first come 4 days ago, half 3 days ago (two
 * retention cohorts), each comes back on most later days, views products, and some go on to the
 * cart, the checkout and an order, so every chart has something to draw.
 */
function shopEvents(now: number): object[] {
  const events: object[] = [];
  for (let user = 0; user < 12; user++) {
    const firstDay = 4 - (user % 2);
    for (let daysAgo = firstDay; daysAgo >= 0; daysAgo--) {
      if (daysAgo < firstDay && (user + daysAgo) % 3 === 2) continue;
      const at = (seconds: number) =>
        new Date(now - daysAgo * DAY - (user + 1) * 60_000 + seconds * 1000).toISOString();
      const userId = `shopper-${user}`;
      const product = PRODUCTS[(user + daysAgo) % PRODUCTS.length];
      events.push({ event: 'page_viewed', userId, timestamp: at(0), properties: { name: 'home' } });
      events.push({ event: 'product_viewed', userId, timestamp: at(1), properties: { product_id: product } });
      if (user % 2 === 0)
        events.push({
          event: 'product_added_to_cart',
          userId,
          timestamp: at(2),
          properties: { product_id: product },
        });
      if (user % 4 === 0) events.push({ event: 'checkout_started', userId, timestamp: at(3) });
      if (user % 4 === 0 && daysAgo % 2 === 0)
        events.push({
          event: 'order_completed',
          userId,
          timestamp: at(4),
          properties: { order_id: `o-${user}-${daysAgo}` },
        });
    }
  }
  return events;
}

/** Records put straight on the stream that its processor refuses: they become failed events. */
async function putFailingRecords(stack: LocalStack): Promise<void> {
  const kinesis = createKinesisClient({
    aws: { region: 'us-east-1', kinesisEndpoint: stack.kinesisEndpoint },
  });
  const records = [
    'this is not json',
    JSON.stringify({ event: 'product_viewed', userId: 'direct-1', properties: { price: -1 } }),
    JSON.stringify({ event: 'product_viewed', userId: 'direct-2', properties: { product_id: '' } }),
  ];
  for (const data of records)
    await kinesis.send(
      new PutRecordCommand({
        StreamName: 'tributary-events',
        PartitionKey: 'direct',
        Data: Buffer.from(data),
      }),
    );
  kinesis.destroy();
}

/** Drawn shapes in a chart's SVG: filled paths, which axes and grid lines are not. */
const filledShapes = (page: Page, chart: string) =>
  page.evaluate(
    (name) =>
      Array.from(document.querySelectorAll(`[data-chart="${name}"] svg path`)).filter((shape) => {
        const fill = shape.getAttribute('fill');
        return fill !== null && fill !== 'none' && fill !== 'transparent';
      }).length,
    chart,
  );

describe('the console', () => {
  let dataDir: string;
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-console-'));
    stack = await startLocalStack(testConfig(dataDir, API_KEY));
    const seeded = await gql<{ trackEvents: { accepted: number } }>(
      stack.graphqlUrl,
      TRACK,
      { events: shopEvents(Date.now()) },
      API_KEY,
    );
    expect(seeded.errors).toBeUndefined();
    expect(seeded.data?.trackEvents.accepted).toBeGreaterThan(100);
    await putFailingRecords(stack);
    // Through the stream, the lake and a warehouse load: the charts read the warehouse.
    await stack.settle();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('draws every chart offline from the API, with the key prefilled on loopback', async () => {
    const { page, external } = await newOfflinePage(browser);
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(`${stack.url}/console`, { waitUntil: 'load' });
    expect(await page.inputValue('input[name=apiKey]')).toBe(API_KEY);

    await page.waitForFunction(
      (names) =>
        names.every((name) => {
          const state = document.querySelector(`[data-chart="${name}"]`)?.getAttribute('data-state');
          return state === 'ready' || state === 'error' || state === 'empty';
        }),
      CHARTS,
      { timeout: 60_000 },
    );
    const states = await page.$$eval('[data-chart]', (boxes) =>
      boxes.map(
        (box) =>
          `${box.getAttribute('data-chart')}: ${box.getAttribute('data-state')} ${box.querySelector('.status')?.textContent ?? ''}`,
      ),
    );
    expect(states.map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual(
      CHARTS.map((name) => `${name}: ready`),
    );
    for (const chart of CHARTS) expect(await filledShapes(page, chart)).toBeGreaterThan(0);
    // The funnel's steps and the failure types are the ones seeded.
    const svgText = (chart: string) =>
      page.$eval(`[data-chart="${chart}"] svg`, (svg) => svg.textContent ?? '');
    expect(await svgText('funnel')).toContain('order_completed');
    expect(await svgText('failures')).toContain('MALFORMED');
    expect(await svgText('failures')).toContain('SCHEMA_VIOLATION');
    expect(await svgText('top-items')).toContain('sku-');

    if (SCREENSHOTS) {
      await mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'console-charts.png'), fullPage: true });
    }
    expect(external).toEqual([]);
  });

  it('shows an event sent now in the live tail within 2 s, and a rejected one in red with its errors', async () => {
    const { page, external } = await newOfflinePage(browser);
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(`${stack.url}/console`, { waitUntil: 'load' });
    await page.waitForSelector('#live-tail[data-state="live"]', { timeout: 30_000 });

    const messageId = `console-live-${Date.now()}`;
    const sentAt = Date.now();
    const sent = await gql<{ trackEvents: { accepted: number } }>(
      stack.graphqlUrl,
      TRACK,
      {
        events: [
          {
            event: 'product_viewed',
            userId: 'live-watcher',
            messageId,
            properties: { product_id: 'sku-live' },
          },
        ],
      },
      API_KEY,
    );
    expect(sent.data?.trackEvents.accepted).toBe(1);
    const row = page.locator(`#live-tail tr[data-message-id="${messageId}"]`);
    await row.waitFor({ timeout: 2_000 });
    expect(Date.now() - sentAt).toBeLessThanOrEqual(2_000);
    expect(await row.getAttribute('data-status')).toBe('ACCEPTED');
    expect(await row.innerText()).toContain('live-watcher');

    const rejectedId = `console-rejected-${Date.now()}`;
    const rejected = await gql<{ trackEvents: { rejected: number } }>(
      stack.graphqlUrl,
      TRACK,
      {
        events: [
          {
            event: 'product_viewed',
            userId: 'live-watcher',
            messageId: rejectedId,
            properties: { price: -1 },
          },
        ],
      },
      API_KEY,
    );
    expect(rejected.data?.trackEvents.rejected).toBe(1);
    // The edge's answer: the only row of this record, since the stream does not show it again.
    const bad = page.locator(`#live-tail tr[data-message-id="${rejectedId}"][data-status="REJECTED"]`);
    await bad.waitFor({ timeout: 2_000 });
    expect(await bad.getAttribute('class')).toContain('highlighted');
    expect(await bad.locator('.problems').innerText()).toMatch(/product_id/);

    // A filter narrows the tail on the server: another user's event no longer arrives.
    await page.fill('#live-tail input[name=userId]', 'someone-else');
    await page.press('#live-tail input[name=userId]', 'Tab');
    await page.waitForSelector('#live-tail[data-state="live"]');
    const hiddenId = `console-hidden-${Date.now()}`;
    await gql(
      stack.graphqlUrl,
      TRACK,
      { events: [{ event: 'page_viewed', userId: 'live-watcher', messageId: hiddenId }] },
      API_KEY,
    );
    const shownId = `console-shown-${Date.now()}`;
    await gql(
      stack.graphqlUrl,
      TRACK,
      { events: [{ event: 'page_viewed', userId: 'someone-else', messageId: shownId }] },
      API_KEY,
    );
    await page.locator(`#live-tail tr[data-message-id="${shownId}"]`).waitFor({ timeout: 2_000 });
    expect(await page.locator(`#live-tail tr[data-message-id="${hiddenId}"]`).count()).toBe(0);

    if (SCREENSHOTS) {
      await page.locator('#live-tail').screenshot({ path: path.join(SCREENSHOTS, 'console-live-tail.png') });
    }
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets.every((url) => new URL(url).hostname === '127.0.0.1')).toBe(true);
    expect(external).toEqual([]);
  });

  it('says plainly when the key is refused', async () => {
    const { page, external } = await newOfflinePage(browser);
    await page.goto(`${stack.url}/console`, { waitUntil: 'load' });
    await page.fill('input[name=apiKey]', 'not-a-key');
    await page.click('form.key button[type=submit]');
    const failures = page.locator('[data-chart="failures"][data-state="error"] .status');
    await failures.waitFor({ timeout: 15_000 });
    expect(await failures.innerText()).toMatch(/^UNAUTHENTICATED: /);
    await page.waitForSelector('#live-tail[data-state="error"]', { timeout: 15_000 });
    expect(await page.locator('#live-tail > .status').innerText()).toMatch(/Forbidden/);
    expect(external).toEqual([]);
  });
});

import 'reflect-metadata';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { launchChromium, newOfflinePage } from '../helpers/browser';
import { gql } from '../helpers/graphql-client';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(90_000);

const API_KEY = 'segment-browser-secret-key';
const WRITE_KEY = 'segment-browser-write-key';
const USER = `query($id: ID!) { user(id: $id) { traits counts { event count } } }`;
const STANDALONE = require.resolve('@segment/analytics-next/dist/umd/standalone.js');

/**
 * A shop's page on its own origin, with Segment's snippet as sites ship it, except that the
 * library comes from this server and `_cdn` (where analytics.js loads its settings) is the stack.
 */
function shopPage(stackUrl: string): string {
  return `<!doctype html><html><head><title>Shop</title><script>
  var analytics = (window.analytics = []);
  ['page', 'track', 'identify'].forEach(function (method) {
    analytics[method] = function () {
      analytics.push([method].concat(Array.prototype.slice.call(arguments)));
      return analytics;
    };
  });
  analytics._writeKey = ${JSON.stringify(WRITE_KEY)};
  analytics._cdn = ${JSON.stringify(stackUrl)};
  analytics.page();
  analytics.identify('browser-user', { plan: 'team' });
  analytics.track('Product Viewed', { product_id: 'sku-browser', price: 9 });
  </script><script src="/analytics-next.js"></script></head><body>shop</body></html>`;
}

describe('analytics.js (@segment/analytics-next) in Chromium', () => {
  let dataDir: string;
  let stack: LocalStack;
  let site: http.Server;
  let siteUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-segment-browser-'));
    stack = await startLocalStack(testConfig(dataDir, API_KEY, { TRIBUTARY_WRITE_KEY: WRITE_KEY }));
    const script = await readFile(STANDALONE);
    site = http.createServer((req, res) => {
      if (req.url === '/analytics-next.js')
        return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      res.writeHead(200, { 'content-type': 'text/html' }).end(shopPage(stack.url));
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => site?.close(resolve));
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('sends page, identify and track to the stack, cross-origin, and nothing leaves the machine', async () => {
    const { page, external } = await newOfflinePage(browser);
    const requests: string[] = [];
    page.on('request', (request) => requests.push(`${request.method()} ${request.url()}`));
    const posted: string[] = [];
    page.on('response', (response) => {
      if (response.request().method() === 'POST') posted.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(siteUrl, { waitUntil: 'load' });
    for (const deadline = Date.now() + 15_000; posted.length < 3 && Date.now() < deadline;)
      await page.waitForTimeout(50);
    expect(external).toEqual([]);
    expect(requests).toContain(`GET ${stack.url}/v1/projects/${WRITE_KEY}/settings`);
    expect(posted.sort()).toEqual([
      `200 ${stack.url}/v1/i`,
      `200 ${stack.url}/v1/p`,
      `200 ${stack.url}/v1/t`,
    ]);

    await stack.settle();
    const user = await gql<{
      user: { traits: Record<string, unknown>; counts: Array<{ event: string; count: number }> };
    }>(stack.graphqlUrl, USER, { id: 'browser-user' }, API_KEY);
    expect(user.data?.user.traits.plan).toBe('team');
    const counts = Object.fromEntries((user.data?.user.counts ?? []).map((c) => [c.event, c.count]));
    expect(counts).toEqual({ identify: 1, page_viewed: 1, product_viewed: 1 });
  });
});

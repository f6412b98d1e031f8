import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createNodeTracker, type Tracker } from '../../src/client/node';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { startFaultyProxy, type FaultyProxy } from '../helpers/faulty-proxy';
import { gql } from '../helpers/graphql-client';
import { readLakeEvents } from '../helpers/lake-events';
import { faultSeed, seededRandom } from '../helpers/seeded-random';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(90_000);

const API_KEY = 'tracker-fault-key-0123';
const SEED = faultSeed();
const COUNTS = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  eventCounts(from: $from, to: $to, granularity: DAY) { event count users }
}`;

interface LakeEvent {
  messageId: string;
  context: { library?: unknown; app?: unknown };
}

/** Every event in the lake's events folder, duplicates included (the lake is at-least-once). */
const lakeEvents = async (dataDir: string): Promise<LakeEvent[]> =>
  (await readLakeEvents(dataDir)) as unknown as LakeEvent[];

describe(`the tracker through a faulty network (TRIBUTARY_FAULT_SEED=${SEED})`, () => {
  let dataDir: string;
  let queueDir: string;
  let stack: LocalStack | undefined;
  let proxy: FaultyProxy;
  const startStack = () => startLocalStack(testConfig(dataDir, API_KEY));

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-faults-'));
    queueDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-tracker-queue-'));
    stack = await startStack();
    proxy = await startFaultyProxy({ target: stack.url, random: seededRandom(SEED) });
  });

  afterAll(async () => {
    await proxy?.close();
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(queueDir, { recursive: true, force: true });
  });

  it('delivers every event exactly once across faults, an API outage and an app restart', async () => {
    const jitter = seededRandom(SEED + 1);
    const rejected: string[] = [];
    const errors: string[] = [];
    const tracker = (): Promise<Tracker> =>
      createNodeTracker({
        endpoint: `${proxy.url}/graphql`,
        apiKey: API_KEY,
        storageDir: queueDir,
        app: { name: 'fault-test', version: '1.0.0' },
        maxBatchEvents: 10,
        flushIntervalMs: 10,
        baseRetryDelayMs: 5,
        maxRetryDelayMs: 100,
        requestTimeoutMs: 3000,
        flushTimeoutMs: 1000,
        random: jitter,
        onRejected: (event) => rejected.push(event.messageId ?? ''),
        onError: (error) => errors.push(error.code),
      });
    const tracked: string[] = [];
    const send = (app: Tracker, n: number) => {
      for (let i = 0; i < n; i += 1) {
        tracked.push(app.track('product_viewed', { product_id: `sku-${tracked.length}`, position: i + 1 }));
      }
    };

    const first = await tracker();
    send(first, 120);
    const invalid = first.track('Not A Valid Name', { product_id: 'x' });
    await new Promise((resolve) => setTimeout(resolve, 150));

    // The API goes away mid-run; the app keeps tracking, then restarts while it is still down.
    proxy.setTarget(undefined);
    await stack?.close();
    stack = undefined;
    send(first, 60);
    const closed = await first.close({ timeoutMs: 300 });
    expect(closed.pending).toBeGreaterThan(0);

    const second = await tracker();
    expect(second.anonymousId).toBe(first.anonymousId);
    expect(second.stats.pending).toBe(closed.pending);
    send(second, 40);
    stack = await startStack();
    proxy.setTarget(stack.url);
    send(second, 80);

    const deadline = Date.now() + 45_000;
    while (second.stats.pending > 0 && Date.now() < deadline) await second.flush();
    expect((await second.close()).pending).toBe(0);

    await stack.settle();
    const lake = await lakeEvents(dataDir);
    const ids = lake.map((e) => e.messageId);
    expect(new Set(ids)).toEqual(new Set(tracked));
    const from = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const to = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const counts = await gql<{ eventCounts: Array<{ event: string; count: number }> }>(
      stack.graphqlUrl,
      COUNTS,
      { from, to },
      API_KEY,
    );
    const stored = (counts.data?.eventCounts ?? []).reduce((sum, row) => sum + row.count, 0);
    expect(stored).toBe(tracked.length);

    expect(lake[0]?.context).toMatchObject({
      library: { name: 'tributary-tracker', version: expect.any(String) },
      app: { name: 'fault-test', version: '1.0.0' },
    });
    // The invalid event is reported once, when its answer gets through, and never stored.
    expect(rejected).toEqual([invalid]);
    expect(ids).not.toContain(invalid);
    // The network really did lose answers to requests the server had taken.
    const c = proxy.counts;
    expect(c.forward_then_502 + c.forward_then_drop + c.forward_then_truncate).toBeGreaterThan(0);
    expect(c.upstream_down).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });
});

import 'reflect-metadata';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { createEnricher } from '../src/events/enrich/enrich-event';
import { loadSchemaRegistry } from '../src/services/schema-files';
import type { FailedEvent, StoredEvent } from '../src/events/types';
import type { Delivery, DeliveryResult } from '../src/sinks/lake/port';
import type { HotActivity, HotStore } from '../src/sinks/hot-tier/port';
import { createStreamProcessor } from '../src/stream/process-batch';
import { benchDuration, fmt, ratio } from './harness';

const BATCH = 500;
const BATCHES = 40;

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
];
const REFERRERS = [
  undefined,
  'https://www.google.com/',
  'https://t.co/x',
  'https://shop.example/',
  'https://blog.example.org/',
];
const EVENTS = [
  'page_viewed',
  'product_viewed',
  'product_viewed',
  'product_added_to_cart',
  'search_performed',
  'identify',
];

/** One realistic record body as the GraphQL edge writes it; about one in fifty breaks its schema. */
function body(i: number): Record<string, unknown> {
  const event = EVENTS[i % EVENTS.length] ?? 'page_viewed';
  const product = `sku-${i % 300}`;
  const properties: Record<string, unknown> =
    event === 'search_performed'
      ? { query: `red shoes ${i % 40}`, results_count: i % 60 }
      : event === 'identify'
        ? { email: `user${i % 1000}@example.com`, plan: 'pro' }
        : event === 'page_viewed'
          ? { name: 'Home' }
          : { product_id: product, price: i % 50 === 0 ? -1 : 19.9, currency: 'EUR', quantity: 1 };
  const sentAt = new Date(Date.UTC(2026, 4, 4, 10, 0, 0) + i * 37);
  return {
    messageId: `bench-${i}`,
    event,
    userId: `user-${i % 1000}`,
    sessionId: `s-${i % 5000}`,
    timestamp: new Date(sentAt.getTime() - 150).toISOString(),
    sentAt: sentAt.toISOString(),
    properties,
    context: {
      page: {
        url: `https://shop.example/p/${i % 300}${i % 7 === 0 ? '?utm_source=newsletter&utm_medium=email&utm_campaign=may' : ''}`,
        referrer: REFERRERS[i % REFERRERS.length],
        title: 'Shop',
      },
      userAgent: USER_AGENTS[i % USER_AGENTS.length],
      locale: 'en-GB',
    },
    receivedAt: new Date(sentAt.getTime() + 80).toISOString(),
    source: 'graphql',
    sourceIp: `203.0.${i % 256}.${(i * 7) % 256}`,
  };
}

/** The benchmark's batches of realistic edge records (the lambda benchmark's first stream request too). */
export function batches(): KinesisStreamEvent[] {
  return Array.from({ length: BATCHES }, (_, b) => ({
    Records: Array.from({ length: BATCH }, (_, r): KinesisStreamRecord => {
      const i = b * BATCH + r;
      const sequenceNumber = String(10 ** 20 + i);
      return {
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: `user-${i % 1000}`,
          sequenceNumber,
          data: Buffer.from(JSON.stringify(body(i))).toString('base64'),
          approximateArrivalTimestamp: Date.UTC(2026, 4, 4, 10) / 1000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `shardId-000000000000:${sequenceNumber}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::000000000000:role/bench',
        awsRegion: 'us-east-1',
        eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/bench',
      };
    }),
  }));
}

/** An in-memory sink that keeps only a count, so the benchmark measures the processor, not memory growth. */
class CountingDelivery<T> implements Delivery<T> {
  count = 0;
  async deliver(records: T[]): Promise<DeliveryResult> {
    this.count += records.length;
    return { failed: [] };
  }
  async close(): Promise<void> {}
}

class CountingHotStore implements HotStore {
  count = 0;
  async applyActivity(activity: HotActivity[]): Promise<void> {
    this.count += activity.length;
  }
  async getUser(): Promise<null> {
    return null;
  }
  async getItem(): Promise<null> {
    return null;
  }
  async getNeighbours(): ReturnType<HotStore['getNeighbours']> {
    return new Map();
  }
  async getTrend(): Promise<null> {
    return null;
  }
  async readIds(): ReturnType<HotStore['readIds']> {
    return new Map();
  }
  async unlink(): Promise<boolean> {
    return false;
  }
}

/**
 * Records per second of each step over the same batches. The steps take turns batch by batch for
 * `seconds`, so load from other processes on a shared machine weighs on both alike.
 */
async function rates(
  seconds: number,
  steps: Array<(event: KinesisStreamEvent) => Promise<unknown> | unknown>,
): Promise<number[]> {
  const input = batches();
  for (const step of steps) for (const event of input.slice(0, 4)) await step(event);
  const elapsed = steps.map(() => 0);
  const records = steps.map(() => 0);
  const deadline = performance.now() + seconds * 1000 * steps.length;
  while (performance.now() < deadline) {
    for (const event of input) {
      for (const [i, step] of steps.entries()) {
        const start = performance.now();
        await step(event);
        elapsed[i] = (elapsed[i] ?? 0) + performance.now() - start;
        records[i] = (records[i] ?? 0) + event.Records.length;
      }
    }
  }
  return records.map((n, i) => n / ((elapsed[i] ?? 1) / 1000));
}

/** The stream processor (decode → validate → enrich → route) vs. base64 + JSON.parse of the same records. */
export async function streamBenchmark(): Promise<string> {
  const seconds = Math.min(benchDuration(), 5);
  const events = new CountingDelivery<StoredEvent>();
  const failed = new CountingDelivery<FailedEvent>();
  const processor = createStreamProcessor({
    events,
    failed,
    hotStore: new CountingHotStore(),
    processorVersion: 'tributary@bench',
    schemas: loadSchemaRegistry(),
    enrich: createEnricher({ piiSecret: 'bench-secret', horizonMs: 30 * 86_400_000 }),
  });
  const [baseline = 0, processed = 0] = await rates(seconds, [
    (event) => {
      for (const record of event.Records)
        JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8'));
    },
    processor,
  ]);
  const target = Math.max(100_000, baseline / 3);
  return [
    `| run | records/s | vs. baseline |`,
    `| --- | ---: | ---: |`,
    `| baseline: base64 + JSON.parse | ${fmt(baseline)} | 1.00× |`,
    `| stream processor (${BATCH}-record batches) | ${fmt(processed)} | ${ratio(processed, baseline)} |`,
    '',
    `Target: at least ${fmt(target)} records/s (100,000, and a third of the baseline). ` +
      `${processed >= target ? 'Met' : 'Not met'}. Routed ${fmt(events.count)} events and ${fmt(failed.count)} failed events; ` +
      `${USER_AGENTS.length} distinct user agents, about 2 % schema violations.`,
  ].join('\n');
}

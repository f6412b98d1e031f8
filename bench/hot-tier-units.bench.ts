import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { createDynamoDbDocumentClient } from '../src/aws/clients';
import { createEnricher } from '../src/events/enrich/enrich-event';
import { startEmulators } from '../src/local/emulators';
import { loadSchemaRegistry } from '../src/services/schema-files';
import { DynamoDbDedupeStore } from '../src/sinks/hot-tier/dynamodb/dynamodb-dedupe-store';
import { DynamoDbHotStore, ensureHotTable } from '../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import type { Delivery } from '../src/sinks/lake/port';
import { createStreamProcessor } from '../src/stream/process-batch';
import { ConsumedUnits, UNIT_KINDS } from './consumed-units';
import { seededRandom, type Random } from '../scripts/simulation/random';
import { fmt } from './harness';
import { SUSTAIN_ITEMS, shopEvent } from './shop-events';

/** The prod stage's batch size (infra/config.ts). */
const BATCH = 500;
/** Each user sends this many events a day, as the cost model's reference user does. */
const EVENTS_PER_USER_PER_DAY = 10;
/**
 * One user per record of a batch: a round of the day's events is one batch, in which each user
 * sends one event, so no user repeats within a batch (as at millions of events a day, where a
 * user's events of a day fall in batches far apart).
 */
const USERS = BATCH;
/** A measured day's events: two visits of five events, two minutes apart (two sessions a day). */
const VISITS_UTC_HOUR = [9, 18];
const EVENT_GAP_MS = 2 * 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const DAY0 = Date.UTC(2026, 0, 5);

/**
 * Days of traffic before the measured one. A warm-up day's events come an hour apart, each a
 * session of its own, so that five days fill every bounded list of a profile (its 50 latest events,
 * 20 latest items, 20 sessions) as weeks of visits would: the measured profiles are those of
 * returning users, the largest a profile gets. BENCH_HOT_UNITS_WARMUP_DAYS sets it.
 */
function warmUpDays(): number {
  const value = Number(process.env.BENCH_HOT_UNITS_WARMUP_DAYS ?? '5');
  return Number.isInteger(value) && value >= 0 ? value : 5;
}
const MEASURED_DAYS = 1;

/** The measured day: its batch size (prod's 500 unless told) and how many of its ten rounds run. */
export interface MeasuredDay {
  batch?: number;
  rounds?: number;
}

/** When a user sends their event of a round: users a tenth of a second apart, in stream order. */
function eventTime(day: number, round: number, user: number, warmUp: boolean): number {
  const dayStart = DAY0 + day * DAY_MS;
  const roundStart = warmUp
    ? dayStart + (8 + round) * HOUR_MS
    : dayStart + (VISITS_UTC_HOUR[Math.floor(round / 5)] ?? 9) * HOUR_MS + (round % 5) * EVENT_GAP_MS;
  return roundStart + user * 100;
}

/**
 * One round: every user's next event, from the sustain benchmark's generator (its event mix and
 * items) at a random position, so a batch holds as many distinct items as random picks from 700 do.
 */
function roundEvents(
  day: number,
  round: number,
  warmUp: boolean,
  random: Random,
): Array<{ body: Record<string, unknown>; at: number }> {
  return Array.from({ length: USERS }, (_, user) => {
    const at = eventTime(day, round, user, warmUp);
    return {
      at,
      body: {
        ...shopEvent(Math.floor(random.next() * 2 ** 31)),
        userId: `shopper-${user}`,
        messageId: randomUUID(),
        timestamp: new Date(at - 150).toISOString(),
        sentAt: new Date(at).toISOString(),
        receivedAt: new Date(at + 80).toISOString(),
        source: 'graphql',
        sourceIp: `203.0.113.${user % 256}`,
      },
    };
  });
}

let sequence = 10n ** 20n;

/** One round of events as the Kinesis batch Lambda would hand the stream processor. */
function kinesisBatch(events: Array<{ body: Record<string, unknown> }>): KinesisStreamEvent {
  return {
    Records: events.map(({ body }): KinesisStreamRecord => {
      sequence += 1n;
      const sequenceNumber = String(sequence);
      return {
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: String(body.userId),
          sequenceNumber,
          data: Buffer.from(JSON.stringify(body)).toString('base64'),
          approximateArrivalTimestamp: Date.parse(String(body.receivedAt)) / 1000,
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
  };
}

const discard: Delivery<unknown> = {
  deliver: () => Promise.resolve({ failed: [] }),
  close: () => Promise.resolve(),
};

/**
 * The DynamoDB request units the stream processor's hot-tier writes consume per event, by kind of
 * item: the real processor and DynamoDbHotStore against dynalite, which reports each request's
 * consumed capacity as DynamoDB bills it (writes: ceil(KB) of the larger of the old and new item;
 * strongly consistent reads: ceil(4 KB) per item, 1 for an item not found). 500 users each send
 * ten events a day of the sustain benchmark's mix over 700 items, in 500-event batches (prod's).
 * After the warm-up days, one day is counted. The edge's dedupe markers (TRIBUTARY_EDGE_DEDUPE,
 * off in both AWS stages) are written for the same events and counted apart.
 */
export async function hotTierUnitsBenchmark(options: MeasuredDay = {}): Promise<string> {
  const batch = options.batch ?? BATCH;
  const rounds = options.rounds ?? EVENTS_PER_USER_PER_DAY;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-bench-units-'));
  const emulators = await startEmulators({ dataDir, kinesisPort: 0, dynamodbPort: 0 });
  const aws = { region: 'us-east-1', dynamodbEndpoint: emulators.dynamodbEndpoint };
  const client = createDynamoDbDocumentClient({ aws });
  const probe = createDynamoDbDocumentClient({ aws });
  const tableName = 'bench-hot-units';
  try {
    await ensureHotTable(probe, tableName);
    const units = new ConsumedUnits(client, probe);
    let now = DAY0;
    const hotStore = new DynamoDbHotStore({ client, tableName, now: () => now });
    const dedupe = new DynamoDbDedupeStore({ client, tableName, ttlSeconds: 3 * 86_400, now: () => now });
    const processor = createStreamProcessor({
      events: discard,
      failed: discard,
      hotStore,
      processorVersion: 'tributary@bench',
      schemas: loadSchemaRegistry(),
      enrich: createEnricher({ piiSecret: 'bench-secret', horizonMs: 30 * DAY_MS }),
      logger: { info: () => {}, warn: console.warn, error: console.error },
    });

    const warmUp = warmUpDays();
    const random = seededRandom(20261202);
    let measuredEvents = 0;
    let retried = 0;
    for (let day = 0; day < warmUp + MEASURED_DAYS; day++) {
      units.counting = day >= warmUp;
      const size = units.counting ? batch : BATCH;
      for (let round = 0; round < (units.counting ? rounds : EVENTS_PER_USER_PER_DAY); round++) {
        const events = roundEvents(day, round, !units.counting, random);
        for (let start = 0; start < events.length; start += size) {
          const part = events.slice(start, start + size);
          now = Math.max(...part.map((e) => e.at)) + 1000;
          if (units.counting) await dedupe.claim(part.map((e) => String(e.body.messageId)));
          const response = await processor(kinesisBatch(part));
          retried += response.batchItemFailures.length;
          if (units.counting) measuredEvents += part.length;
        }
      }
    }
    if (retried > 0) throw new Error(`${retried} records were not processed`);

    const perEvent = (value: number) => fmt(value / measuredEvents, 3);
    const stream = UNIT_KINDS.filter((kind) => kind !== 'edge markers');
    const rows = UNIT_KINDS.map((kind) => {
      const u = units.byKind[kind];
      const name = kind === 'edge markers' ? 'edge markers (edge dedupe on)' : kind;
      return `| ${name} | ${perEvent(u.reads)} | ${perEvent(u.rru)} | ${perEvent(u.writes)} | ${perEvent(u.wru)} | ${u.writes > 0 ? fmt(u.wru / u.writes, 2) : '–'} |`;
    });
    const sum = (field: 'reads' | 'rru' | 'writes' | 'wru') =>
      stream.reduce((total, kind) => total + units.byKind[kind][field], 0);
    return [
      '| items | reads / event | RRU / event | writes / event | WRU / event | WRU / write |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      `| **stream processor** | **${perEvent(sum('reads'))}** | **${perEvent(sum('rru'))}** | **${perEvent(sum('writes'))}** | **${perEvent(sum('wru'))}** | |`,
      '',
      `Counted: ${fmt(measuredEvents)} events (${rounds === EVENTS_PER_USER_PER_DAY ? 'a day' : `${rounds} of 10 rounds of a day`} of ${USERS} users after ${warmUp} days of warm-up), ` +
        `${batch} per batch, ${SUSTAIN_ITEMS} items. The total leaves the edge markers out (off in the AWS stages).`,
    ].join('\n');
  } finally {
    client.destroy();
    probe.destroy();
    await emulators.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

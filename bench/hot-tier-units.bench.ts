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
import { ConsumedUnits, type KindUnits, PER_BATCH_KINDS, UNIT_KINDS, type UnitKind } from './consumed-units';
import { seededRandom, type Random } from '../scripts/simulation/random';
import { fmt } from './harness';
import { SUSTAIN_ITEMS, shopEvent } from './shop-events';

/** The prod stage's batch size (infra/config.ts). */
const BATCH = 500;
/**
 * The batch sizes a run measures, a day each: prod's full batches, and small ones like those of a
 * quieter stream or a shorter batching window, whose per-batch units fall on fewer events.
 */
const MEASURED_BATCHES = [BATCH, 50];
/**
 * Rounds of the measured day at each batch size: a full day at 500; at 50, whose batches rewrite
 * most of the catalogue ten times as often, four of its ten rounds (2,000 events, 40 batches) keep
 * the run short.
 */
const MEASURED_ROUNDS: Readonly<Record<number, number>> = { 500: 10, 50: 4 };
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

/** One measured day's units at one batch size. */
interface Measured {
  batch: number;
  rounds: number;
  events: number;
  batches: number;
  byKind: Record<UnitKind, KindUnits>;
}

const copyUnits = (byKind: Readonly<Record<UnitKind, Readonly<KindUnits>>>): Record<UnitKind, KindUnits> =>
  Object.fromEntries(UNIT_KINDS.map((kind) => [kind, { ...byKind[kind] }])) as Record<UnitKind, KindUnits>;

const unitsSince = (
  now: Readonly<Record<UnitKind, Readonly<KindUnits>>>,
  then: Readonly<Record<UnitKind, Readonly<KindUnits>>>,
): Record<UnitKind, KindUnits> =>
  Object.fromEntries(
    UNIT_KINDS.map((kind) => [
      kind,
      {
        reads: now[kind].reads - then[kind].reads,
        rru: now[kind].rru - then[kind].rru,
        writes: now[kind].writes - then[kind].writes,
        wru: now[kind].wru - then[kind].wru,
      },
    ]),
  ) as Record<UnitKind, KindUnits>;

/** A measured day's table: each kind's units per event and per batch, then the split the cost model takes. */
function measuredTable({ batch, rounds, events, batches, byKind }: Measured): string {
  const perEvent = (value: number) => fmt(value / events, 3);
  const perBatch = (value: number) => fmt(value / batches, 1);
  const stream = UNIT_KINDS.filter((kind) => kind !== 'edge markers');
  const sum = (kinds: readonly UnitKind[], field: keyof KindUnits) =>
    kinds.reduce((total, kind) => total + byKind[kind][field], 0);
  const rows = UNIT_KINDS.map((kind) => {
    const u = byKind[kind];
    const name = kind === 'edge markers' ? 'edge markers (edge dedupe on)' : kind;
    return `| ${name} | ${perEvent(u.reads)} | ${perEvent(u.rru)} | ${perEvent(u.wru)} | ${perBatch(u.rru)} | ${perBatch(u.wru)} | ${u.writes > 0 ? fmt(u.wru / u.writes, 2) : '–'} |`;
  });
  const eventKinds = stream.filter((kind) => !PER_BATCH_KINDS.includes(kind));
  const part = (name: string, kinds: readonly UnitKind[]) =>
    `| ${name} | ${perEvent(sum(kinds, 'reads'))} | ${perEvent(sum(kinds, 'rru'))} | ${perEvent(sum(kinds, 'wru'))} | ${perBatch(sum(kinds, 'rru'))} | ${perBatch(sum(kinds, 'wru'))} | |`;
  return [
    `**${batch}-event batches**: ${fmt(events)} events in ${fmt(batches)} batches (${rounds === EVENTS_PER_USER_PER_DAY ? 'a day' : `${rounds} of the day's 10 rounds`}).`,
    '',
    '| items | reads / event | RRU / event | WRU / event | RRU / batch | WRU / batch | WRU / write |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    part(`per event: ${eventKinds.join(', ')}`, eventKinds),
    part(`per batch: ${PER_BATCH_KINDS.join(', ')}`, PER_BATCH_KINDS),
    part('**stream processor**', stream),
  ].join('\n');
}

/**
 * The DynamoDB request units the stream processor's hot-tier writes consume, by kind of item, per
 * event and per stream batch: the real processor and DynamoDbHotStore against dynalite, which
 * reports each request's consumed capacity as DynamoDB bills it (writes: ceil(KB) of the larger of
 * the old and new item; strongly consistent reads: ceil(4 KB) per item, 1 for an item not found).
 * 500 users each send ten events a day of the sustain benchmark's mix over 700 items. After the
 * warm-up days (in 500-event batches), one day is counted at each of MEASURED_BATCHES. The edge's
 * dedupe markers (TRIBUTARY_EDGE_DEDUPE, off in both AWS stages) are written for the same events and
 * counted apart.
 */
export async function hotTierUnitsBenchmark(): Promise<string> {
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

    const random = seededRandom(20261202);
    let retried = 0;
    /** Runs a day's rounds in batches of `size`; returns the events and batches it ran. */
    const runDay = async (day: number, size: number, rounds: number, warmUp: boolean) => {
      let events = 0;
      let batches = 0;
      for (let round = 0; round < rounds; round++) {
        const all = roundEvents(day, round, warmUp, random);
        for (let start = 0; start < all.length; start += size) {
          const part = all.slice(start, start + size);
          now = Math.max(...part.map((e) => e.at)) + 1000;
          if (units.counting) await dedupe.claim(part.map((e) => String(e.body.messageId)));
          const response = await processor(kinesisBatch(part));
          retried += response.batchItemFailures.length;
          events += part.length;
          batches += 1;
        }
      }
      return { events, batches };
    };

    const warmUp = warmUpDays();
    for (let day = 0; day < warmUp; day++) await runDay(day, BATCH, EVENTS_PER_USER_PER_DAY, true);
    units.counting = true;
    const measured: Measured[] = [];
    for (const [i, batch] of MEASURED_BATCHES.entries()) {
      const before = copyUnits(units.byKind);
      const rounds = MEASURED_ROUNDS[batch] ?? EVENTS_PER_USER_PER_DAY;
      const { events, batches } = await runDay(warmUp + i, batch, rounds, false);
      measured.push({ batch, rounds, events, batches, byKind: unitsSince(units.byKind, before) });
    }
    if (retried > 0) throw new Error(`${retried} records were not processed`);

    return [
      ...measured.flatMap((day) => [measuredTable(day), '']),
      `${USERS} users after ${warmUp} days of warm-up, then a measured day at each batch size, ` +
        `${SUSTAIN_ITEMS} items. The cost model takes claims, profiles and identities per event ` +
        '(hotWruPerEvent, hotRruPerEvent) and items and trends per batch (hotWruPerBatch, hotRruPerBatch, ' +
        'for a batch that rewrites the whole catalogue). The totals leave the edge markers out (off in the AWS stages).',
    ].join('\n');
  } finally {
    client.destroy();
    probe.destroy();
    await emulators.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

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
import { ConsumedUnits, type KindUnits, UNIT_KINDS, type UnitKind } from './consumed-units';
import { seededRandom, type Random } from '../scripts/simulation/random';
import { fmt } from './harness';
import { SUSTAIN_ITEMS, shopEvent } from './shop-events';

/** The prod stage's batch size (infra/config.ts). */
const BATCH = 500;

/** One measured day: a stream batch size, and how many batches go between two folds. */
interface Scenario {
  batch: number;
  foldEvery: number;
  /** Rounds of the day run: a round is one event from every user. */
  rounds: number;
  /**
   * How many of a user's events one request carries: a client that batches sends a visit's events
   * together, so they reach the stream, and one batch, side by side.
   */
  eventsPerRequest: number;
}

/**
 * The measured days, each after the warm-up: prod's full batches folded every 5 batches (2,500
 * events, what the stages' 5-minute fold interval takes at about 720,000 events a day, and
 * well under what it takes at millions), then every batch, as the stream once wrote items and
 * trends; then small batches, like those of a quieter stream, folded every 10 batches (500 events)
 * and every batch (50 events: a fold that rewrites part of the catalogue). Small batches run four
 * of a day's ten rounds (2,000 events) to keep the run short.
 */
const SCENARIOS: readonly Scenario[] = [
  { batch: BATCH, foldEvery: 5, rounds: 10, eventsPerRequest: 1 },
  { batch: BATCH, foldEvery: 1, rounds: 10, eventsPerRequest: 1 },
  { batch: 50, foldEvery: 10, rounds: 4, eventsPerRequest: 1 },
  { batch: 50, foldEvery: 1, rounds: 4, eventsPerRequest: 1 },
  // The first day again with batching clients: each visit's five events in one request (as a
  // mobile library sends them when the app goes to the background), then both visits in one.
  { batch: BATCH, foldEvery: 5, rounds: 10, eventsPerRequest: 5 },
  { batch: BATCH, foldEvery: 5, rounds: 10, eventsPerRequest: 10 },
];
/** How often the warm-up days fold: the first scenario's cadence. */
const WARM_UP_FOLD_EVERY = 5;
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
/** What the cost model takes each event to have its fold rewrite, over this catalogue (hotItemsPerEvent). */
const ITEMS_PER_EVENT = 21;

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

/** An event as the stream sees it: its body, and when its request was sent. */
interface SentEvent {
  body: Record<string, unknown>;
  at: number;
}

/**
 * One round: every user's next event (indexed by user), from the sustain benchmark's generator (its event mix and
 * items) at a random position, so a batch holds as many distinct items as random picks from 700 do.
 */
function roundEvents(day: number, round: number, warmUp: boolean, random: Random) {
  return Array.from({ length: USERS }, (_, user) => ({
    at: eventTime(day, round, user, warmUp),
    event: shopEvent(Math.floor(random.next() * 2 ** 31)),
  }));
}

/**
 * A day's rounds in stream order, each user's events sent `perRequest` at a time: a request leaves
 * with its last event and carries the others, made earlier, beside it. With one event a request
 * the stream order is round by round.
 */
function dayEvents(
  day: number,
  rounds: number,
  perRequest: number,
  warmUp: boolean,
  random: Random,
): SentEvent[] {
  // Every event is drawn in round order whatever the batching, so each way sees the same events.
  const grid = Array.from({ length: rounds }, (_, round) => roundEvents(day, round, warmUp, random));
  const sent: SentEvent[] = [];
  for (let first = 0; first < rounds; first += perRequest) {
    const requestRounds = grid.slice(first, first + perRequest);
    const lastRound = first + requestRounds.length - 1;
    for (let user = 0; user < USERS; user++) {
      const sentAt = eventTime(day, lastRound, user, warmUp);
      for (const { at, event } of requestRounds.flatMap((round) => round.slice(user, user + 1))) {
        sent.push({
          at: sentAt,
          body: {
            ...event,
            userId: `shopper-${user}`,
            messageId: randomUUID(),
            timestamp: new Date(at - 150).toISOString(),
            sentAt: new Date(sentAt).toISOString(),
            receivedAt: new Date(sentAt + 80).toISOString(),
            source: 'graphql',
            sourceIp: `203.0.113.${user % 256}`,
          },
        });
      }
    }
  }
  return sent;
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

/** Units by kind, as the counter keeps them. */
type Units = Record<UnitKind, KindUnits>;

/** One measured day: the stream batches' units and the folds' apart. */
interface Measured extends Scenario {
  events: number;
  batches: number;
  folds: number;
  /** Items and trends the folds wrote. */
  foldedItems: number;
  foldedTrends: number;
  stream: Units;
  fold: Units;
  /** The pending log's appends: parts stored, and their compressed changes in bytes. */
  appendedParts: number;
  appendedBytes: number;
}

const noUnits = (): Units =>
  Object.fromEntries(UNIT_KINDS.map((kind) => [kind, { reads: 0, rru: 0, writes: 0, wru: 0 }])) as Units;

const copyUnits = (byKind: Readonly<Record<UnitKind, Readonly<KindUnits>>>): Units =>
  Object.fromEntries(UNIT_KINDS.map((kind) => [kind, { ...byKind[kind] }])) as Units;

/** Adds what the counter counted since `then` to `into`. */
function addSince(into: Units, now: Readonly<Record<UnitKind, Readonly<KindUnits>>>, then: Units): void {
  for (const kind of UNIT_KINDS) {
    into[kind].reads += now[kind].reads - then[kind].reads;
    into[kind].rru += now[kind].rru - then[kind].rru;
    into[kind].writes += now[kind].writes - then[kind].writes;
    into[kind].wru += now[kind].wru - then[kind].wru;
  }
}

/** Kinds the stream batches write, per event; the pending log's row is its appends. */
const STREAM_KINDS: readonly UnitKind[] = ['profiles', 'identities', 'pending log'];
/** Kinds a fold reads and writes: the pending log's row is its Query and its deletes. */
const FOLD_KINDS: readonly UnitKind[] = ['pending log', 'items', 'trends'];

const share = (events: number) => 1 - Math.exp(-(events * ITEMS_PER_EVENT) / SUSTAIN_ITEMS);

/**
 * A measured day's table: each kind's units per event, per batch (stream) or per fold, then the
 * split the cost model takes: per event, the stream's; per fold, the fold's.
 */
function measuredTable(m: Measured): string {
  const perEvent = (value: number) => fmt(value / m.events, 3);
  const per = (value: number, count: number) => fmt(value / count, 1);
  const perWrite = (u: KindUnits) => (u.writes > 0 ? fmt(u.wru / u.writes, 2) : '–');
  const sum = (units: Units, kinds: readonly UnitKind[]): KindUnits =>
    kinds.reduce(
      (total, kind) => ({
        reads: total.reads + units[kind].reads,
        rru: total.rru + units[kind].rru,
        writes: total.writes + units[kind].writes,
        wru: total.wru + units[kind].wru,
      }),
      { reads: 0, rru: 0, writes: 0, wru: 0 },
    );
  const row = (name: string, when: 'batch' | 'fold', u: KindUnits, last: string) => {
    const count = when === 'batch' ? m.batches : m.folds;
    return `| ${name} | ${when} | ${perEvent(u.reads)} | ${perEvent(u.rru)} | ${perEvent(u.wru)} | ${per(u.rru, count)} | ${per(u.wru, count)} | ${last} |`;
  };
  const foldEvents = (m.batch * m.foldEvery).toLocaleString('en-US');
  const folds =
    m.foldEvery === 1 ? 'a fold every batch' : `a fold every ${m.foldEvery} batches (${foldEvents} events)`;
  const title =
    m.eventsPerRequest === 1 ? folds : `${folds}, each user's events ${m.eventsPerRequest} to a request`;
  const all = sum(m.stream, STREAM_KINDS);
  const folded = sum(m.fold, FOLD_KINDS);
  return [
    `**${m.batch}-event batches, ${title}**: ${fmt(m.events)} events in ${fmt(m.batches)} batches and ${fmt(m.folds)} folds (${m.rounds === EVENTS_PER_USER_PER_DAY ? 'a day' : `${m.rounds} of the day's 10 rounds`}).`,
    '',
    '| items | per | reads / event | RRU / event | WRU / event | RRU / batch or fold | WRU / batch or fold | WRU / write |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...STREAM_KINDS.map((kind) =>
      row(
        kind === 'pending log' ? 'pending log: appends' : kind,
        'batch',
        m.stream[kind],
        perWrite(m.stream[kind]),
      ),
    ),
    row(
      'edge markers (edge dedupe on)',
      'batch',
      m.stream['edge markers'],
      perWrite(m.stream['edge markers']),
    ),
    ...FOLD_KINDS.map((kind) =>
      row(
        kind === 'pending log' ? 'pending log: read, deleted' : kind,
        'fold',
        m.fold[kind],
        perWrite(m.fold[kind]),
      ),
    ),
    row(`per event: ${STREAM_KINDS.join(', ')} (appends)`, 'batch', all, ''),
    row('per fold: pending log (read, deleted), items, trends', 'fold', folded, ''),
    `| **hot tier** | | ${perEvent(all.reads + folded.reads)} | ${perEvent(all.rru + folded.rru)} | ${perEvent(all.wru + folded.wru)} | | | |`,
    '',
    `Pending log: ${fmt(m.appendedBytes / m.events, 1)} bytes of compressed changes an event, ` +
      `${fmt(m.appendedBytes / m.batches)} a batch in ${fmt(m.appendedParts / m.batches, 1)} part(s). ` +
      `A fold wrote ${fmt(m.foldedItems / m.folds, 1)} items (the catalogue share 1 − e^(−n × ${ITEMS_PER_EVENT} ÷ ${SUSTAIN_ITEMS}) ` +
      `of its ${fmt(m.batch * m.foldEvery)} events gives ${fmt(share(m.batch * m.foldEvery) * SUSTAIN_ITEMS, 1)}) and ${fmt(m.foldedTrends / m.folds, 1)} trends.`,
  ].join('\n');
}

/**
 * The DynamoDB request units the hot tier's writes consume, by kind of item: per event, the stream
 * processor's (profiles, identities, pending-log appends), and per fold, the fold's
 * (pending-log Query and deletes, items, trends). The real processor and DynamoDbHotStore against
 * dynalite, which reports each request's consumed capacity as DynamoDB bills it (writes and
 * deletes: ceil(KB) of the larger of the old and new item; strongly consistent reads: ceil(4 KB)
 * per item, 1 for an item not found, and half that eventually consistent (a profile's base); a
 * Query: ceil(4 KB) of the items it returns together). 500
 * users each send ten events a day of the sustain benchmark's mix over 700 items. After the
 * warm-up days (in 500-event batches, a fold every 5), one day is counted in each of SCENARIOS.
 * The edge's dedupe markers (TRIBUTARY_EDGE_DEDUPE, off in both AWS stages) are written for the
 * same events and counted apart.
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
    // Every base is read from the table, none from memory: a stream Lambda's instances come and go,
    // so the cost model counts on none of them holding a user's base from the last event.
    const hotStore = new DynamoDbHotStore({ client, tableName, now: () => now, baseCacheEntries: 0 });
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
    /** Folds until nothing is pending: what one scheduled run does. */
    const foldAll = async () => {
      const written = { items: 0, trends: 0 };
      for (let more = true; more;) {
        const outcome = await hotStore.foldPending();
        written.items += outcome.items;
        written.trends += outcome.trends;
        more = outcome.more;
      }
      return written;
    };
    /** Runs a day's rounds in batches of `batch`, a fold every `foldEvery` batches and at the end. */
    const runDay = async (day: number, scenario: Scenario, warmUp: boolean) => {
      const { batch, foldEvery, rounds } = scenario;
      const m: Measured = {
        ...scenario,
        events: 0,
        batches: 0,
        folds: 0,
        foldedItems: 0,
        foldedTrends: 0,
        stream: noUnits(),
        fold: noUnits(),
        appendedParts: 0,
        appendedBytes: 0,
      };
      const appendedBefore = { ...units.pendingAppends };
      const fold = async () => {
        const before = copyUnits(units.byKind);
        const written = await foldAll();
        addSince(m.fold, units.byKind, before);
        m.folds += 1;
        m.foldedItems += written.items;
        m.foldedTrends += written.trends;
      };
      const all = dayEvents(day, rounds, scenario.eventsPerRequest, warmUp, random);
      for (let start = 0; start < all.length; start += batch) {
        const part = all.slice(start, start + batch);
        now = Math.max(...part.map((e) => e.at)) + 1000;
        const before = copyUnits(units.byKind);
        if (units.counting) await dedupe.claim(part.map((e) => String(e.body.messageId)));
        const response = await processor(kinesisBatch(part));
        addSince(m.stream, units.byKind, before);
        retried += response.batchItemFailures.length;
        m.events += part.length;
        m.batches += 1;
        if (m.batches % foldEvery === 0) await fold();
      }
      if (m.batches % foldEvery !== 0) await fold();
      m.appendedParts = units.pendingAppends.parts - appendedBefore.parts;
      m.appendedBytes = units.pendingAppends.changeBytes - appendedBefore.changeBytes;
      return m;
    };

    const warmUp = warmUpDays();
    const warmUpDay: Scenario = {
      batch: BATCH,
      foldEvery: WARM_UP_FOLD_EVERY,
      rounds: EVENTS_PER_USER_PER_DAY,
      eventsPerRequest: 1,
    };
    for (let day = 0; day < warmUp; day++) await runDay(day, warmUpDay, true);
    units.counting = true;
    const measured: Measured[] = [];
    for (const [i, scenario] of SCENARIOS.entries()) measured.push(await runDay(warmUp + i, scenario, false));
    if (retried > 0) throw new Error(`${retried} records were not processed`);

    return [
      ...measured.flatMap((day) => [measuredTable(day), '']),
      `${USERS} users after ${warmUp} days of warm-up, then a measured day in each way, ${SUSTAIN_ITEMS} items. ` +
        'The cost model takes the head put and the reads of profiles and identities per request of a ' +
        "visitor's events (hotWruPerProfileWrite, hotRruPerProfileWrite), rebases and identity refreshes per event (hotWruPerEvent), the " +
        "pending log's compressed bytes per event (hotPendingBytesPerEvent: its appends, Query and deletes are " +
        'billed by size), and items and trends per fold (hotWruPerFold, hotRruPerFold, for a fold that rewrites ' +
        'the whole catalogue). The totals leave the edge markers out (off in the AWS stages).',
    ].join('\n');
  } finally {
    client.destroy();
    probe.destroy();
    await emulators.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

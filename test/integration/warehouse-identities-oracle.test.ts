import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { identityRules, isJunkId, type IdentityRules } from '../../src/events/identity';
import type { StoredEvent } from '../../src/events/types';
import { EventsParquetFormat } from '../../src/sinks/lake/file-format';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb/duckdb-warehouse';
import { faultSeed, seededRandom } from '../helpers/seeded-random';

/**
 * Property: for a generated history of people browsing anonymously, signing in on their devices,
 * sharing some devices, sending junk ids and aliases, received in an order unrelated to event time
 * and loaded in random batches, the warehouse's person counts equal those of an oracle that applies
 * docs/identity.md's rules directly to the history. TRIBUTARY_FAULT_SEED replays a failing seed.
 */

// The history is loaded in a dozen or so loads; a shared machine can be slow.
jest.setTimeout(30_000);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const FROM = Date.parse('2024-06-03T00:00:00.000Z');
const DAYS = 7;
const TO = FROM + DAYS * DAY;
const EVENTS = ['page_viewed', 'product_viewed', 'order_completed'] as const;
const JUNK = ['null', 'undefined', ' Guest ', '0'];

interface Draw {
  next: () => number;
  int: (min: number, max: number) => number;
  chance: (p: number) => boolean;
  pick: <T>(items: readonly T[]) => T;
}

function draw(seed: number): Draw {
  const next = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]) => items[int(0, items.length - 1)] as T,
  };
}

/** A history: a few hundred people, their devices, sign-ins, shared devices, junk ids and aliases. */
function history(random: Draw): StoredEvent[] {
  const events: StoredEvent[] = [];
  const people = 300;
  const devicesOf = Array.from({ length: people }, (_, p) =>
    Array.from({ length: random.int(1, 5) }, (_, d) => `dev-${p}-${d}`),
  );
  const add = (over: Partial<StoredEvent> & { at: number }) => {
    const { at, ...fields } = over;
    events.push({
      messageId: `m-${String(events.length).padStart(5, '0')}`,
      event: random.pick(EVENTS),
      userId: null,
      anonymousId: null,
      sessionId: null,
      timestamp: new Date(at).toISOString(),
      sentAt: null,
      // Up to two days late at the edge, so edge order and event order disagree.
      receivedAt: new Date(at + random.int(0, 2 * DAY)).toISOString(),
      source: 'graphql',
      properties: {},
      context: {},
      processorVersion: 'test',
      mergesUsers: false,
      ...fields,
    });
  };
  // A little before and after the range too: claims from outside it still link.
  const someTime = () => FROM - DAY + random.int(0, (DAYS + 2) * DAY);
  for (let p = 0; p < people; p += 1) {
    const user = `user-${p}`;
    const devices = devicesOf[p] as string[];
    const signsIn = random.chance(0.7);
    for (let n = random.int(1, 8); n > 0; n -= 1) {
      // A few devices are shared with another person (a family tablet, a shop kiosk).
      const device = random.chance(0.05) ? random.pick(random.pick(devicesOf)) : random.pick(devices);
      const anonymousId = random.chance(0.03) ? random.pick(JUNK) : device;
      add({ at: someTime(), anonymousId });
      if (signsIn && random.chance(0.5)) add({ at: someTime(), userId: user, anonymousId });
    }
    if (signsIn && random.chance(0.3)) add({ at: someTime(), userId: user });
    if (random.chance(0.02))
      add({ at: someTime(), userId: random.pick(JUNK), anonymousId: random.pick(devices) });
    if (signsIn && random.chance(0.08)) {
      // An alias: of another user, ordinary (does nothing) or privileged (merges), or of a device.
      const previous = random.chance(0.7) ? `user-${random.int(0, people - 1)}` : random.pick(devices);
      add({
        at: someTime(),
        event: 'alias',
        userId: user,
        anonymousId: random.chance(0.5) ? random.pick(devices) : null,
        properties: { previous_id: previous },
        mergesUsers: random.chance(0.6),
      });
    }
  }
  return events;
}

// --- The oracle: docs/identity.md applied to the history, plainly --------------------------------

interface Claim {
  id: string;
  person: string;
  receivedAt: string;
  messageId: string;
  merges: boolean;
}

const claimBefore = (a: Claim, b: Claim): boolean =>
  a.receivedAt !== b.receivedAt ? a.receivedAt < b.receivedAt : a.messageId < b.messageId;

/** Each id's person: the userId its effective links lead to, as both stores resolve it. */
function personOracle(events: readonly StoredEvent[], rules: IdentityRules): (key: string) => string {
  const claims: Claim[] = [];
  const userIds = new Set<string>();
  for (const e of events) {
    if (e.userId !== null) userIds.add(e.userId);
    const person = e.userId;
    if (person === null || isJunkId(person, rules)) continue;
    const previous = e.event === 'alias' ? e.properties.previous_id : undefined;
    const claimed: string[] = [];
    const claim = (id: unknown, merges: boolean) => {
      if (typeof id !== 'string' || id === person || isJunkId(id, rules) || claimed.includes(id)) return;
      claimed.push(id);
      claims.push({ id, person, receivedAt: e.receivedAt, messageId: e.messageId, merges });
    };
    claim(previous, e.mergesUsers === true);
    claim(e.anonymousId, false);
  }
  const owner = new Map<string, Claim>();
  for (const c of claims) {
    const current = owner.get(c.id);
    if (current === undefined || claimBefore(c, current)) owner.set(c.id, c);
  }
  // Per person and class, each id's earliest claim, then the earliest `cap` of them.
  const kept = new Set<Claim>();
  const byClass = new Map<string, Map<string, Claim>>();
  for (const c of claims) {
    const key = `${c.person}\u0000${c.merges}`;
    const ids = byClass.get(key) ?? new Map<string, Claim>();
    const current = ids.get(c.id);
    if (current === undefined || claimBefore(c, current)) ids.set(c.id, c);
    byClass.set(key, ids);
  }
  for (const ids of byClass.values()) {
    const ordered = [...ids.values()].sort((a, b) =>
      claimBefore(a, b) ? -1 : claimBefore(b, a) ? 1 : a.id < b.id ? -1 : 1,
    );
    const cap = ordered[0]?.merges ? rules.maxMergedUsers : rules.maxAnonymousIds;
    for (const c of ordered.slice(0, cap)) kept.add(c);
  }
  const link = new Map<string, Claim>();
  for (const [id, c] of owner) {
    if (kept.has(c) && (c.merges || !userIds.has(id))) link.set(id, c);
  }
  return (key) => {
    // Up to three links; a cycle is broken at its latest link.
    const chain: Array<{ id: string; via: Claim }> = [];
    let current = key;
    for (let hop = 0; hop < 3; hop += 1) {
      const via = link.get(current);
      if (via === undefined) return current;
      const back = chain.findIndex((step) => step.id === via.person);
      chain.push({ id: current, via });
      if (back !== -1) {
        return chain.slice(back).reduce((a, b) => (claimBefore(a.via, b.via) ? b : a)).id;
      }
      current = via.person;
    }
    return current;
  };
}

describe('person counts in DuckDB, against an oracle of the identity rules', () => {
  const seed = faultSeed(20261202);
  const random = draw(seed);
  const rules = identityRules({ maxAnonymousIds: 3, extraJunkIds: ['0'] });
  const events = history(random);
  const personOf = personOracle(events, rules);
  const person = (e: StoredEvent) => personOf(e.userId ?? (e.anonymousId as string));
  const ms = (e: StoredEvent) => Date.parse(e.timestamp);
  const inRange = (e: StoredEvent, from = FROM, to = TO) => ms(e) >= from && ms(e) < to;

  let dir: string;
  let warehouse: DuckDbWarehouse;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tributary-identity-oracle-'));
    const lakeDir = path.join(dir, 'lake');
    warehouse = await DuckDbWarehouse.open({
      databasePath: path.join(dir, 'warehouse.duckdb'),
      lakeDir,
      identity: rules,
    });
    // Shuffled, then cut into random loads of both lake formats.
    const shuffled = [...events];
    for (let i = shuffled.length - 1; i > 0; i -= 1) {
      const j = random.int(0, i);
      [shuffled[i], shuffled[j]] = [shuffled[j] as StoredEvent, shuffled[i] as StoredEvent];
    }
    const folder = path.join(lakeDir, 'events', 'year=2024', 'month=06', 'day=03', 'hour=00');
    await mkdir(folder, { recursive: true });
    const format = new EventsParquetFormat();
    try {
      for (let start = 0, n = 0; start < shuffled.length; n += 1) {
        const end = Math.min(shuffled.length, start + random.int(50, 900));
        const lines = shuffled.slice(start, end).map((e) => JSON.stringify(e));
        const file = path.join(folder, `events-${String(n).padStart(3, '0')}`);
        if (random.chance(0.3)) {
          await writeFile(`${file}.json.gz`, gzipSync(lines.map((line) => line + '\n').join('')));
        } else {
          await format.write(`${file}.parquet`, lines, `${file}.scratch`);
        }
        await warehouse.loadNew();
        start = end;
      }
    } finally {
      await format.close();
    }
  });

  afterAll(async () => {
    await warehouse.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('generates a history with links, privileged aliases and people of several ids', () => {
    const linked = events.filter((e) => e.userId === null && person(e) !== e.anonymousId);
    expect(linked.length).toBeGreaterThan(200);
    expect(events.filter((e) => e.mergesUsers).length).toBeGreaterThan(0);
    expect(new Set(events.map(person)).size).toBeLessThan(
      new Set(events.map((e) => e.userId ?? e.anonymousId)).size,
    );
  });

  it('counts unique persons, overall and of one event, as the oracle does', async () => {
    const expected = (event?: string) =>
      new Set(events.filter((e) => inRange(e) && (event === undefined || e.event === event)).map(person))
        .size;
    const range = { from: new Date(FROM), to: new Date(TO) };
    expect(await warehouse.uniqueUsers(range)).toBe(expected());
    expect(await warehouse.uniqueUsers({ ...range, event: 'order_completed' })).toBe(
      expected('order_completed'),
    );
    // And ids, unlinked.
    expect(await warehouse.uniqueUsers({ ...range, identity: 'RAW_ID' })).toBe(
      new Set(events.filter((e) => inRange(e)).map((e) => e.userId ?? e.anonymousId)).size,
    );
  });

  it('counts persons per day and event, from the rollup and from events, as the oracle does', async () => {
    for (const [from, to] of [
      [FROM, TO],
      [FROM + 5 * HOUR, TO - 7 * HOUR],
    ] as const) {
      const rows = await warehouse.eventCounts({
        from: new Date(from),
        to: new Date(to),
        granularity: 'DAY',
      });
      const groups = new Map<string, Set<string>>();
      for (const e of events.filter((x) => inRange(x, from, to))) {
        const day = new Date(ms(e) - (ms(e) % DAY)).toISOString();
        const key = `${day} ${e.event}`;
        groups.set(key, (groups.get(key) ?? new Set()).add(person(e)));
      }
      expect(Object.fromEntries(rows.map((r) => [`${r.bucket.toISOString()} ${r.event}`, r.users]))).toEqual(
        Object.fromEntries([...groups].map(([key, people]) => [key, people.size])),
      );
    }
  });

  it('follows persons through a funnel as the oracle does', async () => {
    const steps = ['product_viewed', 'order_completed'];
    const windowMs = 24 * HOUR;
    const byPerson = new Map<string, StoredEvent[]>();
    for (const e of events.filter((x) => inRange(x) && steps.includes(x.event))) {
      byPerson.set(person(e), [...(byPerson.get(person(e)) ?? []), e]);
    }
    let started = 0;
    let converted = 0;
    for (const own of byPerson.values()) {
      const starts = own.filter((e) => e.event === steps[0]);
      if (starts.length > 0) started += 1;
      if (
        starts.some((s) =>
          own.some((e) => e.event === steps[1] && ms(e) >= ms(s) && ms(e) <= ms(s) + windowMs),
        )
      )
        converted += 1;
    }
    expect(converted).toBeGreaterThan(0);
    expect(
      await warehouse.funnel({ from: new Date(FROM), to: new Date(TO), steps, windowHours: 24 }),
    ).toEqual([
      { event: steps[0], users: started },
      { event: steps[1], users: converted },
    ]);
  });
});

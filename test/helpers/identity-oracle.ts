import type { PersonProfile, ProfileService } from '../../src/services/profile-service';
import type { GeneratedEvent } from './identity-history';

/**
 * What the hot tier should answer for each person, computed straight from the history with the
 * rules of docs/identity.md written out plainly (no code of the engine): the earliest claim on an
 * anonymous id wins, junk ids never link, a userId is never claimed by an ordinary event.
 */
export interface ExpectedPerson {
  personId: string;
  ids: Array<{ id: string; kind: 'USER' | 'ANONYMOUS' }>;
  eventCount: number;
  counts: Record<string, number>;
  firstSeen: string;
  lastSeen: string;
  lastEvent: string;
  traits: Record<string, unknown>;
  sessionCount: number;
  /** messageIds, newest first, at most 50. */
  recentEvents: string[];
  /** Every item the person touched with its latest interaction time, latest first (ties by id). */
  items: Array<{ id: string; at: string }>;
}

export interface IdentityOracle {
  personOf(id: string): ExpectedPerson;
  /** messageIds of events whose claim lost (IDENTITY_CONFLICT). */
  losingClaims: Set<string>;
}

const SESSION_GAP_MS = 30 * 60 * 1000;

/** Latest first, ties by id: one order for lists whose ties the engine may order either way. */
export function byRecency<T extends { id: string; at: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.at !== b.at ? (a.at > b.at ? -1 : 1) : a.id < b.id ? -1 : 1));
}

export function identityOracle(events: readonly GeneratedEvent[], junk: ReadonlySet<string>): IdentityOracle {
  const users = new Set(events.flatMap((e) => (e.userId === null ? [] : [e.userId])));
  const claimsById = new Map<string, GeneratedEvent[]>();
  for (const e of events) {
    const { userId, anonymousId } = e;
    if (userId === null || anonymousId === null || anonymousId === userId) continue;
    if (junk.has(userId.toLowerCase()) || junk.has(anonymousId.toLowerCase())) continue;
    claimsById.set(anonymousId, [...(claimsById.get(anonymousId) ?? []), e]);
  }
  const personIdOf = new Map<string, string>();
  const losingClaims = new Set<string>();
  for (const [id, claims] of claimsById) {
    const sorted = [...claims].sort((a, b) =>
      a.receivedAt !== b.receivedAt
        ? a.receivedAt < b.receivedAt
          ? -1
          : 1
        : a.messageId < b.messageId
          ? -1
          : 1,
    );
    const winner = sorted[0];
    if (winner?.userId == null || users.has(id)) continue;
    personIdOf.set(id, winner.userId);
    for (const c of sorted) if (c.userId !== winner.userId) losingClaims.add(c.messageId);
  }

  const members = new Map<string, string[]>();
  const allIds = new Set<string>();
  for (const e of events) for (const id of [e.userId, e.anonymousId]) if (id !== null) allIds.add(id);
  for (const id of allIds) {
    const person = personIdOf.get(id) ?? id;
    members.set(person, [...(members.get(person) ?? []), id]);
  }

  const byProfile = new Map<string, GeneratedEvent[]>();
  for (const e of events) {
    const profileId = e.userId ?? e.anonymousId ?? '';
    byProfile.set(profileId, [...(byProfile.get(profileId) ?? []), e]);
  }
  const expected = new Map<string, ExpectedPerson>();
  const personOf = (id: string): ExpectedPerson => {
    const personId = personIdOf.get(id) ?? id;
    const cached = expected.get(personId);
    if (cached !== undefined) return cached;
    const ids = members.get(personId) ?? [personId];
    const own = ids.flatMap((member) => byProfile.get(member) ?? []);
    const byTime = [...own].sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1));
    const counts: Record<string, number> = {};
    for (const e of own) counts[e.event] = (counts[e.event] ?? 0) + 1;
    const traits: Record<string, unknown> = {};
    for (const e of byTime) if (e.traits !== null) Object.assign(traits, e.traits);
    let sessionCount = 0;
    let lastTime = Number.NEGATIVE_INFINITY;
    for (const e of byTime) {
      const time = Date.parse(e.timestamp);
      if (time - lastTime > SESSION_GAP_MS) sessionCount += 1;
      lastTime = time;
    }
    const latestItem = new Map<string, string>();
    for (const e of byTime) for (const item of e.itemIds) latestItem.set(item, e.timestamp);
    const person: ExpectedPerson = {
      personId,
      ids: ids.map((member) => ({ id: member, kind: users.has(member) ? 'USER' : 'ANONYMOUS' })),
      eventCount: own.length,
      counts,
      firstSeen: byTime[0]?.timestamp ?? '',
      lastSeen: byTime[byTime.length - 1]?.timestamp ?? '',
      lastEvent: byTime[byTime.length - 1]?.event ?? '',
      traits,
      sessionCount,
      recentEvents: [...byTime]
        .reverse()
        .slice(0, 50)
        .map((e) => e.messageId),
      items: byRecency([...latestItem].map(([item, at]) => ({ id: item, at }))),
    };
    expected.set(personId, person);
    return person;
  };
  return { personOf, losingClaims };
}

/** The fields the oracle knows, read off a merged profile in the oracle's shape. */
export function observed(profile: PersonProfile) {
  return {
    personId: profile.personId,
    ids: profile.ids.map(({ id, kind }) => ({ id, kind })).sort((a, b) => (a.id < b.id ? -1 : 1)),
    eventCount: profile.eventCount,
    counts: profile.counts,
    firstSeen: profile.firstSeen,
    lastSeen: profile.lastSeen,
    lastEvent: profile.lastEvent,
    traits: profile.traits,
    sessionCount: profile.sessionCount,
    recentEvents: profile.recentEvents.map((e) => e.messageId),
  };
}

export function expectedView(person: ExpectedPerson) {
  const { items: _items, ...rest } = person;
  return { ...rest, ids: [...person.ids].sort((a, b) => (a.id < b.id ? -1 : 1)) };
}

/** The merged recent items agree with every item's latest interaction, the newest 20 of them. */
export function expectRecentItems(profile: PersonProfile, person: ExpectedPerson): void {
  const actual = byRecency(profile.recentItems.map(({ id, at }) => ({ id, at })));
  if (person.items.length <= 20) {
    expect(actual).toEqual(person.items);
    return;
  }
  const latest = new Map(person.items.map((item) => [item.id, item.at]));
  expect(actual).toHaveLength(20);
  expect(actual.map((item) => item.at)).toEqual(person.items.slice(0, 20).map((item) => item.at));
  for (const item of actual) expect(item.at).toBe(latest.get(item.id));
}

/**
 * Asks `profiles` for every id of the history and checks each answer against the oracle; returns
 * the oracle and how many people had more than one id, for the caller to check that links happened.
 */
export async function expectProfilesMatchOracle(
  profiles: Pick<ProfileService, 'user'>,
  history: { events: readonly GeneratedEvent[]; ids: readonly string[] },
  junk: ReadonlySet<string>,
): Promise<{ oracle: IdentityOracle; linkedPeople: number }> {
  const oracle = identityOracle(history.events, junk);
  let linkedPeople = 0;
  for (const id of history.ids) {
    const person = oracle.personOf(id);
    const profile = await profiles.user(id);
    if (person.eventCount === 0) {
      expect(profile).toBeNull();
      continue;
    }
    if (profile === null) throw new Error(`no profile for ${id}`);
    expect(observed(profile)).toEqual(expectedView(person));
    expectRecentItems(profile, person);
    if (person.ids.length > 1) linkedPeople += 1;
  }
  return { oracle, linkedPeople };
}

import { claimOrder, MAX_LINK_HOPS, type IdKind, type LinkClaim } from '../events/identity';
import { identityState, ownerOf, type IdentityState } from './identity-state';
import type { ProfileState, RecentEvent, RecentItem } from './profile';
import { DEFAULT_PROFILE_LIMITS, type ProfileLimits } from './profile';
import type { Session } from './sessions';

/** What the hot tier holds under one id: its identity and its own profile. */
export interface IdRecord {
  identity: IdentityState | null;
  profile: ProfileState | null;
}

/** Reads several ids' records at once (one round trip); ids with neither are absent. */
export type IdRecordReader = (ids: readonly string[]) => Promise<ReadonlyMap<string, IdRecord>>;

export interface LinkedId {
  id: string;
  kind: IdKind;
  /** When the id joined the person; for the person's own id, when it was first seen. */
  linkedAt: string;
}

/** A person: its id, every id linked to it (its own first), and each id's own profile. */
export interface Person {
  personId: string;
  ids: LinkedId[];
  profiles: ProfileState[];
}

/**
 * Reads ids through `read`, each once, so a resolution costs one round trip per level of links:
 * the asked id, the person it belongs to, then the person's members.
 */
class RecordCache {
  private readonly records = new Map<string, IdRecord | null>();
  constructor(private readonly read: IdRecordReader) {}

  async load(ids: readonly string[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.records.has(id));
    if (missing.length === 0) return;
    const found = await this.read(missing);
    for (const id of missing) this.records.set(id, found.get(id) ?? null);
  }

  /** A loaded id's record (null when the hot tier has nothing under it). */
  get(id: string): IdRecord | null {
    return this.records.get(id) ?? null;
  }

  identity(id: string): IdentityState | null {
    const stored = this.get(id)?.identity ?? null;
    return stored === null ? null : identityState(stored);
  }
}

/**
 * Whether `claim`, naming `person`, links its id: the id's earliest claim, kept among the person's
 * members (its cap), the id not unlinked, and an ordinary claim never on a userId.
 */
function holds(claim: LinkClaim, idState: IdentityState | null, personState: IdentityState | null): boolean {
  if (idState === null || personState === null) return false;
  const owner = ownerOf(idState);
  if (owner?.messageId !== claim.messageId || owner.personId !== claim.personId) return false;
  return personState.members.some((m) => m.messageId === claim.messageId && m.id === claim.id);
}

/** The link that takes `id` to its person, if one holds; both records must be loaded. */
function upLink(id: string, cache: RecordCache): LinkClaim | null {
  const state = cache.identity(id);
  const owner = state === null ? null : ownerOf(state);
  if (owner === null) return null;
  return holds(owner, cache.identity(id), cache.identity(owner.personId)) ? owner : null;
}

/**
 * The person's id for `id`: links followed up at most MAX_LINK_HOPS times. A cycle (only two
 * privileged aliases in opposite directions make one) is broken at its latest link, so every id
 * of the cycle finds the same person.
 */
async function rootOf(id: string, cache: RecordCache): Promise<string> {
  const chain: Array<{ id: string; link: LinkClaim }> = [];
  let current = id;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    const state = cache.identity(current);
    const owner = state === null ? null : ownerOf(state);
    if (owner === null) return current;
    await cache.load([owner.personId]);
    const link = upLink(current, cache);
    if (link === null) return current;
    const seen = chain.findIndex((step) => step.id === link.personId);
    chain.push({ id: current, link });
    if (seen !== -1 || link.personId === id) {
      const cycle = chain.slice(Math.max(0, seen));
      const latest = cycle.reduce((a, b) => (claimOrder(a.link, b.link) >= 0 ? a : b));
      return latest.id;
    }
    current = link.personId;
  }
  return current;
}

function kindOf(id: string, cache: RecordCache): IdKind {
  return cache.identity(id)?.isUser === true ? 'USER' : 'ANONYMOUS';
}

/**
 * Resolves an id to its person: the root its links lead to, and every id whose links lead there
 * (down as many levels as links are followed up). Null when the hot tier has nothing under the id.
 */
export async function resolvePerson(id: string, read: IdRecordReader): Promise<Person | null> {
  const cache = new RecordCache(read);
  await cache.load([id]);
  if (cache.get(id) === null) return null;
  const root = await rootOf(id, cache);
  await cache.load([root]);

  const members: Array<{ id: string; link: LinkClaim }> = [];
  const seen = new Set([root]);
  let level = [root];
  for (let depth = 0; depth < MAX_LINK_HOPS && level.length > 0; depth++) {
    const candidates = level.flatMap((person) =>
      (cache.identity(person)?.members ?? []).filter((m) => m.personId === person && !seen.has(m.id)),
    );
    await cache.load(candidates.map((m) => m.id));
    const next: string[] = [];
    for (const claim of candidates) {
      if (seen.has(claim.id)) continue;
      if (!holds(claim, cache.identity(claim.id), cache.identity(claim.personId))) continue;
      seen.add(claim.id);
      members.push({ id: claim.id, link: claim });
      next.push(claim.id);
    }
    level = next;
  }

  const rootProfile = cache.get(root)?.profile ?? null;
  const earliestLink = members.map((m) => m.link.linkedAt).sort()[0];
  const ids: LinkedId[] = [
    { id: root, kind: kindOf(root, cache), linkedAt: rootProfile?.firstSeen ?? earliestLink ?? '' },
    ...members.map((m) => ({ id: m.id, kind: kindOf(m.id, cache), linkedAt: m.link.linkedAt })),
  ];
  const profiles = [root, ...members.map((m) => m.id)]
    .map((member) => cache.get(member)?.profile ?? null)
    .filter((profile): profile is ProfileState => profile !== null);
  return { personId: root, ids, profiles };
}

const byStart = (a: Session, b: Session) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0);

/** Sessions of several ids as one visitor's: two within the gap of each other are one session. */
function mergeSessions(lists: readonly Session[][], gapMs: number): Session[] {
  const merged: Session[] = [];
  for (const session of lists.flat().sort(byStart)) {
    const last = merged[merged.length - 1];
    if (last !== undefined && Date.parse(session.start) - Date.parse(last.end) <= gapMs) {
      merged[merged.length - 1] = {
        start: last.start,
        end: session.end > last.end ? session.end : last.end,
        events: last.events + session.events,
      };
    } else {
      merged.push({ ...session });
    }
  }
  return merged;
}

function mergeRecentItems(lists: readonly RecentItem[][], limit: number): RecentItem[] {
  const byId = new Map<string, RecentItem>();
  for (const item of lists.flat()) {
    const held = byId.get(item.id);
    byId.set(
      item.id,
      held === undefined
        ? { ...item }
        : {
            id: item.id,
            weight: Math.max(held.weight, item.weight),
            at: item.at > held.at ? item.at : held.at,
          },
    );
  }
  return [...byId.values()].sort((a, b) => (a.at > b.at ? -1 : a.at < b.at ? 1 : 0)).slice(0, limit);
}

function mergeRecentEvents(lists: readonly RecentEvent[][], limit: number): RecentEvent[] {
  return lists
    .flat()
    .sort((a, b) => (a.timestamp > b.timestamp ? -1 : a.timestamp < b.timestamp ? 1 : 0))
    .slice(0, limit);
}

/**
 * One profile for a person from the profiles of its ids. Each event lives in exactly one of them,
 * so counts are sums and nothing counts twice. Lists are merged by time within the profile's
 * limits; traits are taken key by key from the profile whose latest identify is newest. Sessions
 * are merged by time: the merged count is exact while the sessions that touch are among those
 * each profile keeps (its latest 20).
 */
export function mergeProfiles(
  profiles: readonly ProfileState[],
  limits: ProfileLimits = DEFAULT_PROFILE_LIMITS,
): ProfileState | null {
  const [first, ...others] = profiles;
  if (first === undefined) return null;
  if (others.length === 0) return first;
  const latest = profiles.reduce((a, b) =>
    b.lastSeen > a.lastSeen || (b.lastSeen === a.lastSeen && b.lastSeq > a.lastSeq) ? b : a,
  );
  const counts: Record<string, number> = {};
  for (const profile of profiles) {
    for (const [event, n] of Object.entries(profile.counts)) {
      counts[event] = (Object.hasOwn(counts, event) ? (counts[event] ?? 0) : 0) + n;
    }
  }
  const byTraitTime = [...profiles].sort((a, b) => ((a.traitsAt ?? '') < (b.traitsAt ?? '') ? -1 : 1));
  const traits = new Map<string, unknown>();
  for (const profile of byTraitTime)
    for (const [key, value] of Object.entries(profile.traits)) traits.set(key, value);
  const kept = profiles.map((p) => p.sessions);
  const sessions = mergeSessions(kept, limits.sessionGapMs);
  const keptCount = kept.reduce((n, list) => n + list.length, 0);
  const traitTimes = profiles.map((p) => p.traitsAt).filter((t): t is string => t !== undefined);
  return {
    eventCount: profiles.reduce((n, p) => n + p.eventCount, 0),
    firstSeen: profiles.reduce((t, p) => (p.firstSeen < t ? p.firstSeen : t), first.firstSeen),
    lastSeen: latest.lastSeen,
    lastEvent: latest.lastEvent,
    lastSeq: latest.lastSeq,
    counts,
    traits: Object.fromEntries(traits),
    ...(traitTimes.length > 0 ? { traitsAt: traitTimes.sort()[traitTimes.length - 1] } : {}),
    sessions: sessions.slice(-limits.sessions),
    sessionCount: profiles.reduce((n, p) => n + p.sessionCount, 0) - (keptCount - sessions.length),
    recentEvents: mergeRecentEvents(
      profiles.map((p) => p.recentEvents),
      limits.recentEvents,
    ),
    recentItems: mergeRecentItems(
      profiles.map((p) => p.recentItems),
      limits.recentItems,
    ),
    purchased: [...new Set(profiles.flatMap((p) => p.purchased))],
  };
}

/**
 * How a profile is stored in two parts, so that the write that follows each event is small.
 *
 * DynamoDB bills a put by the item's whole size (1 WRU per KB, of the larger of the old and new
 * item), and a returning user's profile is 2 to 3 KB gzip'd, most of it lists that an event only
 * adds to the front of: its 50 latest events, its closed sessions, its purchases, its traits. So a
 * profile is kept as a *head*, written with every event, holding what changes with each event
 * (counts, the open session, recent items, today's item counts) and the newest entries of each
 * list, and a *base*, written now and then, holding the rest of the lists. A list is read as the
 * head's entries joined to a prefix (or suffix) of the base's. When the head outgrows a write
 * unit, the next write *rebases*: a new base with every list whole, and a head with none.
 *
 * Everything here is pure: which part holds what, and the one invariant that matters,
 * `joinProfile(splitProfile(state, base), base)` equals `state` for any state and base.
 */
import type { ProfileState, RecentEvent } from '../../../realtime/profile';
import type { SeenEntry } from '../../../realtime/seen-messages';
import type { Session } from '../../../realtime/sessions';

/** The lists a profile keeps in its base, and its traits with their time. */
export interface ProfileBase {
  traits: Record<string, unknown>;
  traitsAt?: string;
  /** Newest first, as in the profile. */
  recentEvents: RecentEvent[];
  /** Newest first. */
  purchased: string[];
  /** Oldest first. */
  sessions: Session[];
  /** Newest first; absent from bases written before profiles kept their messageIds. */
  seen?: SeenEntry[];
}

/** A list as the head holds it: its own entries and how many of the base's it takes. */
export interface ListPart<T> {
  own: T[];
  fromBase: number;
}

type BaseFields = 'traits' | 'traitsAt' | 'recentEvents' | 'purchased' | 'sessions' | 'seen';

/** The part of a profile written with every event. */
export interface ProfileHead extends Omit<ProfileState, BaseFields> {
  /** The traits, only when they differ from the base's. */
  ownTraits?: { traits: Record<string, unknown>; at?: string };
  recentEvents: ListPart<RecentEvent>;
  purchased: ListPart<string>;
  sessions: ListPart<Session>;
  /** Absent when the profile keeps no messageIds (one written before it did). */
  seen?: ListPart<SeenEntry>;
}

/** The base of a profile that has none yet: every list is the head's own. */
export const EMPTY_BASE: ProfileBase = { traits: {}, recentEvents: [], purchased: [], sessions: [] };

/** A base holding every list of `state` whole. */
export function baseOf(state: ProfileState): ProfileBase {
  const base: ProfileBase = {
    traits: state.traits,
    recentEvents: state.recentEvents,
    purchased: state.purchased,
    sessions: state.sessions,
  };
  if (state.traitsAt !== undefined) base.traitsAt = state.traitsAt;
  if (state.seen !== undefined) base.seen = state.seen;
  return base;
}

/** The smallest head that, joined to `base`, is `state`. */
export function splitProfile(state: ProfileState, base: ProfileBase): ProfileHead {
  const { traits, traitsAt, recentEvents, purchased, sessions, seen, ...rest } = state;
  const head: ProfileHead = {
    ...rest,
    recentEvents: splitNewestFirst(recentEvents, base.recentEvents),
    purchased: splitNewestFirst(purchased, base.purchased),
    sessions: splitOldestFirst(sessions, base.sessions),
  };
  if (seen !== undefined) head.seen = splitNewestFirst(seen, base.seen ?? []);
  if (!jsonEqual(traits, base.traits) || traitsAt !== base.traitsAt) {
    head.ownTraits = traitsAt === undefined ? { traits } : { traits, at: traitsAt };
  }
  return head;
}

/** The profile a head and its base stand for. */
export function joinProfile(head: ProfileHead, base: ProfileBase): ProfileState {
  const { ownTraits, recentEvents, purchased, sessions, seen, ...rest } = head;
  const state: ProfileState = {
    ...rest,
    traits: ownTraits === undefined ? base.traits : ownTraits.traits,
    recentEvents: [...recentEvents.own, ...base.recentEvents.slice(0, recentEvents.fromBase)],
    purchased: [...purchased.own, ...base.purchased.slice(0, purchased.fromBase)],
    sessions: [...base.sessions.slice(base.sessions.length - sessions.fromBase), ...sessions.own],
  };
  const traitsAt = ownTraits === undefined ? base.traitsAt : ownTraits.at;
  if (traitsAt !== undefined) state.traitsAt = traitsAt;
  if (seen !== undefined) state.seen = [...seen.own, ...(base.seen ?? []).slice(0, seen.fromBase)];
  return state;
}

/**
 * A newest-first list as its fewest own entries in front of a prefix of the base's. Its tail
 * matches the base's front while events only arrive at the front and the oldest fall off the end;
 * a late entry among the base's, or a changed one, leaves nothing to share: all of it is own.
 */
function splitNewestFirst<T>(list: readonly T[], base: readonly T[]): ListPart<T> {
  for (let own = 0; own < list.length; own++) {
    const shared = list.length - own;
    if (shared <= base.length && matches(list, own, base, 0, shared)) {
      return { own: list.slice(0, own), fromBase: shared };
    }
  }
  return { own: [...list], fromBase: 0 };
}

/** An oldest-first list (sessions) as a suffix of the base's followed by its fewest own entries. */
function splitOldestFirst<T>(list: readonly T[], base: readonly T[]): ListPart<T> {
  for (let own = 0; own < list.length; own++) {
    const shared = list.length - own;
    if (shared <= base.length && matches(list, 0, base, base.length - shared, shared)) {
      return { own: list.slice(shared), fromBase: shared };
    }
  }
  return { own: [...list], fromBase: 0 };
}

function matches<T>(
  list: readonly T[],
  from: number,
  base: readonly T[],
  baseFrom: number,
  count: number,
): boolean {
  for (let i = 0; i < count; i++) {
    if (!jsonEqual(list[from + i], base[baseFrom + i])) return false;
  }
  return true;
}

/**
 * Equality of JSON values (what a profile is made of). Not util.isDeepStrictEqual: a state read
 * back or cloned may hold objects of another realm's prototype, which it would tell apart.
 */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every(
    (key) =>
      Object.hasOwn(b, key) &&
      jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

import type { EventError } from '../events/types';
import { countOne } from './counts';
import { byStreamOrder, isLater, type Contribution } from './contribution';
import { EVENT_NAME_NOT_COUNTED, TRAIT_DROPPED, type HotTierFailure } from './failures';
import { defaultInteractionModel, type InteractionModel } from './interactions';
import { countInteraction, type CountedItem, type ItemCountLimits } from './item-counts';
import {
  DEFAULT_SEEN_LIMITS,
  RememberedMessages,
  rememberSeen,
  type SeenEntry,
  type SeenLimits,
} from './seen-messages';
import { addToSessions, SESSION_GAP_MS, type Session } from './sessions';
import { mergeTraits, type TraitLimits, type TraitMerge } from './traits';

export interface RecentEvent {
  messageId: string;
  event: string;
  /**
   * The item, when the event is about exactly one. An order's products are not copied here: 50
   * orders of up to 500 lines could outgrow DynamoDB's 400 KB item; recentItems holds them.
   */
  itemId: string | null;
  timestamp: string;
}

/** An item in the user's recent interactions, with the strongest weight they gave it. */
export interface RecentItem {
  id: string;
  weight: number;
  at: string;
}

export interface ProfileState {
  eventCount: number;
  firstSeen: string;
  lastSeen: string;
  lastEvent: string;
  /** Stream position of the last event: breaks ties between events with the same time. */
  lastSeq: string;
  counts: Record<string, number>;
  traits: Record<string, unknown>;
  /**
   * Event time of the latest identify applied: which of a person's profiles has the newest traits
   * (person.ts). Absent from profiles that never took traits, or written before it existed.
   */
  traitsAt?: string;
  /** The latest sessions, oldest first; `sessionCount` counts every session ever. */
  sessions: Session[];
  sessionCount: number;
  /** Newest first. */
  recentEvents: RecentEvent[];
  /** Newest interaction first: the window that co-occurrence is counted in. */
  recentItems: RecentItem[];
  /** Newest first. */
  purchased: string[];
  /**
   * Today's counts of the user's latest items, which cap how often they count toward each
   * (item-counts.ts); absent from profiles written before the cap existed.
   */
  counted?: CountedItem[];
  /**
   * The messageIds of the events that left `recentEvents` in the last `seenDays` (at most
   * `seenIds`), newest first: with those of `recentEvents`, what the profile remembers so that a
   * resend counts once (seen-messages.ts). Absent until an event leaves `recentEvents`.
   */
  seen?: SeenEntry[];
}

/** One event's effect on an item's stats and trending. */
export interface ItemTouch {
  itemId: string;
  event: string;
  /** How much the user's weight for the item grew (0 when they had already given it as much). */
  weightDelta: number;
  receivedAt: string;
  shardId: string;
  sequence: string;
}

/** Growth of the co-occurrence of `itemId` with `otherId`; emitted for both directions. */
export interface PairDelta {
  itemId: string;
  otherId: string;
  co: number;
  shardId: string;
  sequence: string;
}

/**
 * Every list and map in a profile is bounded, so no profile can outgrow DynamoDB's 400 KB item
 * (docs/hot-tier.md adds the bounds up).
 */
export interface ProfileLimits extends TraitLimits, ItemCountLimits, SeenLimits {
  recentEvents: number;
  recentItems: number;
  purchased: number;
  sessions: number;
  sessionGapMs: number;
  /** Event names `counts` keeps; events of further names count in `eventCount` only. */
  eventNames: number;
}

export const DEFAULT_PROFILE_LIMITS: ProfileLimits = {
  recentEvents: 50,
  recentItems: 20,
  purchased: 100,
  sessions: 20,
  sessionGapMs: SESSION_GAP_MS,
  eventNames: 100,
  traitKeys: 100,
  traitBytes: 16 * 1024,
  countsPerItem: 3,
  countedItems: 50,
  ...DEFAULT_SEEN_LIMITS,
};

export interface ProfileOutcome {
  state: ProfileState;
  touches: ItemTouch[];
  pairs: PairDelta[];
  /** Contributions the profile took only in part (profile_limit), in stream order. */
  failures: HotTierFailure[];
}

function emptyProfile(first: Contribution): ProfileState {
  return {
    eventCount: 0,
    firstSeen: first.timestamp,
    lastSeen: first.timestamp,
    lastEvent: first.event,
    lastSeq: '',
    counts: {},
    traits: {},
    sessions: [],
    sessionCount: 0,
    recentEvents: [],
    recentItems: [],
    purchased: [],
    counted: [],
  };
}

function droppedTraitError({ key, limit }: TraitMerge['dropped'][number], limits: TraitLimits): EventError {
  const reason =
    limit === 'traitKeys'
      ? `the profile keeps ${limits.traitKeys} traits`
      : `the profile keeps ${limits.traitBytes} bytes of traits`;
  return { code: TRAIT_DROPPED, path: null, message: `trait ${JSON.stringify(key)} not kept: ${reason}` };
}

/**
 * Applies new contributions to a profile. Deterministic for a given stored state and set of
 * contributions (they are replayed in stream order), which is what lets the derived item updates
 * be recomputed identically after a crash. Co-occurrence grows by min(weight of a, weight of b)
 * per user and pair, so repeating an interaction adds nothing and a purchase outweighs a view.
 * What a limit keeps out of the profile (traits, an event name past `eventNames`) is reported as
 * a failure of that contribution; the event itself always counts. A bot's events count in its own
 * profile but touch no item: no stats, trends, co-occurrence or recent items. A contribution whose
 * messageId the profile has already applied (a client's resend, in a record of its own) changes
 * nothing.
 */
export function reduceProfile(
  stored: ProfileState | null,
  contributions: readonly Contribution[],
  model: InteractionModel = defaultInteractionModel,
  limits: ProfileLimits = DEFAULT_PROFILE_LIMITS,
): ProfileOutcome {
  const ordered = [...contributions].sort(byStreamOrder);
  const head = ordered[0];
  if (head === undefined) throw new Error('reduceProfile() needs at least one contribution');
  const state = structuredClone(stored ?? emptyProfile(head));
  const touches: ItemTouch[] = [];
  const pairs: PairDelta[] = [];
  const failures: HotTierFailure[] = [];
  const remembered = new RememberedMessages(state);
  const left: Array<{ messageId: string; at: string }> = [];

  for (const c of ordered) {
    // A resend of an event the profile has applied (another record with its messageId): nothing.
    if (remembered.has(c.messageId)) continue;
    remembered.add(c.messageId);
    const errors: EventError[] = [];
    state.eventCount += 1;
    if (Object.hasOwn(state.counts, c.event) || Object.keys(state.counts).length < limits.eventNames) {
      countOne(state.counts, c.event);
    } else {
      errors.push({
        code: EVENT_NAME_NOT_COUNTED,
        path: '/event',
        message: `the profile counts ${limits.eventNames} event names; this one counts in eventCount only`,
      });
    }
    if (c.timestamp < state.firstSeen) state.firstSeen = c.timestamp;
    if (state.lastSeq === '' || isLater(c, { timestamp: state.lastSeen, sequence: state.lastSeq })) {
      state.lastSeen = c.timestamp;
      state.lastEvent = c.event;
      state.lastSeq = c.sequence;
    }
    if (c.traits !== null) {
      const merged = mergeTraits(state.traits, c.traits, limits);
      state.traits = merged.traits;
      if (state.traitsAt === undefined || c.timestamp > state.traitsAt) state.traitsAt = c.timestamp;
      errors.push(...merged.dropped.map((dropped) => droppedTraitError(dropped, limits)));
    }
    if (errors.length > 0) failures.push({ messageId: c.messageId, failureType: 'profile_limit', errors });

    const added = addToSessions(state.sessions, c.timestamp, limits.sessionGapMs);
    state.sessionCount += added.change;
    state.sessions = added.sessions.slice(-limits.sessions);

    const recent = insertRecentEvent(state.recentEvents, c, limits.recentEvents);
    state.recentEvents = recent.events;
    if (recent.left !== null) left.unshift({ messageId: recent.left.messageId, at: c.receivedAt });
    // The event counted once above; each item it names gets the interaction (an order: a purchase
    // of every product), in the order named, a repeated item once. A bot's event touches none.
    if (c.isBot) continue;
    for (const itemId of new Set(c.itemIds)) interact(state, c, itemId, model, limits, touches, pairs);
  }
  if (left.length > 0) state.seen = rememberSeen(state.seen, left, limits);
  return { state, touches, pairs, failures };
}

/** The latest events with `c` in its place by time, and the one that no longer fits (maybe `c`). */
function insertRecentEvent(
  events: RecentEvent[],
  c: Contribution,
  limit: number,
): { events: RecentEvent[]; left: RecentEvent | null } {
  const entry: RecentEvent = {
    messageId: c.messageId,
    event: c.event,
    itemId: c.itemIds.length === 1 ? (c.itemIds[0] ?? null) : null,
    timestamp: c.timestamp,
  };
  const index = events.findIndex((e) => e.timestamp <= c.timestamp);
  const next = index === -1 ? [...events, entry] : [...events.slice(0, index), entry, ...events.slice(index)];
  return { events: next.slice(0, limit), left: next[limit] ?? null };
}

function interact(
  state: ProfileState,
  c: Contribution,
  itemId: string,
  model: InteractionModel,
  limits: ProfileLimits,
  touches: ItemTouch[],
  pairs: PairDelta[],
): void {
  const kind = model.kindOf(c.event);
  const previous = state.recentItems.find((item) => item.id === itemId);
  const before = previous?.weight ?? 0;
  const after = Math.max(before, model.weightOf(kind));
  const decision = countInteraction(state.counted ?? [], itemId, kind, c.receivedAt, limits);
  state.counted = decision.counted;
  // Past the user's daily count for the item, the interaction is the user's own (their recent and
  // purchased items), and adds nothing to the item.
  if (decision.counts) {
    const at = { shardId: c.shardId, sequence: c.sequence };
    for (const other of state.recentItems) {
      if (other.id === itemId) continue;
      const co = Math.min(after, other.weight) - Math.min(before, other.weight);
      if (co <= 0) continue;
      pairs.push({ itemId, otherId: other.id, co, ...at }, { itemId: other.id, otherId: itemId, co, ...at });
    }
    touches.push({ itemId, event: c.event, weightDelta: after - before, receivedAt: c.receivedAt, ...at });
  }
  state.recentItems = [
    { id: itemId, weight: after, at: c.timestamp },
    ...state.recentItems.filter((item) => item.id !== itemId),
  ].slice(0, limits.recentItems);
  if (kind === 'purchase') {
    state.purchased = [itemId, ...state.purchased.filter((id) => id !== itemId)].slice(0, limits.purchased);
  }
}

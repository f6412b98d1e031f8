import { countOne } from './counts';
import { byStreamOrder, isLater, type Contribution } from './contribution';
import { defaultInteractionModel, type InteractionModel } from './interactions';
import { addToSessions, SESSION_GAP_MS, type Session } from './sessions';

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
  /** The latest sessions, oldest first; `sessionCount` counts every session ever. */
  sessions: Session[];
  sessionCount: number;
  /** Newest first. */
  recentEvents: RecentEvent[];
  /** Newest interaction first: the window that co-occurrence is counted in. */
  recentItems: RecentItem[];
  /** Newest first. */
  purchased: string[];
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

export interface ProfileLimits {
  recentEvents: number;
  recentItems: number;
  purchased: number;
  sessions: number;
  sessionGapMs: number;
}

export const DEFAULT_PROFILE_LIMITS: ProfileLimits = {
  recentEvents: 50,
  recentItems: 20,
  purchased: 100,
  sessions: 20,
  sessionGapMs: SESSION_GAP_MS,
};

export interface ProfileOutcome {
  state: ProfileState;
  touches: ItemTouch[];
  pairs: PairDelta[];
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
  };
}

/**
 * Applies new contributions to a profile. Deterministic for a given stored state and set of
 * contributions (they are replayed in stream order), which is what lets the derived item updates
 * be recomputed identically after a crash. Co-occurrence grows by min(weight of a, weight of b)
 * per user and pair, so repeating an interaction adds nothing and a purchase outweighs a view.
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

  for (const c of ordered) {
    state.eventCount += 1;
    countOne(state.counts, c.event);
    if (c.timestamp < state.firstSeen) state.firstSeen = c.timestamp;
    if (state.lastSeq === '' || isLater(c, { timestamp: state.lastSeen, sequence: state.lastSeq })) {
      state.lastSeen = c.timestamp;
      state.lastEvent = c.event;
      state.lastSeq = c.sequence;
    }
    if (c.traits !== null) state.traits = { ...state.traits, ...c.traits };

    const added = addToSessions(state.sessions, c.timestamp, limits.sessionGapMs);
    state.sessionCount += added.change;
    state.sessions = added.sessions.slice(-limits.sessions);

    state.recentEvents = insertRecentEvent(state.recentEvents, c, limits.recentEvents);
    // The event counted once above; each item it names gets the interaction (an order: a purchase
    // of every product), in the order named, a repeated item once.
    for (const itemId of new Set(c.itemIds)) interact(state, c, itemId, model, limits, touches, pairs);
  }
  return { state, touches, pairs };
}

function insertRecentEvent(events: RecentEvent[], c: Contribution, limit: number): RecentEvent[] {
  const entry: RecentEvent = {
    messageId: c.messageId,
    event: c.event,
    itemId: c.itemIds.length === 1 ? (c.itemIds[0] ?? null) : null,
    timestamp: c.timestamp,
  };
  const index = events.findIndex((e) => e.timestamp <= c.timestamp);
  const next = index === -1 ? [...events, entry] : [...events.slice(0, index), entry, ...events.slice(index)];
  return next.slice(0, limit);
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
  const at = { shardId: c.shardId, sequence: c.sequence };
  for (const other of state.recentItems) {
    if (other.id === itemId) continue;
    const co = Math.min(after, other.weight) - Math.min(before, other.weight);
    if (co <= 0) continue;
    pairs.push({ itemId, otherId: other.id, co, ...at }, { itemId: other.id, otherId: itemId, co, ...at });
  }
  touches.push({ itemId, event: c.event, weightDelta: after - before, receivedAt: c.receivedAt, ...at });
  state.recentItems = [
    { id: itemId, weight: after, at: c.timestamp },
    ...state.recentItems.filter((item) => item.id !== itemId),
  ].slice(0, limits.recentItems);
  if (kind === 'purchase') {
    state.purchased = [itemId, ...state.purchased.filter((id) => id !== itemId)].slice(0, limits.purchased);
  }
}

import { claimsOf, DEFAULT_IDENTITY_RULES, type IdentityRules, type LinkClaim } from '../events/identity';
import { toContributions, type HotActivity } from './activity';
import type { Contribution } from './contribution';
import type { FailureReporter, HotTierFailure } from './failures';
import { defaultInteractionModel, type InteractionModel } from './interactions';
import {
  reduceIdentity,
  refusedClaims,
  type IdentityChanges,
  type IdentityState,
  type RefusedClaim,
} from './identity-state';
import { reduceItem, reduceItemStats, type ItemChange, type ItemState } from './items';
import {
  DEFAULT_PROFILE_LIMITS,
  reduceProfile,
  type ItemTouch,
  type PairDelta,
  type ProfileLimits,
  type ProfileState,
} from './profile';
import { mergePending, pendingEntriesOf, type PendingChanges } from './pending-changes';
import { isResend, RememberedMessages } from './seen-messages';
import { reduceTrend, type TrendState, type TrendWindow } from './trending';
import { advance, unapplied, type Positioned, type Versioned } from './watermarks';

/** Every trend is kept in each of these windows. */
export const TREND_WINDOWS: readonly TrendWindow[] = ['HOUR', 'DAY'];

/**
 * A key of the hot tier's state: a profile, an item (stats and neighbours), or the trend of one
 * event (null: every item event) in one window.
 */
export type HotStateKey =
  | { kind: 'profile'; profileId: string }
  | { kind: 'item'; itemId: string }
  | { kind: 'trend'; event: string | null; window: TrendWindow }
  | { kind: 'identity'; id: string };

type ProfileKey = Extract<HotStateKey, { kind: 'profile' }>;
type ItemKey = Extract<HotStateKey, { kind: 'item' }>;
type TrendKey = Extract<HotStateKey, { kind: 'trend' }>;
type IdentityKey = Extract<HotStateKey, { kind: 'identity' }>;

interface HotStates {
  profile: ProfileState;
  item: ItemState;
  trend: TrendState;
  identity: IdentityState;
}

/** The state kept under a key of this kind. */
export type StateOf<K extends HotStateKey> = HotStates[K['kind']];

export const profileKey = (profileId: string): ProfileKey => ({ kind: 'profile', profileId });
export const itemKey = (itemId: string): ItemKey => ({ kind: 'item', itemId });
export const identityKey = (id: string): IdentityKey => ({ kind: 'identity', id });
export const trendKey = (event: string | null, window: TrendWindow): TrendKey => ({
  kind: 'trend',
  event,
  window,
});

/** A string naming the key, for maps; different keys never share one. */
export function stateKeyString(key: HotStateKey): string {
  switch (key.kind) {
    case 'profile':
      return JSON.stringify([key.kind, key.profileId]);
    case 'item':
      return JSON.stringify([key.kind, key.itemId]);
    case 'trend':
      return JSON.stringify([key.kind, key.event, key.window]);
    case 'identity':
      return JSON.stringify([key.kind, key.id]);
  }
}

/** One key's change in a batch, as a function of what the key holds when it is written. */
export interface StateUpdate<K extends HotStateKey = HotStateKey> {
  key: K;
  /**
   * The key's next state given what it holds now, or null when it has applied everything already.
   * Pure, so a store may call it again after finding that the key changed under it.
   */
  next(stored: Versioned<StateOf<K>> | null): Versioned<StateOf<K>> | null;
}

/** Keys read together, as they were when read. */
export interface StateSnapshot {
  /** A key's state as read, or null when it has none; only keys that were loaded. */
  get<K extends HotStateKey>(key: K): Versioned<StateOf<K>> | null;
  /**
   * Writes each update's next state, one write per key, starting from the state read here. A
   * store where a key may change between the read and the write (another batch of another shard)
   * must apply the update to the newest state instead of overwriting it. Handing `next` the very
   * object `get` returned lets the engine reuse what it already computed from it.
   */
  commit(updates: readonly StateUpdate[]): Promise<void>;
}

/** A pending entry as a store read it, with what its removal takes. */
export interface StoredPending<Handle = unknown> extends PendingChanges {
  handle: Handle;
}

/** Pending entries read for one fold. */
export interface PendingRead<Handle = unknown> {
  /** A prefix of the log in (shard, sequence) order, whole entries only. */
  entries: Array<StoredPending<Handle>>;
  /** Whether the log holds more than was read. */
  more: boolean;
}

/** What one fold of the pending item and trend changes did. */
export interface FoldOutcome {
  /** Pending entries folded, and removed. */
  entries: number;
  /** Items and trends the fold wrote. */
  items: number;
  trends: number;
  /** True when more was pending than one fold takes: fold again. */
  more: boolean;
}

/** What a store supplies for the batch steps: persistence only. */
export interface HotBatchStorage {
  /** Reads several keys at once. */
  load(keys: readonly HotStateKey[]): Promise<StateSnapshot>;
  /** Appends entries to the pending log; appending the same entry again changes nothing. */
  appendPending(entries: readonly PendingChanges[]): Promise<void>;
}

/** What a store supplies for the fold: the pending log, and the keys it folds into. */
export interface HotFoldStorage<Handle = unknown> {
  /** The oldest pending entries, whole, up to about `budget` (a store's own measure); at least one. */
  readPending(budget: number): Promise<PendingRead<Handle>>;
  /** Removes folded entries. */
  removePending(entries: ReadonlyArray<StoredPending<Handle>>): Promise<void>;
  load(keys: readonly HotStateKey[]): Promise<StateSnapshot>;
}

export interface HotBatchOptions {
  interactions?: InteractionModel;
  /** Limits to change; the others keep DEFAULT_PROFILE_LIMITS. */
  profileLimits?: Partial<ProfileLimits>;
  /** Takes the events the profiles took only in part; without one they are not reported. */
  report?: FailureReporter;
  /** The identity stitching rules; DEFAULT_IDENTITY_RULES when absent. */
  identity?: IdentityRules;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}

/** The update that reduces `changes` into a key, each change once (see advance). */
function update<K extends HotStateKey, C extends Positioned>(
  key: K,
  changes: readonly C[],
  reduce: (state: StateOf<K> | null, pending: C[]) => StateOf<K>,
): StateUpdate<K> {
  return { key, next: (current) => advance(current, changes, reduce) };
}

function isTouch(change: ItemChange): change is ItemTouch {
  return !('otherId' in change);
}

/**
 * Applies a batch of activity to the hot tier's state through `storage`, one write per key.
 * Idempotent: each key drops what its per-shard watermarks say it has applied, and a profile
 * drops a messageId it has applied from another stream record (a client's resend; seen-messages.ts).
 *
 * The steps, in order: validate the whole batch; read the profiles and identities; set the resends
 * aside; reduce the profiles (yielding item touches, co-occurrence and what a limit kept out),
 * without writing them yet; append the item and trend changes to the pending log, which
 * `foldPending` applies later; report what the profiles took only in part; write the profiles and
 * identities last. The derived changes go first because they are a pure function of the stored
 * profile and the records: after a crash in between, a redelivery appends the same changes again
 * (or those of the profiles not yet written), which the fold takes once, and every key that already
 * has them filters them out by watermark.
 */
export async function applyHotBatch(
  activity: readonly HotActivity[],
  storage: HotBatchStorage,
  options: HotBatchOptions = {},
): Promise<void> {
  const contributions = toContributions(activity);
  if (contributions.length === 0) return;
  const interactions = options.interactions ?? defaultInteractionModel;
  const limits = { ...DEFAULT_PROFILE_LIMITS, ...options.profileLimits };
  const rules = options.identity ?? DEFAULT_IDENTITY_RULES;
  const reduce = (state: ProfileState | null, pending: Contribution[]) =>
    reduceProfile(state, pending, interactions, limits);

  // Every id the batch could change is read; its resends then change none of them.
  const named = identityChangesOf(contributions, rules);
  const profiles = await storage.load([
    ...[...new Set(contributions.map((c) => c.profileId))].map(profileKey),
    ...named.ids.map(identityKey),
  ]);
  const fresh = withoutResends(contributions, (profileId) => profiles.get(profileKey(profileId)));
  const byProfile = groupBy(fresh, (c) => c.profileId);
  const identity = fresh.length === contributions.length ? named : identityChangesOf(fresh, rules);
  const updates: Array<StateUpdate<ProfileKey>> = [];
  const touches: ItemTouch[] = [];
  const pairs: PairDelta[] = [];
  const failures: HotTierFailure[] = [];
  for (const [profileId, all] of byProfile) {
    const key = profileKey(profileId);
    const stored = profiles.get(key);
    const next = advance(stored, all, (state, pending) => {
      const outcome = reduce(state, pending);
      touches.push(...outcome.touches);
      pairs.push(...outcome.pairs);
      failures.push(...outcome.failures);
      return outcome.state;
    });
    if (next === null) continue;
    updates.push({
      key,
      // While the profile still holds what was read, the state reduced from it above is the answer.
      next: (current) =>
        current === stored ? next : advance(current, all, (state, pending) => reduce(state, pending).state),
    });
  }
  const refused = refusedClaims(
    (id) => profiles.get(identityKey(id))?.state ?? null,
    identity.changes,
    identity.rules,
  );
  failures.push(...identityFailures(refused));
  if (touches.length > 0) await storage.appendPending(pendingEntriesOf(touches, pairs));
  // Like the derived changes, failures are a pure function of the stored profiles and the records:
  // reported before the profiles are written, they are reported again if anything after fails.
  if (failures.length > 0) await options.report?.(failures);
  await profiles.commit([...updates, ...identityUpdates(identity)]);
}

interface BatchIdentity {
  rules: IdentityRules;
  changes: IdentityChanges;
  /** Every id whose identity the batch may change. */
  ids: string[];
}

/** The userIds a batch shows and the links its events claim, in stream order. */
function identityChangesOf(contributions: readonly Contribution[], rules: IdentityRules): BatchIdentity {
  const users = new Set<string>();
  const claims: LinkClaim[] = [];
  for (const c of contributions) {
    if (c.userId !== null) users.add(c.userId);
    claims.push(...claimsOf(c, rules));
  }
  const ids = new Set(users);
  for (const claim of claims) ids.add(claim.id).add(claim.personId);
  return { rules, changes: { users, claims }, ids: [...ids] };
}

/**
 * One write per id the batch names. Identity states only move toward a fixed point, so the update
 * needs no watermark: applied to a newer state (another shard wrote in between) or again on a
 * redelivery, it gives the same result.
 */
function identityUpdates({ rules, changes, ids }: BatchIdentity): Array<StateUpdate<IdentityKey>> {
  return ids.map((id) => {
    const own: IdentityChanges = {
      users: changes.users.has(id) ? new Set([id]) : new Set(),
      claims: changes.claims.filter((c) => c.id === id || c.personId === id),
    };
    return {
      key: identityKey(id),
      next: (current) => {
        const state = reduceIdentity(id, current?.state ?? null, own, rules);
        return state === null ? null : { state, watermarks: current?.watermarks ?? {} };
      },
    };
  });
}

/** One IDENTITY_CONFLICT failure per refused claim's event, with every reason it was refused. */
function identityFailures(refused: readonly RefusedClaim[]): HotTierFailure[] {
  const byMessage = new Map<string, HotTierFailure>();
  for (const { claim, code, message } of refused) {
    const failure = byMessage.get(claim.messageId) ?? {
      messageId: claim.messageId,
      failureType: 'identity_conflict' as const,
      errors: [],
      claim,
    };
    // Named by code, without the ids: the payload holds them, and messages are kept unscrubbed.
    failure.errors.push({ code, path: null, message });
    byMessage.set(claim.messageId, failure);
  }
  return [...byMessage.values()];
}

/**
 * The contributions less the resends: those whose messageId their profile, as read, has applied
 * from an earlier record. Two records with one messageId are never in flight together because the
 * edge partitions by profile, so they share a shard and its consumer handles them in order.
 */
function withoutResends(
  contributions: readonly Contribution[],
  profileOf: (profileId: string) => Versioned<ProfileState> | null,
): Contribution[] {
  const remembered = new Map<string, RememberedMessages>();
  return contributions.filter((c) => {
    const profile = profileOf(c.profileId);
    let messages = remembered.get(c.profileId);
    if (messages === undefined) {
      messages = new RememberedMessages(profile?.state ?? null);
      remembered.set(c.profileId, messages);
    }
    return !isResend(profile, c, messages);
  });
}

/**
 * Folds the oldest pending entries into items and trends, then removes them: one write per item
 * and trend however many batches touched it since the last fold. Safe to run again after a crash
 * (watermarks drop what a key has) and beside another fold (each write is optimistic).
 * `budget` bounds how much one fold reads, in the store's measure; `more` says to fold again.
 */
export async function foldPending<Handle>(
  storage: HotFoldStorage<Handle>,
  budget: number,
): Promise<FoldOutcome> {
  const read = await storage.readPending(budget);
  if (read.entries.length === 0) return { entries: 0, items: 0, trends: 0, more: read.more };
  const { touches, pairs } = mergePending(read.entries);
  const written = await applyDerived(touches, pairs, storage);
  await storage.removePending(read.entries);
  return { entries: read.entries.length, ...written, more: read.more };
}

/**
 * One write per item (stats and neighbours together) and per trend: the event's own and every
 * item event's, in each window. Every item's new weight is worked out first, so neighbours are
 * scored against these changes' popularity. Returns how many items and trends it wrote at most.
 */
async function applyDerived(
  touches: ItemTouch[],
  pairs: PairDelta[],
  storage: Pick<HotFoldStorage, 'load'>,
): Promise<{ items: number; trends: number }> {
  if (touches.length === 0 && pairs.length === 0) return { items: 0, trends: 0 };
  const changes = groupBy<ItemChange>([...touches, ...pairs], (c) => c.itemId);
  const trends = new Map<string, { key: TrendKey; hits: ItemTouch[] }>();
  for (const window of TREND_WINDOWS) {
    for (const touch of touches) {
      for (const event of [touch.event, null]) {
        const key = trendKey(event, window);
        const group = trends.get(stateKeyString(key)) ?? { key, hits: [] };
        group.hits.push(touch);
        trends.set(stateKeyString(key), group);
      }
    }
  }
  const stored = await storage.load([
    ...[...changes.keys()].map(itemKey),
    ...[...trends.values()].map((t) => t.key),
  ]);

  const weights = new Map<string, number>();
  for (const [itemId, itemChanges] of changes) {
    const item = stored.get(itemKey(itemId));
    weights.set(
      itemId,
      reduceItemStats(item?.state ?? null, unapplied(item, itemChanges).filter(isTouch)).weight,
    );
  }
  const updates: StateUpdate[] = [...changes].map(([itemId, itemChanges]) =>
    update(itemKey(itemId), itemChanges, (state, pending) =>
      reduceItem(state, pending, (other) => weights.get(other)),
    ),
  );
  for (const { key, hits } of trends.values()) {
    updates.push(update(key, hits, (state, pending) => reduceTrend(state, pending, key.window)));
  }
  await stored.commit(updates);
  return { items: changes.size, trends: trends.size };
}

import type { IdentityRules } from '../../src/events/identity';
import { identityState, withoutIds, type IdentityState } from '../../src/realtime/identity-state';
import type { IdRecord } from '../../src/realtime/person';
import {
  applyHotBatch,
  foldPending,
  identityKey,
  itemKey,
  profileKey,
  stateKeyString,
  trendKey,
  type FoldOutcome,
  type HotBatchStorage,
  type HotFoldStorage,
  type HotStateKey,
  type StateOf,
  type StateSnapshot,
} from '../../src/realtime/hot-batch';
import type { NeighbourEntry } from '../../src/realtime/items';
import type { PendingChanges } from '../../src/realtime/pending-changes';
import type { TrendState, TrendWindow } from '../../src/realtime/trending';
import type { Versioned } from '../../src/realtime/watermarks';
import { fromEngineError } from '../../src/sinks/hot-tier/errors';
import type {
  FailureReporter,
  HotActivity,
  HotStore,
  HotTierEraser,
  HotTierFolder,
  ItemRecord,
  UserProfileRecord,
} from '../../src/sinks/hot-tier/port';

export interface MemoryHotStoreOptions {
  identity?: IdentityRules;
  /** Called before each key is written; a throw there stops the batch half written, as a crash would. */
  beforeWrite?: () => void;
}

/**
 * The hot tier in memory: the engine's batch steps and fold (the same as the DynamoDB adapter runs)
 * over two maps: states with their watermarks, and the pending log. Everything
 * runs on one thread, so a key cannot change between its read and its write and a commit needs no
 * condition.
 */
export class MemoryHotStore implements HotStore, HotTierEraser, HotTierFolder {
  private readonly states = new Map<string, Versioned<StateOf<HotStateKey>>>();
  /** Pending entries by position and content, so appending one again changes nothing. */
  private readonly pending = new Map<string, PendingChanges>();
  private readonly storage: HotBatchStorage = {
    load: async () => this.snapshot,
    appendPending: async (entries) => {
      for (const entry of entries) {
        this.pending.set(JSON.stringify([entry.shardId, entry.sequence, entry.touches, entry.pairs]), entry);
      }
    },
  };
  private readonly fold: HotFoldStorage<string> = {
    readPending: async () => ({
      entries: [...this.pending]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([handle, entry]) => ({ ...entry, handle })),
      more: false,
    }),
    removePending: async (entries) => {
      for (const { handle } of entries) this.pending.delete(handle);
    },
    load: async () => this.snapshot,
  };
  /** Reads see the maps as they are, which is also what every commit starts from. */
  private readonly snapshot: StateSnapshot = {
    get: (key) => this.state(key),
    commit: async (updates) => {
      for (const update of updates) {
        this.options.beforeWrite?.();
        const key = stateKeyString(update.key);
        const next = update.next(this.states.get(key) ?? null);
        if (next !== null) this.states.set(key, next);
      }
    },
  };

  constructor(private readonly options: MemoryHotStoreOptions = {}) {}

  /** Applies one batch, with the idempotency of every hot store. */
  async applyActivity(activity: HotActivity[], report?: FailureReporter): Promise<void> {
    try {
      await applyHotBatch(activity, this.storage, { report, identity: this.options.identity });
    } catch (error) {
      throw fromEngineError(error) ?? error;
    }
  }

  /** Folds everything pending into items and trends, in one go. */
  async foldPending(): Promise<FoldOutcome> {
    try {
      return await foldPending(this.fold, Infinity);
    } catch (error) {
      throw fromEngineError(error) ?? error;
    }
  }

  /** Reads one profile, or null when the id has never been seen. */
  async getUser(id: string): Promise<UserProfileRecord | null> {
    const state = this.state(profileKey(id))?.state;
    return state === undefined ? null : { ...state, id };
  }

  /** Reads several ids' profiles and identities. */
  async readIds(ids: readonly string[]): Promise<Map<string, IdRecord>> {
    const records = new Map<string, IdRecord>();
    for (const id of ids) {
      const profile = this.state(profileKey(id))?.state ?? null;
      const identity = this.state(identityKey(id))?.state ?? null;
      if (profile !== null || identity !== null) records.set(id, { profile, identity });
    }
    return records;
  }

  /** Marks an id unlinked; false when it has no identity. */
  async unlink(id: string, at: string): Promise<boolean> {
    const key = identityKey(id);
    const stored = this.state(key);
    if (stored === null) return false;
    if (identityState(stored.state).unlinkedAt === null) {
      this.states.set(stateKeyString(key), { ...stored, state: { ...stored.state, unlinkedAt: at } });
    }
    return true;
  }

  /** Erases the ids' profiles and identities and every claim naming them. */
  async eraseIds(ids: readonly string[]): Promise<number> {
    const erased = new Set(ids);
    let removed = 0;
    for (const id of ids) {
      for (const key of [profileKey(id), identityKey(id)])
        if (this.states.delete(stateKeyString(key))) removed += 1;
    }
    for (const [name, stored] of this.states) {
      const [kind] = JSON.parse(name) as [string];
      if (kind !== 'identity') continue;
      const scrubbed = withoutIds(stored.state as Partial<IdentityState>, erased);
      if (scrubbed === null) continue;
      this.states.set(name, { ...stored, state: scrubbed.state });
      removed += scrubbed.removed;
    }
    return removed;
  }

  /** Reads one item's stats and neighbours, or null when the item has never been seen. */
  async getItem(id: string): Promise<ItemRecord | null> {
    const state = this.state(itemKey(id))?.state;
    if (state === undefined) return null;
    const { neighbours, ...stats } = state;
    return { id, stats, neighbours };
  }

  /** Reads several items' neighbour lists; unknown items are absent. */
  async getNeighbours(itemIds: string[]): Promise<Map<string, NeighbourEntry[]>> {
    const found = new Map<string, NeighbourEntry[]>();
    for (const id of itemIds) {
      const state = this.state(itemKey(id))?.state;
      if (state !== undefined) found.set(id, state.neighbours);
    }
    return found;
  }

  /** Reads the trend of one event (null: every item event) in one window. */
  async getTrend(event: string | null, window: TrendWindow): Promise<TrendState | null> {
    return this.state(trendKey(event, window))?.state ?? null;
  }

  private state<K extends HotStateKey>(key: K): Versioned<StateOf<K>> | null {
    // Only the engine's updates write the map, each under its own key's kind.
    return (this.states.get(stateKeyString(key)) as Versioned<StateOf<K>> | undefined) ?? null;
  }
}

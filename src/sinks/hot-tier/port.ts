import type { HotActivity } from '../../realtime/activity';
import type { FailureReporter, HotTierFailure } from '../../realtime/failures';
import type { FoldOutcome } from '../../realtime/hot-batch';
import type { ItemStatsState, NeighbourEntry } from '../../realtime/items';
import type { IdRecord } from '../../realtime/person';
import type { ProfileState } from '../../realtime/profile';
import type { TrendState, TrendWindow } from '../../realtime/trending';

/** Edge deduplication: messageIds remembered for a window (DynamoDB items with a TTL). */
export interface DedupeStore {
  /** Claims each messageId; true where the id was not claimed within the window (the event is new). */
  claim(messageIds: string[]): Promise<boolean[]>;
  /** Gives claims back (events the stream did not take), so their resend is not answered DUPLICATE. */
  release(messageIds: string[]): Promise<void>;
}

export type { IdRecord };

/** One delivered event as the hot tier sees it; the engine defines it, beside the batch steps. */
export type { HotActivity };

/** An event the hot tier applied only in part, or not at all; the engine defines it too. */
export type { FailureReporter, HotTierFailure };

/** What one fold of pending item and trend changes did; the engine defines it too. */
export type { FoldOutcome };

export interface UserProfileRecord extends ProfileState {
  id: string;
}

export interface ItemRecord {
  id: string;
  stats: ItemStatsState;
  /** Best first. */
  neighbours: NeighbourEntry[];
}

/** The hot tier (DynamoDB): profiles, item stats and neighbours, trending. */
export interface HotStore {
  /**
   * Applies a batch of activity, one write per key. Idempotent: a record at or below a key's
   * per-shard sequence watermark, or whose messageId another record already carried, changes nothing.
   * Events a profile takes only in part (its limits) go to `report` before any profile is written;
   * when `report` throws, the batch fails and a retry reports them again.
   */
  applyActivity(activity: HotActivity[], report?: FailureReporter): Promise<void>;
  /** Reads one id's own profile, or null when the id has never been seen. */
  getUser(id: string): Promise<UserProfileRecord | null>;
  /**
   * Reads several ids' profiles and identities in one round trip (what resolving a person takes,
   * src/realtime/person.ts); ids with neither are absent.
   */
  readIds(ids: readonly string[]): Promise<Map<string, IdRecord>>;
  /**
   * Splits an id off its person for good (docs/identity.md): from `at` on, no claim on it holds.
   * False when the hot tier holds no identity for the id.
   */
  unlink(id: string, at: string): Promise<boolean>;
  /** Reads one item's stats and neighbours, or null when the item has never been seen. */
  getItem(id: string): Promise<ItemRecord | null>;
  /** Reads the neighbour lists of several items at once; items without neighbours are absent. */
  getNeighbours(itemIds: string[]): Promise<Map<string, NeighbourEntry[]>>;
  /** Reads the trend of one event (null: every item event) in one window, or null when empty. */
  getTrend(event: string | null, window: TrendWindow): Promise<TrendState | null>;
}

/**
 * Folding the changes applyActivity leaves pending into items and trends (docs/hot-tier.md#the-fold).
 * applyActivity writes profiles at once; items and trends are as fresh as the last fold.
 */
export interface HotTierFolder {
  /** Folds the oldest pending changes. Idempotent, and safe beside another fold; `more`: fold again. */
  foldPending(): Promise<FoldOutcome>;
}

/** Erasing people from the hot tier (docs/privacy.md#deletion). */
export interface HotTierEraser {
  /**
   * Erases every trace of `ids`: their profiles and identities, and every link claim naming them
   * in other ids' identities (a shared device another person also claimed). Returns how many items
   * and claims went; idempotent. Aggregates that name no one (items, trends) stay.
   */
  eraseIds(ids: readonly string[]): Promise<number>;
}

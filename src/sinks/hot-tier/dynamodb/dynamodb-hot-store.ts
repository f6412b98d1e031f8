import {
  CreateTableCommand,
  DescribeTableCommand,
  waitUntilTableExists,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { HotActivity } from '../../../realtime/activity';
import type { FailureReporter } from '../../../realtime/failures';
import type { Config } from '../../../config';
import type { IdentityRules } from '../../../events/identity';
import { identityState, withoutIds, type IdentityState } from '../../../realtime/identity-state';
import type { IdRecord } from '../../../realtime/person';
import {
  applyHotBatch,
  foldPending,
  identityKey as identityStateKey,
  type FoldOutcome,
  type HotStateKey,
  type StateOf,
  type StateSnapshot,
  type StateUpdate,
} from '../../../realtime/hot-batch';
import type { InteractionModel } from '../../../realtime/interactions';
import type { ItemState, NeighbourEntry } from '../../../realtime/items';
import type { ProfileLimits, ProfileState } from '../../../realtime/profile';
import { WINDOW_MS, type TrendState, type TrendWindow } from '../../../realtime/trending';
import type { Versioned } from '../../../realtime/watermarks';
import {
  batchDelete,
  batchGet,
  forEachLimited,
  keyString,
  queryPartition,
  scanBySortKey,
  withThrottleRetry,
  type RetryPolicy,
  type StoredItem,
} from './dynamodb-batch';
import { HotStoreError } from '../errors';
import { DynamoDbPendingLog } from './dynamodb-pending-log';
import {
  isConditionalCheckFailed,
  isResourceInUse,
  isResourceNotFound,
  toHotStoreError,
} from './dynamodb-errors';
import {
  PARTITION_KEY,
  SORT_KEY,
  TTL_ATTRIBUTE,
  hotKeyOf,
  idOf,
  identityKey,
  itemKey,
  PROFILE_BASE_PREFIX,
  trendKey,
  userProfileKey,
  type HotKey,
} from './hot-store-keys';
import {
  BASE_POINTER_ATTRIBUTE,
  decodeBase,
  decodeHead,
  isProfileHead,
  planProfileWrite,
  profileOf,
  type StoredBase,
} from './profile-items';
import type { HotStore, HotTierEraser, HotTierFolder, ItemRecord, UserProfileRecord } from '../port';
import { ReadCache } from '../read-cache';

/** The hot table: string pk/sk, on-demand billing. TTL (`ttl`) is enabled by the CDK stack, not here. */
export function hotTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: PARTITION_KEY, AttributeType: 'S' },
      { AttributeName: SORT_KEY, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
      { AttributeName: SORT_KEY, KeyType: 'RANGE' },
    ],
  };
}

/** Creates the hot table when it is missing and waits until it is ACTIVE; safe to call repeatedly. */
export async function ensureHotTable(
  client: DynamoDBClient,
  tableName: string,
  maxWaitSeconds = 60,
): Promise<void> {
  try {
    const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (described.Table?.TableStatus === 'ACTIVE') return;
  } catch (error) {
    if (!isResourceNotFound(error)) throw toHotStoreError(error, `describe table ${tableName}`);
    try {
      await client.send(new CreateTableCommand(hotTableDefinition(tableName)));
    } catch (createError) {
      // Someone else created it between our describe and create: fine, we only need to wait.
      if (!isResourceInUse(createError)) throw toHotStoreError(createError, `create table ${tableName}`);
    }
  }
  const result = await waitUntilTableExists(
    { client, maxWaitTime: maxWaitSeconds, minDelay: 1, maxDelay: 5 },
    { TableName: tableName },
  );
  if (result.state !== 'SUCCESS') {
    throw new HotStoreError(
      `Table ${tableName} did not become ACTIVE (${result.state})`,
      'HOT_STORE_TABLE_NOT_READY',
    );
  }
}

export interface DynamoDbHotStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** How many keys are written at once. */
  concurrency?: number;
  /** Optimistic attempts per key before giving up with HOT_STORE_CONFLICT. */
  maxAttempts?: number;
  /** Attempts per call while DynamoDB throttles or leaves keys unprocessed. */
  throttleAttempts?: number;
  throttleBaseDelayMs?: number;
  interactions?: InteractionModel;
  /** Limits to change (trait caps, per-user item counts); the others keep the engine's defaults. */
  profileLimits?: Partial<ProfileLimits>;
  /** Identity stitching rules (docs/identity.md); the engine's defaults when absent. */
  identity?: IdentityRules;
  /**
   * Days after an id's last activity that its profile and identity expire (DynamoDB TTL on `ttl`;
   * docs/privacy.md#retention). DEFAULT_PROFILE_IDLE_DAYS when absent.
   */
  profileIdleDays?: number;
  /** The clock expiries are computed and checked with, in epoch milliseconds. */
  now?: () => number;
  /** Compressed bytes of pending changes one fold reads at most (one entry at least). */
  foldBudgetBytes?: number;
  /** Profile bases kept in memory once read (DEFAULT_BASE_CACHE_ENTRIES); 0 reads every one. */
  baseCacheEntries?: number;
}

/** Bases a store keeps in memory: about 3 KB each as stored (gzip'd), so some 30 MB at most. */
export const DEFAULT_BASE_CACHE_ENTRIES = 10_000;

/**
 * How long a base read is kept in memory. Nothing names a replaced or erased base again, so this
 * bounds only how long a copy of an erased person's base can outlive the erasure in a process
 * other than the eraser's (docs/privacy.md#erasure); a returning user's next event within it is
 * applied without reading the base.
 */
export const BASE_CACHE_MS = 10 * 60_000;

/** About 25,000 events' item and trend changes (165 bytes each): a fold's memory stays in the tens of MB. */
export const DEFAULT_FOLD_BUDGET_BYTES = 4 * 1024 * 1024;

/** Keys written at once unless configured otherwise. */
export const DEFAULT_WRITE_CONCURRENCY = 16;

/**
 * The hot store as every function and thread builds it from the configuration: the same table,
 * profile limits, identity rules and profile expiry, whichever of them reads or writes.
 */
export function hotStoreFromConfig(
  client: DynamoDBDocumentClient,
  config: Pick<Config, 'tableName' | 'hotLimits' | 'identity' | 'retention'>,
): DynamoDbHotStore {
  return new DynamoDbHotStore({
    client,
    tableName: config.tableName,
    profileLimits: config.hotLimits,
    identity: config.identity,
    profileIdleDays: config.retention.profileIdleDays,
  });
}

/** How long an id's profile and identity outlive its last activity unless configured otherwise. */
export const DEFAULT_PROFILE_IDLE_DAYS = 180;

/** A stored key: the engine's state and watermarks, plus the version every write asserts. */
interface Entity<S> extends Versioned<S> {
  /** Optimistic-lock version: every write asserts the version it read. */
  rev: number;
  /** When the item expires (its `ttl`, epoch seconds); undefined when it never does. */
  expiresAt: number | undefined;
  /**
   * A profile's base as read (profile-items.ts): null for every other key, for a profile whose head
   * holds all of it, and for one whose base is gone.
   */
  base: StoredBase | null;
}

/** Whatever state a key holds; which one follows from the key's kind. */
type AnyState = StateOf<HotStateKey>;

/** A trend nobody touched for this many windows has decayed to nothing and may expire. */
const TREND_RETENTION_WINDOWS = 48;
const META = new Set([PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, 'id', 'rev', 'wm', 'owner']);

/**
 * The attribute holding a key's state as gzip'd JSON. DynamoDB bills a write by the item's whole
 * size, and a profile is rewritten with every event of its user: its lists (50 recent events, 20
 * sessions, 20 recent items) are about 11 KB as attributes and 2 to 3 KB gzip'd, a third of the
 * write units, and of the strongly consistent reads. Items and trends shrink about as much.
 */
const STATE_ATTRIBUTE = 's';

function encodeState(state: AnyState): Uint8Array {
  return gzipSync(JSON.stringify(state));
}

function decode<S>(item: StoredItem | undefined | null): Entity<S> | null {
  if (item === undefined || item === null) return null;
  const packed = item[STATE_ATTRIBUTE];
  let state: unknown;
  if (packed instanceof Uint8Array) {
    state = JSON.parse(gunzipSync(packed).toString('utf8'));
  } else {
    // Written before states were packed: the state is the item's other attributes. The next write
    // of the key packs it.
    const fields: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(item)) if (!META.has(name)) fields[name] = value;
    state = fields;
  }
  const ttl = item[TTL_ATTRIBUTE];
  return {
    rev: Number(item.rev ?? 0),
    expiresAt: typeof ttl === 'number' ? ttl : undefined,
    watermarks: (item.wm as Record<string, string> | undefined) ?? {},
    // Only this adapter writes these items, in exactly the shape of S.
    state: state as S,
    base: null,
  };
}

/**
 * Decodes any stored key's item; a profile head is joined to its base, looked up in `bases` (by
 * keyString) among those read with it. A profile written before heads existed is decoded whole.
 */
function decodeStored<S>(
  item: StoredItem | undefined | null,
  bases: ReadonlyMap<string, StoredItem>,
): Entity<S> | null {
  if (item === undefined || item === null || !isProfileHead(item)) return decode<S>(item);
  const head = decodeHead(item);
  const found =
    head.baseSk === null ? undefined : bases.get(keyString({ pk: String(item.pk), sk: head.baseSk }));
  const base = found === undefined ? null : decodeBase(found);
  return {
    rev: head.rev,
    expiresAt: head.expiresAt,
    watermarks: head.watermarks,
    // Only profile keys hold heads.
    state: profileOf(head.head, base) as S,
    base,
  };
}

/** The keys of the bases that these items, where they are profile heads, name. */
function baseKeysOf(items: Iterable<StoredItem>): HotKey[] {
  const keys: HotKey[] = [];
  for (const item of items) {
    const pointer = item[BASE_POINTER_ATTRIBUTE];
    if (isProfileHead(item) && typeof pointer === 'string') keys.push({ pk: String(item.pk), sk: pointer });
  }
  return keys;
}

const DAY_SECONDS = 86_400;

/**
 * An identity item is written again, only to push its expiry on, once its expiry is this much
 * sooner than a write now would give it: at most a write a day per active id.
 */
const IDENTITY_REFRESH_SECONDS = DAY_SECONDS;

/** Expiry rules: the clock, and how long ids outlive their last activity. */
interface Expiries {
  nowSeconds: number;
  idleSeconds: number;
}

/**
 * When a key's item expires (epoch seconds), or undefined when it never does:
 * - a profile, `profileIdleDays` after the last batch that wrote it: every event of the id writes
 *   it. By the processing clock, not the event's time, which a client sets and a backfill dates in
 *   the past;
 * - an identity, the same, written again at least daily while the id shows up as a userId or in a
 *   link (see refreshedIdentity), so an id's identity lives as long as its profile does;
 * - a trend, long after its last update; an item's stats and neighbours name no one, and stay.
 */
function expiryOf(key: HotStateKey, state: AnyState, at: Expiries): number | undefined {
  switch (key.kind) {
    case 'profile':
    case 'identity':
      return at.nowSeconds + at.idleSeconds;
    case 'trend': {
      // A trend key holds a trend's state.
      const { ref } = state as TrendState;
      return Math.floor((Date.parse(ref) + TREND_RETENTION_WINDOWS * WINDOW_MS[key.window]) / 1000);
    }
    case 'item':
      return undefined;
  }
}

/** The longest first wait after losing an optimistic write; it doubles with each loss. */
const CONFLICT_BASE_DELAY_MS = 4;

/**
 * Waits a random while (full jitter) before a write that lost its condition reads again: two
 * writers of one key (two shards' batches, or a batch beside an erasure) that retried at once would
 * meet again, and the faster one could starve the other of all its attempts.
 */
const conflictBackoff = (attempt: number): Promise<void> =>
  sleep(Math.random() * CONFLICT_BASE_DELAY_MS * 2 ** attempt);

/**
 * Whether an item's expiry has passed. DynamoDB deletes such items within days, not at once, so
 * until it does they are read as gone; dynalite never does, and DynamoDbTtlSweeper deletes them.
 */
const expired = (entity: { expiresAt: number | undefined }, nowSeconds: number): boolean =>
  entity.expiresAt !== undefined && entity.expiresAt <= nowSeconds;

/**
 * The hot tier on DynamoDB (dynalite locally), written once per key and batch. The batch steps are
 * the engine's (`applyHotBatch` in src/realtime/hot-batch.ts); this adapter supplies their
 * persistence. Without transactions, idempotency lives in each item: the engine's per-shard
 * sequence watermarks are stored with the key's state, an optimistic version guards each
 * read-modify-write, and a profile remembers the messageIds it applied, so a resend counts once.
 * See docs/hot-tier.md.
 */
export class DynamoDbHotStore implements HotStore, HotTierEraser, HotTierFolder {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly retry: RetryPolicy;
  private readonly interactions: InteractionModel | undefined;
  private readonly profileLimits: Partial<ProfileLimits> | undefined;
  private readonly identity: IdentityRules | undefined;
  private readonly idleSeconds: number;
  private readonly now: () => number;
  private readonly pending: DynamoDbPendingLog;
  private readonly foldBudgetBytes: number;
  /** Base items by keyString: a base is never changed, so a copy read once stays true. */
  private readonly baseCache: ReadCache<StoredItem>;

  constructor(options: DynamoDbHotStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_WRITE_CONCURRENCY);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 8);
    this.retry = {
      attempts: Math.max(1, options.throttleAttempts ?? 5),
      baseDelayMs: options.throttleBaseDelayMs ?? 50,
    };
    this.interactions = options.interactions;
    this.profileLimits = options.profileLimits;
    this.identity = options.identity;
    const idleDays = options.profileIdleDays ?? DEFAULT_PROFILE_IDLE_DAYS;
    if (!Number.isSafeInteger(idleDays) || idleDays < 1) {
      throw new RangeError(`profileIdleDays must be a positive whole number, got ${idleDays}`);
    }
    this.idleSeconds = idleDays * DAY_SECONDS;
    this.now = options.now ?? Date.now;
    this.pending = new DynamoDbPendingLog(this.client, this.tableName, this.retry);
    this.foldBudgetBytes = options.foldBudgetBytes ?? DEFAULT_FOLD_BUDGET_BYTES;
    const cacheEntries = options.baseCacheEntries ?? DEFAULT_BASE_CACHE_ENTRIES;
    this.baseCache = new ReadCache(cacheEntries > 0 ? BASE_CACHE_MS : 0, Math.max(1, cacheEntries), this.now);
  }

  /** Applies a batch of activity, one write per key; what was applied before changes nothing. */
  async applyActivity(activity: HotActivity[], report?: FailureReporter): Promise<void> {
    try {
      await applyHotBatch(
        activity,
        {
          load: (keys) => this.load(keys),
          appendPending: (entries) => this.pending.append(entries),
        },
        {
          interactions: this.interactions,
          profileLimits: this.profileLimits,
          report,
          identity: this.identity,
        },
      );
    } catch (error) {
      throw toHotStoreError(error, 'apply activity');
    }
  }

  /** Folds the oldest pending item and trend changes into items and trends (docs/hot-tier.md#the-fold). */
  async foldPending(): Promise<FoldOutcome> {
    try {
      return await foldPending(
        {
          readPending: (budget) => this.pending.read(budget),
          removePending: (entries) => this.pending.remove(entries),
          load: (keys) => this.load(keys),
        },
        this.foldBudgetBytes,
      );
    } catch (error) {
      throw toHotStoreError(error, 'fold pending changes');
    }
  }

  /** Reads one profile, or null when the id has never been seen. */
  async getUser(id: string): Promise<UserProfileRecord | null> {
    const key = userProfileKey(id);
    const { found, bases } = await this.readJoined([key], false);
    const entity = this.live(decodeStored<ProfileState>(found.get(keyString(key)), bases));
    return entity === null ? null : { ...entity.state, id };
  }

  /** Reads several ids' profiles and identities in BatchGets (eventually consistent, like getUser). */
  async readIds(ids: readonly string[]): Promise<Map<string, IdRecord>> {
    const { found, bases } = await this.readJoined(
      ids.flatMap((id) => [userProfileKey(id), identityKey(id)]),
      false,
    );
    const records = new Map<string, IdRecord>();
    for (const id of ids) {
      const profile =
        this.live(decodeStored<ProfileState>(found.get(keyString(userProfileKey(id))), bases))?.state ?? null;
      const identity = this.live(decode<IdentityState>(found.get(keyString(identityKey(id)))))?.state ?? null;
      if (profile !== null || identity !== null) records.set(id, { profile, identity });
    }
    return records;
  }

  /** Marks an id unlinked, with the same optimistic write as a batch's; false when it has no identity. */
  async unlink(id: string, at: string): Promise<boolean> {
    const key = identityStateKey(id);
    try {
      const read = decode<IdentityState>(await this.get(identityKey(id), true));
      if (this.live(read) === null) return false;
      const update: StateUpdate<typeof key> = {
        key,
        next: (current) =>
          current === null || identityState(current.state).unlinkedAt !== null
            ? null
            : { state: { ...current.state, unlinkedAt: at }, watermarks: current.watermarks },
      };
      await this.commit(update as StateUpdate, read, false);
      return true;
    } catch (error) {
      throw toHotStoreError(error, 'unlink an id');
    }
  }

  /**
   * Deletes the ids' profile and identity items, then scans every identity item for link claims
   * naming them and removes those claims through the same optimistic write as a batch's. A scan
   * is whole-table work, fine for a deletion's rarity; claims naming an id sit in other ids' items
   * with no index leading to them.
   */
  async eraseIds(ids: readonly string[]): Promise<number> {
    try {
      const keys = ids.flatMap((id) => [userProfileKey(id), identityKey(id)]);
      const found = await this.read(keys);
      const bases = (await Promise.all(ids.map((id) => this.profileBaseKeys(id)))).flat();
      await batchDelete(this.client, this.tableName, [...keys, ...bases], this.retry);
      for (const base of bases) this.baseCache.delete(keyString(base));
      let removed = found.size;
      const erased = new Set(ids);
      for await (const page of scanBySortKey(this.client, this.tableName, identityKey('').sk, this.retry)) {
        for (const item of page) {
          const entity = decode<IdentityState>(item);
          if (entity === null || withoutIds(entity.state, erased) === null) continue;
          const key = identityStateKey(String(item.id));
          const update: StateUpdate<typeof key> = {
            key,
            next: (current) => {
              const scrubbed = current === null ? null : withoutIds(current.state, erased);
              if (scrubbed === null || current === null) return null;
              removed += scrubbed.removed;
              return { state: scrubbed.state, watermarks: current.watermarks };
            },
          };
          await this.commit(update as StateUpdate, entity, false);
        }
      }
      return removed;
    } catch (error) {
      throw toHotStoreError(error, 'erase ids');
    }
  }

  /** Reads one item's stats and neighbours, or null when the item has never been seen. */
  async getItem(id: string): Promise<ItemRecord | null> {
    const entity = decode<ItemState>(await this.get(itemKey(id), false));
    if (entity === null) return null;
    const { neighbours, ...stats } = entity.state;
    return { id, stats, neighbours };
  }

  /** Reads several items' neighbour lists in BatchGets; unknown items are absent. */
  async getNeighbours(itemIds: string[]): Promise<Map<string, NeighbourEntry[]>> {
    const found = await this.read(itemIds.map(itemKey), false);
    const result = new Map<string, NeighbourEntry[]>();
    for (const id of itemIds) {
      const entity = decode<ItemState>(found.get(keyString(itemKey(id))));
      if (entity !== null) result.set(id, entity.state.neighbours);
    }
    return result;
  }

  /** Reads the trend of one event (null: every item event) in one window. */
  async getTrend(event: string | null, window: TrendWindow): Promise<TrendState | null> {
    return decode<TrendState>(await this.get(trendKey(event, window), false))?.state ?? null;
  }

  /** Reads keys in strongly consistent BatchGets; their commits assert the versions read here. */
  private async load(keys: readonly HotStateKey[]): Promise<StateSnapshot> {
    const { found, bases } = await this.readJoined(keys.map(hotKeyOf), true);
    // Decoded once per key, so the engine's read and the commit's first attempt share one object.
    const entities = new Map<string, Entity<AnyState> | null>();
    const entityOf = (key: HotStateKey): Entity<AnyState> | null => {
      const name = keyString(hotKeyOf(key));
      if (!entities.has(name)) entities.set(name, decodeStored<AnyState>(found.get(name), bases));
      return entities.get(name) ?? null;
    };
    return {
      // The key's kind says which state it holds. An expired profile or identity is gone to the
      // engine: a returning id starts afresh, while the write still asserts the version in the table.
      get: <K extends HotStateKey>(key: K) => this.current(key, entityOf(key)) as Entity<StateOf<K>> | null,
      commit: (updates) =>
        forEachLimited(updates, this.concurrency, (update) => this.commit(update, entityOf(update.key))),
    };
  }

  /**
   * Read-modify-write of one key: the update's next state from what was read, put back on
   * condition that nobody wrote the key since. On a conflict, read again (strongly consistent)
   * and redo; the update drops by watermark whatever the newer state already has. `read` is the
   * item as stored, expired or not: the engine sees an expired one as absent, the condition asserts
   * its version all the same. Only activity pushes an expiry on: an unlink or an erasure's scrub
   * (`activity` false) keeps the item's.
   */
  private async commit(update: StateUpdate, read: Entity<AnyState> | null, activity = true): Promise<void> {
    const key = hotKeyOf(update.key);
    let entity = read;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const current = this.current(update.key, entity);
      const next = update.next(current) ?? this.refreshedIdentity(update.key, current);
      if (next === null) return;
      const expiry =
        activity || entity?.expiresAt === undefined
          ? expiryOf(update.key, next.state, this.expiries())
          : entity.expiresAt;
      if (update.key.kind === 'profile' && expiry !== undefined) {
        const written = await this.putProfile(
          key,
          idOf(update.key),
          entity,
          current,
          next as Versioned<ProfileState>,
          expiry,
        );
        if (written) return;
        await conflictBackoff(attempt);
        const { found, bases } = await this.readJoined([key], true);
        entity = decodeStored<AnyState>(found.get(keyString(key)), bases);
        continue;
      }
      const item: StoredItem = {
        ...key,
        id: idOf(update.key),
        rev: (entity?.rev ?? 0) + 1,
        wm: next.watermarks,
        [STATE_ATTRIBUTE]: encodeState(next.state),
      };
      if (expiry !== undefined) item[TTL_ATTRIBUTE] = expiry;
      try {
        await withThrottleRetry(this.retry, 'write', () =>
          this.client.send(
            new PutCommand({
              TableName: this.tableName,
              Item: item,
              ConditionExpression: entity === null ? 'attribute_not_exists(#pk)' : '#rev = :rev',
              ExpressionAttributeNames: entity === null ? { '#pk': PARTITION_KEY } : { '#rev': 'rev' },
              ExpressionAttributeValues: entity === null ? undefined : { ':rev': entity.rev },
            }),
          ),
        );
        return;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      await conflictBackoff(attempt);
      entity = decode<AnyState>(await this.get(key, true));
    }
    // The kind of key only: a profile's key holds its id as sent, which may be personal data.
    throw new HotStoreError(
      `a ${key.sk} item kept changing under ${this.maxAttempts} attempts`,
      'HOT_STORE_CONFLICT',
    );
  }

  /**
   * Writes a profile's head, on condition that nobody wrote it since `entity` was read, after its
   * new base when the write rebases (profile-items.ts). False when the condition failed: the new
   * base, which no head names, is deleted again. After the head is written, the base it no longer
   * names is deleted. Deleting a base nobody names is tidying only: one left behind expires.
   */
  private async putProfile(
    key: HotKey,
    id: string,
    entity: Entity<AnyState> | null,
    current: Entity<AnyState> | null,
    next: Versioned<ProfileState>,
    expiresAt: number,
  ): Promise<boolean> {
    const plan = planProfileWrite({
      key,
      id,
      rev: (entity?.rev ?? 0) + 1,
      state: next.state,
      watermarks: next.watermarks,
      expiresAt,
      // An expired profile's base holds what expired with it: never joined to anything new.
      base: current === null ? null : (entity?.base ?? null),
    });
    if (plan.newBase !== null) {
      const newBase = plan.newBase;
      await withThrottleRetry(this.retry, 'write', () =>
        this.client.send(new PutCommand({ TableName: this.tableName, Item: newBase })),
      );
    }
    try {
      await withThrottleRetry(this.retry, 'write', () =>
        this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: plan.head,
            ConditionExpression: entity === null ? 'attribute_not_exists(#pk)' : '#rev = :rev',
            ExpressionAttributeNames: entity === null ? { '#pk': PARTITION_KEY } : { '#rev': 'rev' },
            ExpressionAttributeValues: entity === null ? undefined : { ':rev': entity.rev },
          }),
        ),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      if (plan.newBase !== null) await this.deleteBase({ pk: key.pk, sk: String(plan.newBase[SORT_KEY]) });
      return false;
    }
    if (plan.newBase !== null) {
      // The next batch of this profile, commonly the same session's, joins it without a read.
      const newBase = plan.newBase;
      this.baseCache.set(keyString({ pk: key.pk, sk: String(newBase[SORT_KEY]) }), Promise.resolve(newBase));
    }
    // A base that is gone (null) has nothing left to delete.
    const oldBase = entity?.base?.sk ?? null;
    if (oldBase !== null && oldBase !== plan.head[BASE_POINTER_ATTRIBUTE]) {
      await this.deleteBase({ pk: key.pk, sk: oldBase });
    }
    return true;
  }

  /** Deletes a base no head names; a failure leaves it to expire. */
  private async deleteBase(key: HotKey): Promise<void> {
    this.baseCache.delete(keyString(key));
    try {
      await withThrottleRetry(this.retry, 'delete', () =>
        this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { ...key } })),
      );
    } catch {
      // Nothing reads a base no head names, and its `ttl` removes it.
    }
  }

  /**
   * Reads keys and then the bases their profile heads name, for decodeStored. When an eventually
   * consistent read of the heads names a base that is gone (a head just replaced), the heads are
   * read again strongly consistent.
   */
  private async readJoined(
    keys: readonly HotKey[],
    consistent: boolean,
  ): Promise<{ found: Map<string, StoredItem>; bases: Map<string, StoredItem> }> {
    const found = await this.read([...keys], consistent);
    const named = baseKeysOf(found.values());
    const bases = await this.readBases(named);
    if (consistent || bases.size === named.length) return { found, bases };
    return this.readJoined(keys, true);
  }

  /**
   * Reads bases by key. A base is never changed, only replaced under a new key (profile-items.ts),
   * so any copy of it is current: one in memory is used as it is, and the others are read
   * eventually consistent, at half the read units of a strong read, which finds a base as written
   * or not at all. What that misses (a base written within about a second, or one gone) is read
   * again strongly consistent; a base missing then is gone.
   */
  private async readBases(keys: readonly HotKey[]): Promise<Map<string, StoredItem>> {
    const bases = new Map<string, StoredItem>();
    const unread: HotKey[] = [];
    for (const key of keys) {
      const cached = this.baseCache.peek(keyString(key));
      if (cached === undefined) unread.push(key);
      else bases.set(keyString(key), await cached);
    }
    if (unread.length === 0) return bases;
    const eventual = await this.read(unread, false);
    const missed = unread.filter((key) => !eventual.has(keyString(key)));
    const strong = missed.length === 0 ? new Map<string, StoredItem>() : await this.read(missed, true);
    for (const [name, item] of [...eventual, ...strong]) {
      bases.set(name, item);
      this.baseCache.set(name, Promise.resolve(item));
    }
    return bases;
  }

  /** The keys of every base item of an id, named by its head or left behind. */
  private async profileBaseKeys(id: string): Promise<HotKey[]> {
    const keys: HotKey[] = [];
    const pages = queryPartition(this.client, this.tableName, userProfileKey(id).pk, this.retry, {
      sortKeyPrefix: PROFILE_BASE_PREFIX,
      keysOnly: true,
    });
    for await (const page of pages)
      for (const item of page) keys.push({ pk: String(item.pk), sk: String(item.sk) });
    return keys;
  }

  /**
   * An identity the batch left as it was, to be written again as it is when its expiry lags a day
   * behind what a write now gives it: a batch loads the identities of every userId it holds and of
   * every id its events link, so a person who keeps coming back keeps their links. Null otherwise.
   */
  private refreshedIdentity(key: HotStateKey, current: Entity<AnyState> | null): Versioned<AnyState> | null {
    if (key.kind !== 'identity' || current === null) return null;
    const { nowSeconds, idleSeconds } = this.expiries();
    const due = nowSeconds + idleSeconds - IDENTITY_REFRESH_SECONDS;
    if (current.expiresAt !== undefined && current.expiresAt > due) return null;
    return { state: current.state, watermarks: current.watermarks };
  }

  /**
   * What the engine sees of a stored key: a profile or an identity once expired is gone. A trend
   * past its expiry has decayed to nothing and is read as it is, until DynamoDB deletes it.
   */
  private current<S>(key: HotStateKey, entity: Entity<S> | null): Entity<S> | null {
    return key.kind === 'profile' || key.kind === 'identity' ? this.live(entity) : entity;
  }

  /** The entity, or null once its expiry has passed. */
  private live<S>(entity: Entity<S> | null): Entity<S> | null {
    return entity !== null && expired(entity, Math.floor(this.now() / 1000)) ? null : entity;
  }

  private expiries(): Expiries {
    return { nowSeconds: Math.floor(this.now() / 1000), idleSeconds: this.idleSeconds };
  }

  private read(keys: HotKey[], consistent = true): Promise<Map<string, StoredItem>> {
    return batchGet(this.client, this.tableName, keys, consistent, this.retry);
  }

  private async get(key: HotKey, consistent: boolean): Promise<StoredItem | null> {
    const output = await withThrottleRetry(this.retry, 'read', () =>
      this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { ...key }, ConsistentRead: consistent }),
      ),
    );
    return output.Item ?? null;
  }
}

import {
  CreateTableCommand,
  DescribeTableCommand,
  waitUntilTableExists,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { byStreamOrder, type Contribution } from '../../../realtime/contribution';
import { defaultInteractionModel, type InteractionModel } from '../../../realtime/interactions';
import {
  reduceItem,
  reduceItemStats,
  type ItemChange,
  type ItemState,
  type NeighbourEntry,
} from '../../../realtime/items';
import {
  DEFAULT_PROFILE_LIMITS,
  reduceProfile,
  type ItemTouch,
  type PairDelta,
  type ProfileLimits,
  type ProfileState,
} from '../../../realtime/profile';
import { reduceTrend, WINDOW_MS, type TrendState, type TrendWindow } from '../../../realtime/trending';
import {
  batchGet,
  batchPut,
  forEachLimited,
  keyString,
  withThrottleRetry,
  type RetryPolicy,
  type StoredItem,
} from './dynamodb-batch';
import { HotStoreError } from '../errors';
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
  ANY_EVENT,
  itemKey,
  messageClaimKey,
  padSequenceNumber,
  trendKey,
  userProfileKey,
  type HotKey,
} from './hot-store-keys';
import type { HotActivity, HotStore, ItemRecord, UserProfileRecord } from '../port';

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
  /** How long a messageId claim is kept: longer than any redelivery or client resend. */
  messageClaimTtlSeconds?: number;
  interactions?: InteractionModel;
  profileLimits?: ProfileLimits;
}

/** Something applied at a place in the stream: what watermarks filter. */
interface Positioned {
  shardId: string;
  sequence: string;
}

/** A stored entity: its state plus the bookkeeping that makes writes idempotent and safe. */
interface Entity<S> {
  /** Optimistic-lock version: every write asserts the version it read. */
  rev: number;
  /** Per shard, the highest (padded) sequence number applied to this key. */
  wm: Record<string, string>;
  state: S;
}

const WINDOWS: readonly TrendWindow[] = ['HOUR', 'DAY'];
/** A trend nobody touched for this many windows has decayed to nothing and may expire. */
const TREND_RETENTION_WINDOWS = 48;
const DEFAULT_CLAIM_TTL_SECONDS = 7 * 24 * 3600;
const META = new Set([PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, 'id', 'rev', 'wm', 'owner']);

function decode<S>(item: StoredItem | undefined | null): Entity<S> | null {
  if (item === undefined || item === null) return null;
  const state: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) if (!META.has(name)) state[name] = value;
  return {
    rev: Number(item.rev ?? 0),
    wm: (item.wm as Record<string, string> | undefined) ?? {},
    // Only this adapter writes these items, in exactly the shape of S.
    state: state as S,
  };
}

function normaliseTime(value: string, what: string, profileId: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw new HotStoreError(
      `Activity of profile ${profileId} has an invalid ${what} "${value}"`,
      'HOT_STORE_INVALID_ACTIVITY',
    );
  }
  // A fixed-width UTC form, so string comparison is chronological.
  return new Date(time).toISOString();
}

/**
 * A JSON number DynamoDB can store as a number, else its text: DynamoDB refuses magnitudes past
 * 1e126 or below 1e-130, and the SDK refuses integers past 2^53 as imprecise. Non-integers are
 * always below 2^53, so only their small end needs checking.
 */
function storableNumber(n: number): number | string {
  const storable = Number.isInteger(n) ? Number.isSafeInteger(n) : Math.abs(n) >= 1e-130;
  return storable ? n : String(n);
}

/** Traits as the hot tier can store them, numbers out of DynamoDB's range kept as text. */
function storableTraits(value: unknown): unknown {
  if (typeof value === 'number') return storableNumber(value);
  if (Array.isArray(value)) return value.map(storableTraits);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storableTraits(v)]));
  return value;
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

/**
 * The hot tier on DynamoDB (dynalite locally), written once per key and batch. Without
 * transactions, idempotency lives in each item: a per-shard sequence watermark filters what a key
 * has already applied, an optimistic version guards the read-modify-write, and a claim per
 * messageId drops resent events. Derived items (stats, neighbours, trends) are written before the
 * profiles they are derived from, so a crash in between recomputes the same deltas on redelivery.
 * See docs/hot-tier.md.
 */
export class DynamoDbHotStore implements HotStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly retry: RetryPolicy;
  private readonly claimTtlSeconds: number;
  private readonly interactions: InteractionModel;
  private readonly profileLimits: ProfileLimits;

  constructor(options: DynamoDbHotStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 8);
    this.retry = {
      attempts: Math.max(1, options.throttleAttempts ?? 5),
      baseDelayMs: options.throttleBaseDelayMs ?? 50,
    };
    this.claimTtlSeconds = options.messageClaimTtlSeconds ?? DEFAULT_CLAIM_TTL_SECONDS;
    this.interactions = options.interactions ?? defaultInteractionModel;
    this.profileLimits = options.profileLimits ?? DEFAULT_PROFILE_LIMITS;
  }

  /** Applies a batch of activity, one write per key; what was applied before changes nothing. */
  async applyActivity(activity: HotActivity[]): Promise<void> {
    try {
      const contributions = this.normalise(activity);
      if (contributions.length === 0) return;
      const fresh = await this.claimMessages(contributions);
      const profiles = groupBy(fresh, (c) => c.profileId);
      const stored = await this.read([...profiles.keys()].map(userProfileKey));
      const plans: Array<{ id: string; entity: Entity<ProfileState> | null; pending: Contribution[] }> = [];
      const touches: ItemTouch[] = [];
      const pairs: PairDelta[] = [];
      for (const [id, all] of profiles) {
        const entity = decode<ProfileState>(stored.get(keyString(userProfileKey(id))));
        const pending = unapplied(entity, all);
        if (pending.length === 0) continue;
        const outcome = reduceProfile(entity?.state ?? null, pending, this.interactions, this.profileLimits);
        touches.push(...outcome.touches);
        pairs.push(...outcome.pairs);
        plans.push({ id, entity, pending });
      }
      await this.applyDerived(touches, pairs);
      await forEachLimited(plans, this.concurrency, async ({ id, entity, pending }) => {
        await this.commit(
          userProfileKey(id),
          id,
          entity,
          pending,
          (state, p) => reduceProfile(state, p, this.interactions, this.profileLimits).state,
        );
      });
    } catch (error) {
      throw toHotStoreError(error, 'apply activity');
    }
  }

  /** Reads one profile, or null when the id has never been seen. */
  async getUser(id: string): Promise<UserProfileRecord | null> {
    const entity = decode<ProfileState>(await this.get(userProfileKey(id), false));
    return entity === null ? null : { ...entity.state, id };
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

  /**
   * Validates everything before any write, so a bad record cannot leave a batch half applied.
   * One stream record is one contribution even if handed over twice; of several records with one
   * messageId, the first in stream order stands for it.
   */
  private normalise(activity: HotActivity[]): Contribution[] {
    const byPosition = new Map<string, Contribution>();
    for (const a of activity) {
      if (a.traits !== null && (typeof a.traits !== 'object' || Array.isArray(a.traits))) {
        throw new HotStoreError(`Traits of ${a.messageId} are not an object`, 'HOT_STORE_INVALID_ACTIVITY');
      }
      if (!Array.isArray(a.itemIds) || !a.itemIds.every((id) => typeof id === 'string')) {
        throw new HotStoreError(
          `Items of ${a.messageId} are not a list of ids`,
          'HOT_STORE_INVALID_ACTIVITY',
        );
      }
      const c: Contribution = {
        messageId: a.messageId,
        profileId: a.profileId,
        event: a.event,
        timestamp: normaliseTime(a.timestamp, 'timestamp', a.profileId),
        receivedAt: normaliseTime(a.receivedAt, 'receivedAt', a.profileId),
        shardId: a.shardId,
        sequence: padSequenceNumber(a.sequenceNumber),
        itemIds: a.itemIds,
        traits: a.traits === null ? null : (storableTraits(a.traits) as Record<string, unknown>),
      };
      byPosition.set(`${c.shardId}/${c.sequence}`, c);
    }
    const byMessage = new Map<string, Contribution>();
    for (const c of [...byPosition.values()].sort(byStreamOrder)) {
      if (!byMessage.has(c.messageId)) byMessage.set(c.messageId, c);
    }
    return [...byMessage.values()];
  }

  /**
   * Claims each messageId for the stream record carrying it (BatchGet, then BatchWrite of the
   * missing claims) and keeps the records whose claim is theirs: a first delivery, or a redelivery
   * of the very same record. A resend of the messageId in a later record finds someone else's
   * claim and is dropped. Two records with one messageId are never in flight together because the
   * edge partitions by profile, so they share a shard and its consumer handles them in order.
   */
  private async claimMessages(contributions: Contribution[]): Promise<Contribution[]> {
    const claims = await this.read(contributions.map((c) => messageClaimKey(c.messageId)));
    const ttl = Math.floor(Date.now() / 1000) + this.claimTtlSeconds;
    const fresh: Contribution[] = [];
    const missing: StoredItem[] = [];
    for (const c of contributions) {
      const owner = `${c.shardId}/${c.sequence}`;
      const claim = claims.get(keyString(messageClaimKey(c.messageId)));
      if (claim === undefined) {
        missing.push({ ...messageClaimKey(c.messageId), owner, [TTL_ATTRIBUTE]: ttl });
        fresh.push(c);
      } else if (claim.owner === owner) {
        fresh.push(c);
      }
    }
    await batchPut(this.client, this.tableName, missing, this.retry);
    return fresh;
  }

  /**
   * One write per item (stats and neighbours together) and per trend. Every item's new weight is
   * worked out in memory first, so neighbours are scored against this batch's popularity.
   */
  private async applyDerived(touches: ItemTouch[], pairs: PairDelta[]): Promise<void> {
    if (touches.length === 0) return;
    const changes = groupBy<ItemChange>([...touches, ...pairs], (c) => c.itemId);
    const trends = new Map<string, { event: string | null; window: TrendWindow; hits: ItemTouch[] }>();
    for (const window of WINDOWS) {
      for (const touch of touches) {
        for (const event of [touch.event, null]) {
          const key = keyString(trendKey(event, window));
          const group = trends.get(key) ?? { event, window, hits: [] };
          group.hits.push(touch);
          trends.set(key, group);
        }
      }
    }
    const stored = await this.read([
      ...[...changes.keys()].map(itemKey),
      ...[...trends.values()].map((t) => trendKey(t.event, t.window)),
    ]);

    const items = [...changes].map(([id, itemChanges]) => ({
      id,
      changes: itemChanges,
      entity: decode<ItemState>(stored.get(keyString(itemKey(id)))),
    }));
    const weights = new Map<string, number>();
    for (const { id, changes: itemChanges, entity } of items) {
      const pending = unapplied(entity, itemChanges).filter((c): c is ItemTouch => !('otherId' in c));
      weights.set(id, reduceItemStats(entity?.state ?? null, pending).weight);
    }

    const writes: Array<() => Promise<unknown>> = items.map(
      ({ id, changes: itemChanges, entity }) =>
        () =>
          this.commit(itemKey(id), id, entity, itemChanges, (state: ItemState | null, pending) =>
            reduceItem(state, pending, (other) => weights.get(other)),
          ),
    );
    for (const { event, window, hits } of trends.values()) {
      const key = trendKey(event, window);
      const ttl = (state: TrendState) =>
        Math.floor((Date.parse(state.ref) + TREND_RETENTION_WINDOWS * WINDOW_MS[window]) / 1000);
      writes.push(() =>
        this.commit(
          key,
          event ?? ANY_EVENT,
          decode<TrendState>(stored.get(keyString(key))),
          hits,
          (state: TrendState | null, p) => reduceTrend(state, p, window),
          ttl,
        ),
      );
    }
    await forEachLimited(writes, this.concurrency, async (write) => {
      await write();
    });
  }

  /**
   * Read-modify-write of one key: drop what the key's watermarks say it has applied, reduce the
   * rest into its state, and put it back on condition that nobody wrote it since we read it. On a
   * conflict, read again (strongly consistent) and redo. Returns the state now stored.
   */
  private async commit<S, C extends Positioned>(
    key: HotKey,
    id: string,
    read: Entity<S> | null,
    contributions: C[],
    reduce: (state: S | null, pending: C[]) => S,
    ttlOf?: (state: S) => number,
  ): Promise<S> {
    let entity = read;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const pending = unapplied(entity, contributions);
      if (entity !== null && pending.length === 0) return entity.state;
      const state = reduce(entity?.state ?? null, pending);
      const wm = { ...entity?.wm };
      for (const c of pending) if (c.sequence > (wm[c.shardId] ?? '')) wm[c.shardId] = c.sequence;
      const item: StoredItem = { ...state, ...key, id, rev: (entity?.rev ?? 0) + 1, wm };
      if (ttlOf) item[TTL_ATTRIBUTE] = ttlOf(state);
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
        return state;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      entity = decode<S>(await this.get(key, true));
    }
    throw new HotStoreError(
      `${key.pk} ${key.sk} kept changing under ${this.maxAttempts} attempts`,
      'HOT_STORE_CONFLICT',
    );
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

/** What a key has not applied yet, by its per-shard watermarks. */
function unapplied<C extends Positioned>(entity: Entity<unknown> | null, contributions: C[]): C[] {
  if (entity === null) return contributions;
  return contributions.filter((c) => c.sequence > (entity.wm[c.shardId] ?? ''));
}

import {
  CreateTableCommand,
  DescribeTableCommand,
  waitUntilTableExists,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  HotStoreError,
  isConditionalCheckFailed,
  isResourceInUse,
  isResourceNotFound,
  isThrottling,
  toHotStoreError,
} from './dynamodb-errors';
import {
  PARTITION_KEY,
  SORT_KEY,
  padSequenceNumber,
  userProfileKey,
  watermarkAttribute,
  type HotKey,
} from './hot-store-keys';
import type { HotStore, ProfileActivity, UserProfileRecord } from './ports';

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
  /** How many profiles are written at once. */
  concurrency?: number;
  /** Optimistic attempts per profile and shard before giving up with HOT_STORE_CONFLICT. */
  maxAttempts?: number;
  /** Attempts per call while DynamoDB throttles, on top of the SDK's own retries. */
  throttleAttempts?: number;
  throttleBaseDelayMs?: number;
}

/** One stream record, normalised so that string order is time / sequence order. */
interface Contribution {
  event: string;
  timestamp: string;
  sequence: string;
}

interface Aggregate {
  count: number;
  first: string;
  last: string;
  lastEvent: string;
  lastSequence: string;
  minSequence: string;
  maxSequence: string;
}

/** What we believe about the stored item; the write's condition asserts exactly this belief. */
interface Plan {
  /** The stored firstSeen is later than ours (a late event): overwrite it. */
  lateFirst: boolean;
  /** Ours is the newest activity: overwrite lastSeen/lastEvent. */
  newerLast: boolean;
}

interface StoredProfile {
  eventCount?: number;
  firstSeen?: string;
  lastSeen?: string;
  lastEvent?: string;
  lastSeq?: string;
  [attribute: string]: unknown;
}

function normaliseTimestamp(activity: ProfileActivity): string {
  const time = Date.parse(activity.timestamp);
  if (Number.isNaN(time)) {
    throw new HotStoreError(
      `Activity of profile ${activity.profileId} has an invalid timestamp "${activity.timestamp}"`,
      'HOT_STORE_INVALID_ACTIVITY',
    );
  }
  // A fixed-width UTC form, so comparisons inside condition expressions are chronological.
  return new Date(time).toISOString();
}

function isLater(
  a: { timestamp: string; sequence: string },
  b: { timestamp: string; sequence: string },
): boolean {
  return a.timestamp > b.timestamp || (a.timestamp === b.timestamp && a.sequence > b.sequence);
}

function aggregate(contributions: Contribution[]): Aggregate {
  const [head, ...rest] = contributions;
  if (head === undefined) throw new Error('aggregate() needs at least one contribution');
  let first = head.timestamp;
  let latest = head;
  let minSequence = head.sequence;
  let maxSequence = head.sequence;
  for (const c of rest) {
    if (c.timestamp < first) first = c.timestamp;
    if (isLater(c, latest)) latest = c;
    if (c.sequence < minSequence) minSequence = c.sequence;
    if (c.sequence > maxSequence) maxSequence = c.sequence;
  }
  return {
    count: contributions.length,
    first,
    last: latest.timestamp,
    lastEvent: latest.event,
    lastSequence: latest.sequence,
    minSequence,
    maxSequence,
  };
}

function planFor(stored: StoredProfile | null, agg: Aggregate): Plan {
  if (stored === null || stored.firstSeen === undefined || stored.lastSeen === undefined) {
    return { lateFirst: false, newerLast: true };
  }
  return {
    lateFirst: stored.firstSeen > agg.first,
    newerLast: isLater(
      { timestamp: agg.last, sequence: agg.lastSequence },
      { timestamp: stored.lastSeen, sequence: stored.lastSeq ?? '' },
    ),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The hot tier on DynamoDB (dynalite locally). Idempotency without transactions: each profile
 * item keeps, per shard, the highest sequence number applied to it, and every write is
 * conditional on that watermark, so each record's contribution lands at most once.
 */
export class DynamoDbHotStore implements HotStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly throttleAttempts: number;
  private readonly throttleBaseDelayMs: number;

  constructor(options: DynamoDbHotStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 8);
    this.throttleAttempts = Math.max(1, options.throttleAttempts ?? 5);
    this.throttleBaseDelayMs = options.throttleBaseDelayMs ?? 50;
  }

  /** Applies a batch of activity; activity at or below a profile's per-shard watermark is ignored. */
  async applyProfileActivity(activity: ProfileActivity[]): Promise<void> {
    const groups = this.group(activity);
    const profiles = [...groups.entries()];
    let next = 0;
    let failure: unknown;
    // Shards of one profile are written one after another: they touch the same item, and
    // running them side by side would only make their conditions fail and retry.
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < profiles.length) {
        const entry = profiles[next++];
        if (entry === undefined) return;
        const [profileId, shards] = entry;
        try {
          for (const [shardId, contributions] of shards) {
            await this.applyShard(profileId, shardId, contributions);
          }
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, profiles.length) }, worker));
    if (failure !== undefined) throw toHotStoreError(failure, 'apply profile activity');
  }

  /** Reads one profile, or null when the id has never been seen. */
  async getUser(id: string): Promise<UserProfileRecord | null> {
    const item = await this.read(userProfileKey(id), false);
    if (item === null || item.firstSeen === undefined || item.lastSeen === undefined) return null;
    return {
      id,
      eventCount: Number(item.eventCount ?? 0),
      firstSeen: item.firstSeen,
      lastSeen: item.lastSeen,
      lastEvent: item.lastEvent ?? '',
    };
  }

  /** Validates everything before any write, so a bad record cannot leave a batch half applied. */
  private group(activity: ProfileActivity[]): Map<string, Map<string, Contribution[]>> {
    const groups = new Map<string, Map<string, Map<string, Contribution>>>();
    for (const a of activity) {
      const contribution: Contribution = {
        event: a.event,
        timestamp: normaliseTimestamp(a),
        sequence: padSequenceNumber(a.sequenceNumber),
      };
      let shards = groups.get(a.profileId);
      if (shards === undefined) groups.set(a.profileId, (shards = new Map()));
      let bySequence = shards.get(a.shardId);
      if (bySequence === undefined) shards.set(a.shardId, (bySequence = new Map()));
      // One stream record is one contribution, even if the caller hands it over twice.
      bySequence.set(contribution.sequence, contribution);
    }
    return new Map(
      [...groups].map(([profileId, shards]) => [
        profileId,
        new Map([...shards].map(([shardId, bySequence]) => [shardId, [...bySequence.values()]])),
      ]),
    );
  }

  /**
   * One conditional UpdateItem per profile and shard. The first attempt assumes the common case
   * (new records, newest activity, no late events); when its condition fails we read the item,
   * drop what the watermark says is applied, and retry with a condition matching what we read.
   */
  private async applyShard(profileId: string, shardId: string, contributions: Contribution[]): Promise<void> {
    const key = userProfileKey(profileId);
    const watermark = watermarkAttribute(shardId);
    let pending = contributions;
    let stored: StoredProfile | null = null;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      if (pending.length === 0) return;
      const agg = aggregate(pending);
      try {
        await this.update(key, profileId, watermark, agg, planFor(stored, agg));
        return;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      stored = await this.read(key, true);
      const applied = stored?.[watermark];
      if (typeof applied === 'string') pending = pending.filter((c) => c.sequence > applied);
    }
    throw new HotStoreError(
      `Profile ${profileId} (shard ${shardId}) kept changing under ${this.maxAttempts} attempts`,
      'HOT_STORE_CONFLICT',
    );
  }

  private async update(key: HotKey, profileId: string, watermark: string, agg: Aggregate, plan: Plan) {
    const set = ['#wm = :maxSeq', '#id = :id'];
    const conditions = ['(attribute_not_exists(#wm) OR #wm < :minSeq)'];
    const values: Record<string, unknown> = {
      ':maxSeq': agg.maxSequence,
      ':minSeq': agg.minSequence,
      ':id': profileId,
      ':n': agg.count,
      ':first': agg.first,
      ':last': agg.last,
      ':lastSeq': agg.lastSequence,
    };
    if (plan.lateFirst) {
      set.push('#firstSeen = :first');
      conditions.push('#firstSeen > :first');
    } else {
      set.push('#firstSeen = if_not_exists(#firstSeen, :first)');
      conditions.push('(attribute_not_exists(#firstSeen) OR #firstSeen <= :first)');
    }
    if (plan.newerLast) {
      set.push('#lastSeen = :last', '#lastEvent = :lastEvent', '#lastSeq = :lastSeq');
      values[':lastEvent'] = agg.lastEvent;
      conditions.push(
        '(attribute_not_exists(#lastSeen) OR #lastSeen < :last OR (#lastSeen = :last AND #lastSeq < :lastSeq))',
      );
    } else {
      conditions.push('(#lastSeen > :last OR (#lastSeen = :last AND #lastSeq >= :lastSeq))');
    }
    const names: Record<string, string> = {
      '#wm': watermark,
      '#id': 'id',
      '#eventCount': 'eventCount',
      '#firstSeen': 'firstSeen',
      '#lastSeen': 'lastSeen',
      '#lastSeq': 'lastSeq',
    };
    // DynamoDB rejects names that no expression uses.
    if (plan.newerLast) names['#lastEvent'] = 'lastEvent';
    await this.withThrottleRetry('update profile', () =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { ...key },
          UpdateExpression: `SET ${set.join(', ')} ADD #eventCount :n`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  private async read(key: HotKey, consistent: boolean): Promise<StoredProfile | null> {
    const output = await this.withThrottleRetry('read profile', () =>
      this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { ...key }, ConsistentRead: consistent }),
      ),
    );
    return (output.Item as StoredProfile | undefined) ?? null;
  }

  /** Retries throttling with jittered exponential backoff; lets conditional failures through untouched. */
  private async withThrottleRetry<T>(action: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (isConditionalCheckFailed(error)) throw error;
        if (!isThrottling(error)) throw toHotStoreError(error, action);
        if (attempt >= this.throttleAttempts) {
          throw new HotStoreError(`Hot store ${action} throttled ${attempt} times`, 'HOT_STORE_THROTTLED', {
            cause: error,
          });
        }
        const ceiling = this.throttleBaseDelayMs * 2 ** (attempt - 1);
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
      }
    }
  }
}

import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { batchDelete, type RetryPolicy } from '../../sinks/hot-tier/dynamodb/dynamodb-batch';
import type { LiveEventFilter } from '../live-event';
import { LiveStoreError } from './errors';

/**
 * API Gateway closes every WebSocket connection after 2 hours; items live a little longer, so the
 * TTL never needs refreshing and still removes what a lost `$disconnect` left behind.
 */
export const CONNECTION_TTL_SECONDS = 2 * 3600 + 300;

/** A graphql-ws connection: `keyId` is set once `connection_init` carried a key with LIVE_READ. */
export interface LiveConnection {
  connectionId: string;
  /** The Origin header of the handshake, checked against the key's allowed origins at init. */
  origin: string | null;
  keyId: string | null;
  /** Subscriptions the connection holds now. */
  subscriptions: number;
  /** Epoch seconds; the table's TTL attribute. */
  expiresAt: number;
}

/** What a subscriber asked for: its document, checked at subscribe, re-run for every event it is sent. */
export interface LiveSubscriptionRequest {
  query: string;
  variables: Record<string, unknown> | null;
  operationName: string | null;
}

export interface LiveSubscription {
  connectionId: string;
  /** The client's id for it (graphql-ws `subscribe` id). */
  subscriptionId: string;
  keyId: string;
  request: LiveSubscriptionRequest;
  filter: LiveEventFilter | null;
  expiresAt: number;
}

export type AddSubscriptionOutcome = 'added' | 'duplicate' | 'connection-full' | 'table-full';

export interface LiveConnectionTableOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  now?: () => number;
}

/** Every subscription sits in this one partition, so a publish reads them all with one Query. */
const SUBSCRIPTIONS_PK = 'SUBS';
const CONNECTION_SK = 'CONN';
const connectionPk = (connectionId: string) => `CONN#${connectionId}`;
const subscriptionSk = (connectionId: string, subscriptionId: string) => `${connectionId}#${subscriptionId}`;
const RATE_SK_PREFIX = 'RATE#';

/**
 * Deletes DynamoDB leaves unprocessed are sent again a few times, briefly: a `$disconnect` or a
 * publish waits on them, and what still remains expires with its TTL.
 */
const REMOVAL_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 20 };

/** A Query of this table, as given to queryPages: the table and the page's start are added. */
type TableQuery = Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>;

/**
 * The connections table (DynamoDB; dynalite in tests). Items:
 * - `CONN#<connection>` / `CONN`: the connection, its key once initialised, its subscription count;
 * - `SUBS` / `<connection>#<subscription>`: one per subscription, all in one partition (the table-wide
 *   cap keeps it to a few hundred small items, well under a partition's limits);
 * - `CONN#<connection>` / `RATE#<subscription>`: the subscription's rate counter and dropped count,
 *   in the connection's own partition so publishes do not all write to `SUBS`.
 * Every item carries `expiresAt`, the TTL attribute.
 */
export class LiveConnectionTable {
  private readonly now: () => number;

  constructor(private readonly options: LiveConnectionTableOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Records a new connection (`$connect`). */
  async addConnection(connectionId: string, origin: string | null): Promise<void> {
    const item = {
      pk: connectionPk(connectionId),
      sk: CONNECTION_SK,
      connectionId,
      origin,
      subscriptions: 0,
      expiresAt: this.seconds() + CONNECTION_TTL_SECONDS,
    };
    await this.run('record a connection', () =>
      this.options.client.send(new PutCommand({ TableName: this.options.tableName, Item: item })),
    );
  }

  /** The connection, or null when it is unknown or past its TTL. */
  async connection(connectionId: string): Promise<LiveConnection | null> {
    const output = await this.run('read a connection', () =>
      this.options.client.send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: { pk: connectionPk(connectionId), sk: CONNECTION_SK },
          ConsistentRead: true,
        }),
      ),
    );
    const item = output.Item;
    if (!item || Number(item.expiresAt) <= this.seconds()) return null;
    return {
      connectionId,
      origin: typeof item.origin === 'string' ? item.origin : null,
      keyId: typeof item.keyId === 'string' ? item.keyId : null,
      subscriptions: Number(item.subscriptions ?? 0),
      expiresAt: Number(item.expiresAt),
    };
  }

  /**
   * Marks the connection initialised with `keyId`; false when it was already (a second
   * `connection_init`) or is gone.
   */
  async initialise(connectionId: string, keyId: string): Promise<boolean> {
    try {
      await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: connectionPk(connectionId), sk: CONNECTION_SK },
          UpdateExpression: 'SET keyId = :key',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(keyId)',
          ExpressionAttributeValues: { ':key': keyId },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new LiveStoreError('Could not initialise a live connection', { cause: error });
    }
  }

  /**
   * Adds a subscription, within `perConnection` on its connection and about `total` in the table:
   * the per-connection count is exact (a conditional counter); the table-wide one is a count read
   * just before, so subscribes racing each other may pass it by as many as race.
   */
  async addSubscription(
    subscription: Omit<LiveSubscription, 'expiresAt'>,
    limits: { perConnection: number; total: number },
  ): Promise<AddSubscriptionOutcome> {
    const { connectionId, subscriptionId } = subscription;
    const key = { pk: SUBSCRIPTIONS_PK, sk: subscriptionSk(connectionId, subscriptionId) };
    const existing = await this.run('read a live subscription', () =>
      this.options.client.send(
        new GetCommand({ TableName: this.options.tableName, Key: key, ConsistentRead: true }),
      ),
    );
    if (existing.Item) return 'duplicate';
    if ((await this.subscriptionCount()) >= limits.total) return 'table-full';
    try {
      await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: connectionPk(connectionId), sk: CONNECTION_SK },
          UpdateExpression: 'ADD subscriptions :one',
          ConditionExpression: 'attribute_exists(pk) AND subscriptions < :max',
          ExpressionAttributeValues: { ':one': 1, ':max': limits.perConnection },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return 'connection-full';
      throw new LiveStoreError('Could not count a live subscription', { cause: error });
    }
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: {
            ...key,
            connectionId,
            subscriptionId,
            keyId: subscription.keyId,
            // As text: a client's variables may hold map keys DynamoDB refuses (an empty one).
            request: JSON.stringify(subscription.request),
            filter: subscription.filter,
            expiresAt: this.seconds() + CONNECTION_TTL_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'added';
    } catch (error) {
      await this.uncount(connectionId);
      // The same id subscribed twice at once: the second finds the first's item.
      if (isConditionFailure(error)) return 'duplicate';
      throw new LiveStoreError('Could not store a live subscription', { cause: error });
    }
  }

  /** Removes one subscription (graphql-ws `complete`); a no-op for an unknown one. */
  async removeSubscription(connectionId: string, subscriptionId: string): Promise<void> {
    const output = await this.run('remove a live subscription', () =>
      this.options.client.send(
        new DeleteCommand({
          TableName: this.options.tableName,
          Key: { pk: SUBSCRIPTIONS_PK, sk: subscriptionSk(connectionId, subscriptionId) },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    if (!output.Attributes) return;
    await this.uncount(connectionId);
    await this.run('remove a rate counter', () =>
      this.options.client.send(
        new DeleteCommand({
          TableName: this.options.tableName,
          Key: { pk: connectionPk(connectionId), sk: `${RATE_SK_PREFIX}${subscriptionId}` },
        }),
      ),
    );
  }

  /** Removes a connection and everything it holds (`$disconnect`, or a publish that found it gone). */
  async removeConnection(connectionId: string): Promise<void> {
    const [subscriptions, own] = await Promise.all([
      this.keys({ pk: SUBSCRIPTIONS_PK, skPrefix: `${connectionId}#` }),
      this.keys({ pk: connectionPk(connectionId) }),
    ]);
    await this.deleteAll([...subscriptions, ...own]);
  }

  /** Every live subscription (past-TTL ones left out), for a publish. */
  async subscriptions(): Promise<LiveSubscription[]> {
    const now = this.seconds();
    const items = await this.query({ pk: SUBSCRIPTIONS_PK });
    return items
      .filter((item) => Number(item.expiresAt) > now)
      .map((item) => ({
        connectionId: String(item.connectionId),
        subscriptionId: String(item.subscriptionId),
        keyId: String(item.keyId),
        request: JSON.parse(String(item.request)) as LiveSubscriptionRequest,
        filter: (item.filter as LiveEventFilter | null | undefined) ?? null,
        expiresAt: Number(item.expiresAt),
      }));
  }

  /**
   * The filters of every live subscription (null: unfiltered), for the edge to hand the publisher
   * only events someone may see: one Query of the small subscriptions partition. A subscription
   * whose connection vanished without a `$disconnect` counts until a publish finds it gone.
   */
  async subscriptionFilters(): Promise<Array<LiveEventFilter | null>> {
    const now = this.seconds();
    const items = await this.queryItems('look for live subscriptions', {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': SUBSCRIPTIONS_PK },
      ProjectionExpression: '#filter, expiresAt',
      ExpressionAttributeNames: { '#filter': 'filter' },
    });
    return items
      .filter((item) => Number(item.expiresAt) > now)
      .map((item) => (item.filter as LiveEventFilter | null | undefined) ?? null);
  }

  /**
   * Counts `count` events toward a subscription's current second and answers how many of them it
   * may be sent within `perSecond`; the rest are added to its dropped count. Exact across concurrent
   * publishes: the counter is one conditional update per second.
   */
  async takeRate(
    subscription: Pick<LiveSubscription, 'connectionId' | 'subscriptionId'>,
    count: number,
    perSecond: number,
  ): Promise<number> {
    const second = Math.floor(this.now() / 1000);
    const key = {
      pk: connectionPk(subscription.connectionId),
      sk: `${RATE_SK_PREFIX}${subscription.subscriptionId}`,
    };
    const counted = await this.countInSecond(key, second, count);
    const allowed = Math.max(0, Math.min(count, perSecond - (counted - count)));
    if (allowed < count) {
      await this.run('count dropped live events', () =>
        this.options.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: key,
            UpdateExpression: 'ADD dropped :dropped',
            ExpressionAttributeValues: { ':dropped': count - allowed },
          }),
        ),
      );
    }
    return allowed;
  }

  /**
   * Takes a subscription's dropped count for a heartbeat, when the last one is at least
   * `intervalMs` old (or `force`): answers the count (0 included) and resets it, or null when a
   * heartbeat is not due. Concurrent publishes see it due only once.
   */
  async takeHeartbeat(
    subscription: Pick<LiveSubscription, 'connectionId' | 'subscriptionId'>,
    intervalMs: number,
    options: { onlyWhenDropped: boolean },
  ): Promise<number | null> {
    const now = this.now();
    const conditions = ['(attribute_not_exists(heartbeatAt) OR heartbeatAt <= :due)'];
    if (options.onlyWhenDropped) conditions.push('dropped > :zero');
    try {
      const output = await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: {
            pk: connectionPk(subscription.connectionId),
            sk: `${RATE_SK_PREFIX}${subscription.subscriptionId}`,
          },
          UpdateExpression:
            'SET heartbeatAt = :now, dropped = :zero, expiresAt = if_not_exists(expiresAt, :ttl)',
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeValues: {
            ':now': now,
            ':due': now - intervalMs,
            ':zero': 0,
            ':ttl': Math.floor(now / 1000) + CONNECTION_TTL_SECONDS,
          },
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      return Number(output.Attributes?.dropped ?? 0);
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw new LiveStoreError('Could not take a live heartbeat', { cause: error });
    }
  }

  private async countInSecond(
    key: { pk: string; sk: string },
    second: number,
    count: number,
  ): Promise<number> {
    // Two tries: the second only when another publish started the same second between ours.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        const output = await this.options.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: key,
            UpdateExpression: 'ADD sent :count',
            ConditionExpression: 'sentSecond = :second',
            ExpressionAttributeValues: { ':count': count, ':second': second },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        return Number(output.Attributes?.sent ?? count);
      } catch (error) {
        if (!isConditionFailure(error))
          throw new LiveStoreError('Could not count live events', { cause: error });
      }
      try {
        await this.options.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: key,
            UpdateExpression:
              'SET sentSecond = :second, sent = :count, expiresAt = if_not_exists(expiresAt, :ttl)',
            ConditionExpression: 'attribute_not_exists(sentSecond) OR sentSecond < :second',
            ExpressionAttributeValues: {
              ':count': count,
              ':second': second,
              ':ttl': second + CONNECTION_TTL_SECONDS,
            },
          }),
        );
        return count;
      } catch (error) {
        if (!isConditionFailure(error))
          throw new LiveStoreError('Could not count live events', { cause: error });
      }
    }
    // Other publishes kept winning the race for this second: drop these rather than guess.
    return Number.POSITIVE_INFINITY;
  }

  private async subscriptionCount(): Promise<number> {
    let total = 0;
    const pages = this.queryPages('count live subscriptions', {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': SUBSCRIPTIONS_PK },
      Select: 'COUNT',
    });
    for await (const page of pages) total += page.Count ?? 0;
    return total;
  }

  private async uncount(connectionId: string): Promise<void> {
    try {
      await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: connectionPk(connectionId), sk: CONNECTION_SK },
          UpdateExpression: 'ADD subscriptions :minusOne',
          ConditionExpression: 'attribute_exists(pk) AND subscriptions > :zero',
          ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
        }),
      );
    } catch (error) {
      // The connection is already gone: nothing left to count.
      if (!isConditionFailure(error))
        throw new LiveStoreError('Could not uncount a live subscription', { cause: error });
    }
  }

  private query(key: { pk: string; skPrefix?: string }): Promise<Record<string, unknown>[]> {
    return this.queryItems('read the connections table', {
      KeyConditionExpression:
        key.skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues:
        key.skPrefix === undefined ? { ':pk': key.pk } : { ':pk': key.pk, ':prefix': key.skPrefix },
    });
  }

  /** Every item a Query matches, over all its pages. */
  private async queryItems(what: string, query: TableQuery): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for await (const page of this.queryPages(what, query)) items.push(...(page.Items ?? []));
    return items;
  }

  /** A Query's pages in order, each asked from where the last one stopped. */
  private async *queryPages(what: string, query: TableQuery): AsyncGenerator<QueryCommandOutput> {
    let start: Record<string, unknown> | undefined;
    do {
      const output = await this.run(what, () =>
        this.options.client.send(
          new QueryCommand({ TableName: this.options.tableName, ...query, ExclusiveStartKey: start }),
        ),
      );
      yield output;
      start = output.LastEvaluatedKey;
    } while (start);
  }

  private async keys(key: { pk: string; skPrefix?: string }): Promise<Array<{ pk: string; sk: string }>> {
    const items = await this.query(key);
    return items.map((item) => ({ pk: String(item.pk), sk: String(item.sk) }));
  }

  private async deleteAll(keys: Array<{ pk: string; sk: string }>): Promise<void> {
    await this.run('remove a live connection', () =>
      batchDelete(this.options.client, this.options.tableName, keys, REMOVAL_RETRY, {
        leaveUnprocessed: true,
      }),
    );
  }

  private seconds(): number {
    return Math.floor(this.now() / 1000);
  }

  private async run<T>(what: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new LiveStoreError(`Could not ${what}`, { cause: error });
    }
  }
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient, ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { withThrottleRetry, type RetryPolicy } from './dynamodb-batch';
import { isConditionalCheckFailed, toHotStoreError } from './dynamodb-errors';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, userProfileKey } from './hot-store-keys';

/** The partition of an id's profile and identity. */
const USER_PREFIX = userProfileKey('').pk;

/** What a sweep deleted. */
export interface SweepReport {
  items: number;
  /**
   * The ids whose profile or identity went: a cache in front of the table must forget them
   * (CachedHotStore.forgetErased), as nothing else tells it.
   */
  ids: string[];
}

export interface DynamoDbTtlSweeperOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Epoch milliseconds. */
  now?: () => number;
  throttleAttempts?: number;
  throttleBaseDelayMs?: number;
}

/**
 * What DynamoDB's TTL does in AWS, for a table without it (dynalite, in the embedded stack):
 * deletes every item whose `ttl` (epoch seconds) has passed, whoever wrote it: profiles and
 * identities idle past the limit, decayed trends, messageId claims, edge dedupe markers, rate-limit
 * counters. A Scan reads the whole table, so run it now and then (hourly), not per request.
 */
export class DynamoDbTtlSweeper {
  private readonly now: () => number;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: DynamoDbTtlSweeperOptions) {
    this.now = options.now ?? Date.now;
    this.retry = {
      attempts: Math.max(1, options.throttleAttempts ?? 5),
      baseDelayMs: options.throttleBaseDelayMs ?? 50,
    };
  }

  /**
   * Deletes the items expired now. Each delete is on condition that the item is still expired, so
   * an item written again since the scan (a returning visitor) stays.
   */
  async sweep(): Promise<SweepReport> {
    const nowSeconds = Math.floor(this.now() / 1000);
    const names = { '#ttl': TTL_ATTRIBUTE };
    const values = { ':now': nowSeconds };
    let deleted = 0;
    const ids = new Set<string>();
    let start: Record<string, unknown> | undefined;
    try {
      do {
        const page: ScanCommandOutput = await withThrottleRetry(this.retry, 'scan', () =>
          this.options.client.send(
            new ScanCommand({
              TableName: this.options.tableName,
              FilterExpression: '#ttl <= :now',
              ProjectionExpression: '#pk, #sk, #id',
              ExpressionAttributeNames: { ...names, '#pk': PARTITION_KEY, '#sk': SORT_KEY, '#id': 'id' },
              ExpressionAttributeValues: values,
              ExclusiveStartKey: start,
            }),
          ),
        );
        for (const item of page.Items ?? []) {
          try {
            await withThrottleRetry(this.retry, 'delete', () =>
              this.options.client.send(
                new DeleteCommand({
                  TableName: this.options.tableName,
                  Key: { [PARTITION_KEY]: item[PARTITION_KEY], [SORT_KEY]: item[SORT_KEY] },
                  ConditionExpression: '#ttl <= :now',
                  ExpressionAttributeNames: names,
                  ExpressionAttributeValues: values,
                }),
              ),
            );
            deleted += 1;
            if (String(item[PARTITION_KEY]).startsWith(USER_PREFIX)) ids.add(String(item.id));
          } catch (error) {
            if (!isConditionalCheckFailed(error)) throw error;
          }
        }
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    } catch (error) {
      throw toHotStoreError(error, 'sweep expired items');
    }
    return { items: deleted, ids: [...ids] };
  }
}

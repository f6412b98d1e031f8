import {
  BatchGetCommand,
  BatchWriteCommand,
  QueryCommand,
  ScanCommand,
  type BatchGetCommandOutput,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  type QueryCommandOutput,
  type ScanCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { HotStoreError } from '../errors';
import { isConditionalCheckFailed, isThrottling, toHotStoreError } from './dynamodb-errors';
import { PARTITION_KEY, SORT_KEY, type HotKey } from './hot-store-keys';

/** DynamoDB's own limits per call. */
export const BATCH_GET_LIMIT = 100;
export const BATCH_WRITE_LIMIT = 25;

export type StoredItem = Record<string, unknown>;

export interface RetryPolicy {
  /** Attempts while DynamoDB throttles or leaves keys unprocessed, on top of the SDK's retries. */
  attempts: number;
  baseDelayMs: number;
}

/** A stable map key for a table key; `\u0000` cannot occur in either part. */
export function keyString(key: HotKey): string {
  return `${key.pk}\u0000${key.sk}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Jittered exponential backoff before attempt `attempt + 1`. */
export function backoff(policy: RetryPolicy, attempt: number): Promise<void> {
  const ceiling = policy.baseDelayMs * 2 ** (attempt - 1);
  return sleep(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Retries throttling with backoff; conditional failures pass through untouched for the caller. */
export async function withThrottleRetry<T>(
  policy: RetryPolicy,
  action: string,
  call: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw error;
      if (!isThrottling(error)) throw toHotStoreError(error, action);
      if (attempt >= policy.attempts) {
        throw new HotStoreError(`Hot store ${action} throttled ${attempt} times`, 'HOT_STORE_THROTTLED', {
          cause: error,
        });
      }
      await backoff(policy, attempt);
    }
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/**
 * Reads many keys, 100 per BatchGetItem, retrying unprocessed keys with backoff. Returns the
 * items found by `keyString`; a key that does not exist is simply absent.
 */
export async function batchGet(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly HotKey[],
  consistent: boolean,
  policy: RetryPolicy,
): Promise<Map<string, StoredItem>> {
  const unique = [...new Map(keys.map((k) => [keyString(k), { pk: k.pk, sk: k.sk }])).values()];
  const found = new Map<string, StoredItem>();
  await Promise.all(
    chunks(unique, BATCH_GET_LIMIT).map(async (chunk) => {
      let pending: Array<Record<string, unknown>> = chunk;
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > policy.attempts) {
          throw new HotStoreError(
            `Hot store batch read left ${pending.length} keys unprocessed after ${policy.attempts} attempts`,
            'HOT_STORE_THROTTLED',
          );
        }
        if (attempt > 1) await backoff(policy, attempt - 1);
        const keysNow = pending;
        const output: BatchGetCommandOutput = await withThrottleRetry(policy, 'batch read', () =>
          client.send(
            new BatchGetCommand({
              RequestItems: { [tableName]: { Keys: keysNow, ConsistentRead: consistent } },
            }),
          ),
        );
        for (const item of output.Responses?.[tableName] ?? []) {
          found.set(keyString({ pk: String(item.pk), sk: String(item.sk) }), item);
        }
        pending = output.UnprocessedKeys?.[tableName]?.Keys ?? [];
      }
    }),
  );
  return found;
}

/** One write of a BatchWriteItem: an item to put, or the key of one to delete. */
type WriteRequest = { PutRequest: { Item: StoredItem } } | { DeleteRequest: { Key: StoredItem } };

/** Puts many items, 25 per BatchWriteItem, retrying unprocessed items with backoff. */
export function batchPut(
  client: DynamoDBDocumentClient,
  tableName: string,
  items: readonly StoredItem[],
  policy: RetryPolicy,
): Promise<void> {
  return batchWrite(
    client,
    tableName,
    items.map((Item) => ({ PutRequest: { Item } })),
    policy,
  );
}

/**
 * Deletes many items by key, 25 per BatchWriteItem, retrying unprocessed ones with backoff. With
 * `leaveUnprocessed`, what DynamoDB still leaves after the attempts stays instead of failing the
 * call: for items whose TTL removes them anyway, where a failure would cost more than the item.
 */
export function batchDelete(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly HotKey[],
  policy: RetryPolicy,
  options: { leaveUnprocessed?: boolean } = {},
): Promise<void> {
  return batchWrite(
    client,
    tableName,
    keys.map((key) => ({ DeleteRequest: { Key: { ...key } } })),
    policy,
    options.leaveUnprocessed === true,
  );
}

async function batchWrite(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  policy: RetryPolicy,
  leaveUnprocessed = false,
): Promise<void> {
  await Promise.all(
    chunks(requests, BATCH_WRITE_LIMIT).map(async (chunk) => {
      let pending: WriteRequest[] = chunk;
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > policy.attempts) {
          if (leaveUnprocessed) return;
          throw new HotStoreError(
            `Hot store batch write left ${pending.length} items unprocessed after ${policy.attempts} attempts`,
            'HOT_STORE_THROTTLED',
          );
        }
        if (attempt > 1) await backoff(policy, attempt - 1);
        const sent = pending;
        const output: BatchWriteCommandOutput = await withThrottleRetry(policy, 'batch write', () =>
          client.send(new BatchWriteCommand({ RequestItems: { [tableName]: sent } })),
        );
        pending = (output.UnprocessedItems?.[tableName] ?? []).flatMap((request): WriteRequest[] => {
          if (request.PutRequest?.Item) return [{ PutRequest: { Item: request.PutRequest.Item } }];
          if (request.DeleteRequest?.Key) return [{ DeleteRequest: { Key: request.DeleteRequest.Key } }];
          return [];
        });
      }
    }),
  );
}

/** Every item of the table whose sort key is `sortKey`, page by page (a Scan: for rare, whole-table work). */
export async function* scanBySortKey(
  client: DynamoDBDocumentClient,
  tableName: string,
  sortKey: string,
  policy: RetryPolicy,
): AsyncGenerator<StoredItem[]> {
  let start: Record<string, unknown> | undefined;
  do {
    const output: ScanCommandOutput = await withThrottleRetry(policy, 'scan', () =>
      client.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: '#sk = :sk',
          ExpressionAttributeNames: { '#sk': SORT_KEY },
          ExpressionAttributeValues: { ':sk': sortKey },
          ExclusiveStartKey: start,
        }),
      ),
    );
    yield output.Items ?? [];
    start = output.LastEvaluatedKey;
  } while (start !== undefined);
}

/**
 * Every item of one partition, page by page, strongly consistent, in sort-key order; with
 * `sortKeyPrefix`, only those whose sort key begins with it; with `keysOnly`, just their keys.
 */
export async function* queryPartition(
  client: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  policy: RetryPolicy,
  options: { sortKeyPrefix?: string; keysOnly?: boolean; operation?: string } = {},
): AsyncGenerator<StoredItem[]> {
  const prefix = options.sortKeyPrefix;
  const keysOnly = options.keysOnly === true;
  // DynamoDB refuses an attribute name that no expression uses, so #sk only when one does.
  const names: Record<string, string> = { '#pk': PARTITION_KEY };
  if (prefix !== undefined || keysOnly) names['#sk'] = SORT_KEY;
  let start: Record<string, unknown> | undefined;
  do {
    const output: QueryCommandOutput = await withThrottleRetry(policy, options.operation ?? 'query', () =>
      client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression:
            prefix === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: prefix === undefined ? { ':pk': pk } : { ':pk': pk, ':prefix': prefix },
          ProjectionExpression: keysOnly ? '#pk, #sk' : undefined,
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      ),
    );
    yield output.Items ?? [];
    start = output.LastEvaluatedKey;
  } while (start !== undefined);
}

/** Runs `task` over items with at most `limit` in flight; the first failure is rethrown after all settle. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}

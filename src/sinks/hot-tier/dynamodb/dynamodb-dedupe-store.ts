import { BatchWriteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed, toHotStoreError } from './dynamodb-errors';
import { TTL_ATTRIBUTE, type HotKey } from './hot-store-keys';
import type { DedupeStore } from '../port';

export interface DynamoDbDedupeStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** How long a messageId is remembered. */
  ttlSeconds: number;
  /** Conditional writes in flight at once. */
  concurrency?: number;
  now?: () => number;
}

/** The edge's marker for a messageId (docs/hot-tier.md); the hot tier's own claim uses sort key HOT. */
export function dedupeKey(messageId: string): HotKey {
  return { pk: `MSG#${messageId}`, sk: 'DEDUPE' };
}

// BatchWriteItem's limit per call.
const DELETE_CHUNK = 25;

/**
 * Edge dedupe in the hot table: one conditional PutItem per messageId. The condition also
 * accepts an expired marker, because DynamoDB deletes expired items only eventually (and
 * dynalite never does), so the window is exactly `ttlSeconds`.
 */
export class DynamoDbDedupeStore implements DedupeStore {
  private readonly concurrency: number;
  private readonly now: () => number;

  constructor(private readonly options: DynamoDbDedupeStoreOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? 32);
    this.now = options.now ?? Date.now;
  }

  /** Claims each messageId; true where it was not claimed within the window. */
  async claim(messageIds: string[]): Promise<boolean[]> {
    const nowSeconds = Math.floor(this.now() / 1000);
    const results = new Array<boolean>(messageIds.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < messageIds.length) {
        const index = next++;
        results[index] = await this.claimOne(messageIds[index] ?? '', nowSeconds);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, messageIds.length) }, worker));
    return results;
  }

  /** Deletes the markers of events that were not written after all. */
  async release(messageIds: string[]): Promise<void> {
    const unique = [...new Set(messageIds)];
    for (let start = 0; start < unique.length; start += DELETE_CHUNK) {
      const chunk = unique.slice(start, start + DELETE_CHUNK);
      try {
        let pending = {
          [this.options.tableName]: chunk.map((id) => ({ DeleteRequest: { Key: dedupeKey(id) } })),
        };
        for (let attempt = 0; attempt < 5 && Object.keys(pending).length > 0; attempt++) {
          const output = await this.options.client.send(new BatchWriteCommand({ RequestItems: pending }));
          pending = (output.UnprocessedItems ?? {}) as typeof pending;
        }
      } catch (error) {
        throw toHotStoreError(error, 'release dedupe markers');
      }
    }
  }

  private async claimOne(messageId: string, nowSeconds: number): Promise<boolean> {
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: {
            ...dedupeKey(messageId),
            id: messageId,
            [TTL_ATTRIBUTE]: nowSeconds + this.options.ttlSeconds,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :now',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':now': nowSeconds },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw toHotStoreError(error, 'claim messageId');
    }
  }
}

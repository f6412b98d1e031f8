import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MessageMarkers } from '../port';
import {
  BATCH_GET_LIMIT,
  batchDelete,
  batchGet,
  forEachLimited,
  keyString,
  type RetryPolicy,
} from '../../sinks/hot-tier/dynamodb/dynamodb-batch';
import { dedupeKey } from '../../sinks/hot-tier/dynamodb/dynamodb-dedupe-store';
import { toHotStoreError } from '../../sinks/hot-tier/dynamodb/dynamodb-errors';
import { messageClaimKey, type HotKey } from '../../sinks/hot-tier/dynamodb/hot-store-keys';

export interface DynamoDbMessageMarkersOptions {
  client: DynamoDBDocumentClient;
  /** The hot table, which holds both kinds of marker. */
  tableName: string;
  /** Reads of up to 100 keys (and their deletes) in flight at once. */
  concurrency?: number;
  retry?: RetryPolicy;
}

/** Both markers of a messageId: the edge's `DEDUPE` and the hot tier's `HOT` claim. */
const markerKeys = (messageId: string): HotKey[] => [dedupeKey(messageId), messageClaimKey(messageId)];

const MESSAGES_PER_READ = BATCH_GET_LIMIT / 2;

/**
 * The messageId markers of the hot table (`MSG#<messageId>`, sort keys `DEDUPE` and `HOT`), erased
 * for a deletion. Each slice of keys is read first (strongly consistent), and only the items found
 * are deleted, 25 per BatchWriteItem with unprocessed ones retried: what was there is counted, and
 * deleting nothing costs no write. Run again, it finds nothing and deletes nothing.
 */
export class DynamoDbMessageMarkers implements MessageMarkers {
  private readonly concurrency: number;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: DynamoDbMessageMarkersOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.retry = options.retry ?? { attempts: 5, baseDelayMs: 50 };
  }

  async erase(messageIds: readonly string[]): Promise<number> {
    const unique = [...new Set(messageIds)];
    const slices: string[][] = [];
    for (let start = 0; start < unique.length; start += MESSAGES_PER_READ) {
      slices.push(unique.slice(start, start + MESSAGES_PER_READ));
    }
    let removed = 0;
    try {
      await forEachLimited(slices, this.concurrency, async (slice) => {
        const keys = slice.flatMap(markerKeys);
        const found = await batchGet(this.options.client, this.options.tableName, keys, true, this.retry);
        const present = keys.filter((key) => found.has(keyString(key)));
        await batchDelete(this.options.client, this.options.tableName, present, this.retry);
        removed += present.length;
      });
    } catch (error) {
      throw toHotStoreError(error, 'erase messageId markers');
    }
    return removed;
  }
}

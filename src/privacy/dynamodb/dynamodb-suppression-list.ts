import {
  batchDelete,
  batchGet,
  batchPut,
  keyString,
  type RetryPolicy,
} from '../../sinks/hot-tier/dynamodb/dynamodb-batch';
import type { HotKey } from '../../sinks/hot-tier/dynamodb/hot-store-keys';
import type { SuppressionList } from '../port';
import { privacyCall, retryPolicyOf, type PrivacyTableOptions } from './privacy-table';

export type DynamoDbSuppressionListOptions = PrivacyTableOptions;

/** An id's suppression, in a partition of its own: erasing the id's hot-tier items (`USER#<id>`) leaves it. */
export function suppressionKey(id: string): HotKey {
  return { pk: `SUPPRESS#${id}`, sk: 'SUPPRESSED' };
}

const STORE = 'Suppression list';

/**
 * Suppressed ids in the hot table, one item per id naming the request that suppressed it. Reads
 * are strongly consistent: a deletion answers only once its ids are suppressed, and an event sent
 * after that answer must find them so, wherever it is checked.
 */
export class DynamoDbSuppressionList implements SuppressionList {
  private readonly retry: RetryPolicy;

  constructor(private readonly options: DynamoDbSuppressionListOptions) {
    this.retry = retryPolicyOf(options);
  }

  /** Suppresses each id under `requestId`, replacing an earlier request's suppression of it. */
  async suppress(ids: readonly string[], requestId: string): Promise<void> {
    const items = unique(ids).map((id) => ({ ...suppressionKey(id), id, requestId }));
    await privacyCall(STORE, 'suppress ids', () =>
      batchPut(this.options.client, this.options.tableName, items, this.retry),
    );
  }

  async unsuppress(ids: readonly string[]): Promise<void> {
    await privacyCall(STORE, 'lift suppressions', () =>
      batchDelete(this.options.client, this.options.tableName, unique(ids).map(suppressionKey), this.retry),
    );
  }

  async suppressed(ids: readonly string[]): Promise<Set<string>> {
    return new Set((await this.suppressedBy(ids)).keys());
  }

  /** One BatchGet per 100 ids. */
  async suppressedBy(ids: readonly string[]): Promise<Map<string, string>> {
    const wanted = unique(ids);
    const found = await privacyCall(STORE, 'read suppressions', () =>
      batchGet(this.options.client, this.options.tableName, wanted.map(suppressionKey), true, this.retry),
    );
    const requests = new Map<string, string>();
    for (const id of wanted) {
      const item = found.get(keyString(suppressionKey(id)));
      if (item !== undefined) requests.set(id, String(item.requestId));
    }
    return requests;
  }
}

/** BatchWriteItem refuses a key twice in one call. */
function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../../sinks/hot-tier/dynamodb/dynamodb-errors';
import {
  batchGet,
  keyString,
  withThrottleRetry,
  type RetryPolicy,
  type StoredItem,
} from '../../sinks/hot-tier/dynamodb/dynamodb-batch';
import type { HotKey } from '../../sinks/hot-tier/dynamodb/hot-store-keys';
import type { DeletionRequest, DeletionRequestStore, DeletionStatus, DeletionStep } from '../port';
import { privacyCall, retryPolicyOf, type PrivacyTableOptions } from './privacy-table';

export type DynamoDbDeletionRequestStoreOptions = PrivacyTableOptions;

/** A request, whole, under its own key: `get` and `save` are one call each. */
export function deletionRequestKey(id: string): HotKey {
  return { pk: `DELETION#${id}`, sk: 'REQUEST' };
}

/** The partition listing unfinished requests, oldest first. */
const UNFINISHED_PARTITION = 'DELETION';

/** A request's entry in the unfinished list, sorted by when it was asked. */
export function unfinishedDeletionKey(request: Pick<DeletionRequest, 'id' | 'requestedAt'>): HotKey {
  return { pk: UNFINISHED_PARTITION, sk: `${request.requestedAt}#${request.id}` };
}

const STORE = 'Deletion request store';

/**
 * Deletion requests in the hot table. Each request is one item by id; an entry per unfinished
 * request in one partition, `DELETION`, sorted by `<requestedAt>#<id>`, lists what a runner must
 * resume in one Query (and a BatchGet of the requests), however many requests completed before:
 * a request's entry goes when it completes. The entry is written before the request, so a crash
 * between the two leaves an entry without a request (skipped), never a request nobody resumes.
 */
export class DynamoDbDeletionRequestStore implements DeletionRequestStore {
  private readonly retry: RetryPolicy;

  constructor(private readonly options: DynamoDbDeletionRequestStoreOptions) {
    this.retry = retryPolicyOf(options);
  }

  /** Lists the request as unfinished, then stores it unless a request with its id exists. */
  async create(request: DeletionRequest): Promise<void> {
    await privacyCall(STORE, 'create a request', async () => {
      await this.put(unfinishedEntry(request));
      try {
        await this.put(requestItem(request), 'attribute_not_exists(pk)');
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    });
  }

  async get(id: string): Promise<DeletionRequest | null> {
    const output = await privacyCall(STORE, 'read a request', () =>
      withThrottleRetry(this.retry, 'read', () =>
        this.options.client.send(
          new GetCommand({
            TableName: this.options.tableName,
            Key: deletionRequestKey(id),
            ConsistentRead: true,
          }),
        ),
      ),
    );
    return output.Item ? toRequest(output.Item) : null;
  }

  /** Stores the request's state, then keeps its unfinished entry in step: gone once it is COMPLETED. */
  async save(request: DeletionRequest): Promise<void> {
    await privacyCall(STORE, 'save a request', async () => {
      await this.put(requestItem(request));
      if (request.status === 'COMPLETED') await this.removeEntry(unfinishedDeletionKey(request));
      else await this.put(unfinishedEntry(request));
    });
  }

  /**
   * Reads the unfinished partition and the requests it names, oldest first. An entry whose request
   * completed (a crash between saving it and removing the entry) is removed here; one whose request
   * is not there yet may belong to a create in progress, and is left.
   */
  async unfinished(): Promise<DeletionRequest[]> {
    return privacyCall(STORE, 'list unfinished requests', async () => {
      const entries: Array<{ id: string; key: HotKey }> = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page: QueryCommandOutput = await withThrottleRetry(this.retry, 'query', () =>
          this.options.client.send(
            new QueryCommand({
              TableName: this.options.tableName,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': UNFINISHED_PARTITION },
              ConsistentRead: true,
              ExclusiveStartKey: startKey,
            }),
          ),
        );
        for (const entry of page.Items ?? []) {
          entries.push({ id: String(entry.id), key: { pk: String(entry.pk), sk: String(entry.sk) } });
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);

      const found = await batchGet(
        this.options.client,
        this.options.tableName,
        entries.map((entry) => deletionRequestKey(entry.id)),
        true,
        this.retry,
      );
      const requests = new Map<string, DeletionRequest>();
      for (const entry of entries) {
        const item = found.get(keyString(deletionRequestKey(entry.id)));
        if (item === undefined) continue;
        const request = toRequest(item);
        if (request.status === 'COMPLETED') await this.removeEntry(entry.key);
        else if (!requests.has(request.id)) requests.set(request.id, request);
      }
      return [...requests.values()];
    });
  }

  private async put(item: StoredItem, condition?: string): Promise<void> {
    await withThrottleRetry(this.retry, 'write', () =>
      this.options.client.send(
        new PutCommand({ TableName: this.options.tableName, Item: item, ConditionExpression: condition }),
      ),
    );
  }

  private async removeEntry(key: HotKey): Promise<void> {
    await withThrottleRetry(this.retry, 'delete', () =>
      this.options.client.send(new DeleteCommand({ TableName: this.options.tableName, Key: { ...key } })),
    );
  }
}

function requestItem(request: DeletionRequest): StoredItem {
  return { ...deletionRequestKey(request.id), ...request };
}

function unfinishedEntry(request: DeletionRequest): StoredItem {
  return { ...unfinishedDeletionKey(request), id: request.id };
}

const STATUSES: ReadonlySet<string> = new Set<DeletionStatus>(['PENDING', 'RUNNING', 'COMPLETED', 'FAILED']);

/** Only this adapter writes these items; a status it does not know means the item is not one of them. */
function statusOf(value: unknown): DeletionStatus {
  if (typeof value === 'string' && STATUSES.has(value)) return value as DeletionStatus;
  throw new Error(`a deletion item holds an unknown status (${String(value)})`);
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function stringOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function toStep(item: Record<string, unknown>): DeletionStep {
  return {
    store: String(item.store),
    status: statusOf(item.status),
    removed: numberOrNull(item.removed),
    detail: stringOrNull(item.detail),
    attempts: Number(item.attempts ?? 0),
  };
}

function toRequest(item: StoredItem): DeletionRequest {
  const steps = Array.isArray(item.steps) ? (item.steps as Array<Record<string, unknown>>) : [];
  const subjectIds = Array.isArray(item.subjectIds) ? (item.subjectIds as unknown[]) : [];
  return {
    id: String(item.id),
    subjectIds: subjectIds.map(String),
    suppress: item.suppress === true,
    status: statusOf(item.status),
    requestedAt: String(item.requestedAt),
    completedAt: stringOrNull(item.completedAt),
    steps: steps.map(toStep),
  };
}

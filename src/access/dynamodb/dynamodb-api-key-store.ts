import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord } from '../api-key';
import { AccessStoreError } from '../errors';
import type { ApiKeyStore } from '../port';

export interface DynamoDbApiKeyStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

/**
 * Keys live in the hot table under one partition, `APIKEYS`, sorted by the secret's hash: a lookup
 * is one GetItem, listing is one Query. There are few keys, and the API caches lookups, so one
 * partition is never hot.
 */
const PARTITION = 'APIKEYS';

export class DynamoDbApiKeyStore implements ApiKeyStore {
  constructor(private readonly options: DynamoDbApiKeyStoreOptions) {}

  async create(record: ApiKeyRecord): Promise<void> {
    await this.call('create key', () =>
      this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          // Absent rather than NULL, so `if_not_exists` can set revokedAt later.
          Item: { pk: PARTITION, sk: record.secretHash, ...withoutNulls(record) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async findBySecretHash(secretHash: string): Promise<ApiKeyRecord | null> {
    const output = await this.call('look up key', () =>
      this.options.client.send(
        new GetCommand({ TableName: this.options.tableName, Key: { pk: PARTITION, sk: secretHash } }),
      ),
    );
    return output.Item ? toRecord(output.Item) : null;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const records: ApiKeyRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.call('list keys', () =>
        this.options.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': PARTITION },
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) records.push(toRecord(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
  }

  async revoke(id: string, at: string): Promise<ApiKeyRecord | null> {
    const record = (await this.list()).find((key) => key.id === id);
    if (!record) return null;
    if (record.revokedAt) return record;
    const output = await this.call('revoke key', () =>
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: PARTITION, sk: record.secretHash },
          // A concurrent revoke keeps the first time.
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
          ExpressionAttributeValues: { ':at': at },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return output.Attributes ? toRecord(output.Attributes) : null;
  }

  async touch(secretHash: string, at: string): Promise<void> {
    await this.call('record key use', () =>
      this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: PARTITION, sk: secretHash },
          UpdateExpression: 'SET lastUsedAt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': at },
        }),
      ),
    );
  }

  private async call<T>(action: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new AccessStoreError(`Key store could not ${action} (${detail})`, { cause: error });
    }
  }
}

function withoutNulls(record: ApiKeyRecord): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null));
}

function toRecord(item: Record<string, unknown>): ApiKeyRecord {
  return {
    id: String(item.id),
    name: String(item.name),
    kind: item.kind as ApiKeyRecord['kind'],
    scopes: (item.scopes as ApiKeyRecord['scopes'] | undefined) ?? [],
    allowedOrigins: (item.allowedOrigins as string[] | null | undefined) ?? null,
    rateLimitPerSecond: (item.rateLimitPerSecond as number | null | undefined) ?? null,
    createdAt: String(item.createdAt),
    lastUsedAt: (item.lastUsedAt as string | null | undefined) ?? null,
    revokedAt: (item.revokedAt as string | null | undefined) ?? null,
    secretHash: String(item.secretHash),
  };
}

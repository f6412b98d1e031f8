import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AccessStoreError } from '../errors';
import type { RateLimiter } from '../port';
import { windowDecision, type RateDecision } from '../rate-limit';

export interface DynamoDbRateLimiterOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  now?: () => number;
}

/** Counters outlive their second by this much, so the previous second can still be read. */
const COUNTER_TTL_SECONDS = 120;

/**
 * A per-key limit that holds across every API instance (Lambda execution environments): each
 * request adds one to its key's counter for the current second (`RATE#<key>` / `<epoch second>`)
 * and is judged on that second and the one before (see `windowDecision`). A second that has passed
 * no longer changes much, so each instance reads it once and keeps it. Clocks of instances differ
 * by milliseconds; a request near a second's edge may count in either, which is the window's error.
 */
export class DynamoDbRateLimiter implements RateLimiter {
  private readonly now: () => number;
  private readonly previous = new Map<string, { second: number; count: number }>();

  constructor(private readonly options: DynamoDbRateLimiterOptions) {
    this.now = options.now ?? Date.now;
  }

  async take(keyId: string, perSecond: number): Promise<RateDecision> {
    const second = Math.floor(this.now() / 1000);
    const [current, previous] = await Promise.all([this.add(keyId, second), this.count(keyId, second - 1)]);
    return windowDecision(current, previous, perSecond);
  }

  private async add(keyId: string, second: number): Promise<number> {
    try {
      const output = await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: `RATE#${keyId}`, sk: String(second) },
          UpdateExpression: 'ADD #count :one SET #ttl = if_not_exists(#ttl, :ttl)',
          ExpressionAttributeNames: { '#count': 'count', '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':one': 1, ':ttl': second + COUNTER_TTL_SECONDS },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(output.Attributes?.count ?? 1);
    } catch (error) {
      throw new AccessStoreError('Rate limiter could not count a request', { cause: error });
    }
  }

  private async count(keyId: string, second: number): Promise<number> {
    const cached = this.previous.get(keyId);
    if (cached?.second === second) return cached.count;
    try {
      const output = await this.options.client.send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: { pk: `RATE#${keyId}`, sk: String(second) },
        }),
      );
      const count = Number(output.Item?.count ?? 0);
      if (this.previous.size > 10_000) this.previous.clear();
      this.previous.set(keyId, { second, count });
      return count;
    } catch (error) {
      throw new AccessStoreError('Rate limiter could not read the previous second', { cause: error });
    }
  }
}

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config';
import { DynamoDbHotStore } from '../sinks/hot-tier/dynamodb/dynamodb-hot-store';

/** Keys the embedded stack's hot table writes at once. */
export const HOT_WRITE_CONCURRENCY = 16;

/**
 * The embedded stack's hot table, built the same way on both of its threads: the API reads it
 * (behind its cache), the pipeline thread's stream processor writes it.
 */
export function localHotTable(
  client: DynamoDBDocumentClient,
  config: Pick<Config, 'tableName' | 'hotLimits' | 'identity' | 'retention'>,
): DynamoDbHotStore {
  return new DynamoDbHotStore({
    client,
    tableName: config.tableName,
    concurrency: HOT_WRITE_CONCURRENCY,
    profileLimits: config.hotLimits,
    identity: config.identity,
    profileIdleDays: config.retention.profileIdleDays,
  });
}

/**
 * What the privacy stores share on the hot table: how hard they retry DynamoDB's throttling, and
 * how its failures become the privacy port's errors. The table's batch reads and writes are the
 * hot tier's (chunked to DynamoDB's limits, unprocessed keys retried), so both agree on the table.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RetryPolicy } from '../../sinks/hot-tier/dynamodb/dynamodb-batch';
import { HotStoreError } from '../../sinks/hot-tier/errors';
import { PrivacyStoreError } from '../errors';

export interface PrivacyTableOptions {
  client: DynamoDBDocumentClient;
  /** The hot table. */
  tableName: string;
  /** Attempts per call while DynamoDB throttles or leaves keys unprocessed. */
  throttleAttempts?: number;
  throttleBaseDelayMs?: number;
}

export function retryPolicyOf(options: PrivacyTableOptions): RetryPolicy {
  return {
    attempts: Math.max(1, options.throttleAttempts ?? 5),
    baseDelayMs: options.throttleBaseDelayMs ?? 50,
  };
}

/** Runs one store operation, its failure translated into PrivacyStoreError (throttling keeps its own code). */
export async function privacyCall<T>(store: string, action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const throttled = error instanceof HotStoreError && error.code === 'HOT_STORE_THROTTLED';
    throw new PrivacyStoreError(
      `${store} could not ${action} (${detail})`,
      throttled ? 'PRIVACY_STORE_THROTTLED' : 'PRIVACY_STORE_FAILED',
      { cause: error },
    );
  }
}

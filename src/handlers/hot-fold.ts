import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { loadConfig } from '../config';
import { createDynamoDbDocumentClient } from '../aws/clients';
import { hotStoreFromConfig } from '../sinks/hot-tier/dynamodb/dynamodb-hot-store';

/**
 * No fold starts with less time left than this: a fold cut short by the function's timeout fails the
 * invocation (what it wrote stays, and the next run folds the rest), and would set off the alarm.
 */
export const FOLD_START_MARGIN_MS = 20_000;

/** What one run folded, over all its folds. */
export interface HotFoldReport {
  /** Pending log entries folded (and removed). */
  entries: number;
  /** Items and trends written. */
  items: number;
  trends: number;
  /** Folds run. */
  rounds: number;
  /** True when the margin ended the run before a fold found nothing more pending: the next run goes on. */
  more: boolean;
}

// Built once per execution environment, reused by every invocation.
const config = loadConfig();
const logger = new Logger({ serviceName: 'tributary-hot-fold' });
const dynamoDoc = createDynamoDbDocumentClient(config);
const hotStore = hotStoreFromConfig(dynamoDoc, config);

/**
 * The scheduled fold (EventBridge, every `hotTier.foldInterval`; docs/deploy.md#hot-tier-fold):
 * applies the stream's pending item and trend changes to the items and trends, fold after fold
 * while more is pending and FOLD_START_MARGIN_MS is left. A failed fold throws, so the function's
 * error alarm sees it; folding is idempotent, so the next run repeats what it did not finish.
 */
export const handler = async (
  _event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<HotFoldReport> => {
  const report: HotFoldReport = { entries: 0, items: 0, trends: 0, rounds: 0, more: true };
  while (report.more && context.getRemainingTimeInMillis() >= FOLD_START_MARGIN_MS) {
    const outcome = await hotStore.foldPending();
    report.entries += outcome.entries;
    report.items += outcome.items;
    report.trends += outcome.trends;
    report.rounds += 1;
    report.more = outcome.more;
  }
  // A run that keeps ending with more pending means the fold falls behind the stream.
  if (report.more) logger.warn('hot fold stopped with more pending', { ...report });
  else logger.info('hot fold ended', { ...report });
  return report;
};

import { HotStoreError } from '../sinks/hot-tier/errors';
import type { HotStore } from '../sinks/hot-tier/port';
import { toHotActivity, type PositionedEvent } from './hot-activity';

/** A delivered event and the index of its record in the Kinesis batch. */
export interface IndexedEvent extends PositionedEvent {
  index: number;
}

export interface HotUpdateOutcome {
  /** The first record to retry, with every record after it; undefined when nothing needs it. */
  retryFrom: number | undefined;
  /** messageIds of events the hot tier refused for good, skipped so their shard moves on. */
  refused: string[];
}

/**
 * Whether retrying can never help: the store refused the data itself (for DynamoDB, an item past
 * 400 KB or maps nested too deep), or the activity is malformed.
 */
function isRefusedForGood(error: unknown): boolean {
  return (
    error instanceof HotStoreError &&
    (error.code === 'HOT_STORE_REFUSED_DATA' || error.code === 'HOT_STORE_INVALID_ACTIVITY')
  );
}

/**
 * Applies a batch's delivered events to the hot tier in one write per key. When the store refuses
 * the data itself or the activity is malformed, the events are applied again one by one, so an
 * event the hot tier can never hold is skipped (and reported) instead of holding back its shard on
 * every retry. Applying again is safe: every key keeps a per-shard watermark of what it has
 * applied. Any other failure (throttling, a network error, the table not ready) retries the whole
 * batch.
 */
export async function updateHotTier(
  store: HotStore,
  events: readonly IndexedEvent[],
  logger: Pick<Console, 'error'>,
): Promise<HotUpdateOutcome> {
  try {
    await store.applyActivity(toHotActivity(events));
    return { retryFrom: undefined, refused: [] };
  } catch (error) {
    if (!isRefusedForGood(error)) {
      logger.error('hot tier update failed; the batch will be retried', error);
      return { retryFrom: 0, refused: [] };
    }
    logger.error('hot tier refused data in this batch; applying its events one by one', error);
  }
  const refused: string[] = [];
  for (const event of events) {
    try {
      await store.applyActivity(toHotActivity([event]));
    } catch (error) {
      if (!isRefusedForGood(error)) {
        logger.error('hot tier update failed; the rest of the batch will be retried', error);
        return { retryFrom: event.index, refused };
      }
      logger.error(
        `hot tier refused event ${event.event.messageId}; it is in the lake, not the hot tier`,
        error,
      );
      refused.push(event.event.messageId);
    }
  }
  return { retryFrom: undefined, refused };
}

import type { LinkClaim } from '../events/identity';
import type { FailedEvent, StoredEvent } from '../events/types';
import { PROCESSOR_VERSION } from '../events/version';
import { HotStoreError } from '../sinks/hot-tier/errors';
import type { FailureReporter, HotStore, HotTierFailure } from '../sinks/hot-tier/port';
import type { FailedDelivery } from '../sinks/lake/port';
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
  /** messageIds of events the hot tier applied only in part (profile limits, refused links). */
  limited: string[];
}

/**
 * Whether retrying can never help: the store refused the data itself (for DynamoDB, an item past
 * 400 KB or maps nested too deep), or the activity is malformed.
 */
function isRefusedForGood(error: unknown): error is HotStoreError {
  return (
    error instanceof HotStoreError &&
    (error.code === 'HOT_STORE_REFUSED_DATA' || error.code === 'HOT_STORE_INVALID_ACTIVITY')
  );
}

/**
 * The failed event that records what the hot tier did not apply of a delivered event. Its payload
 * is the event as delivered (what the warehouse's events row holds, so it adds nothing that is not
 * stored already) and is the same on every redelivery, so the warehouse keeps one row for it.
 */
export function hotTierFailedEvent(event: StoredEvent, failure: HotTierFailure): FailedEvent {
  return {
    messageId: event.messageId,
    failureType: failure.failureType,
    event: event.event,
    errors: failure.errors,
    payload: JSON.stringify(event),
    payloadEncoding: 'utf8',
    schema: event.schemaVersion ? `${event.event}/${event.schemaVersion}` : null,
    receivedAt: event.receivedAt,
    processorVersion: event.processorVersion,
  };
}

/**
 * The failed event of a link refused after its own batch passed (an earlier claim on the same id
 * arrived later): the event is in the warehouse already, so the payload names only the link.
 */
export function refusedClaimFailedEvent(claim: LinkClaim, failure: HotTierFailure): FailedEvent {
  return {
    messageId: claim.messageId,
    failureType: failure.failureType,
    event: claim.event,
    errors: failure.errors,
    payload: JSON.stringify({
      messageId: claim.messageId,
      event: claim.event,
      userId: claim.personId,
      claimedId: claim.id,
    }),
    payloadEncoding: 'utf8',
    schema: null,
    receivedAt: claim.linkedAt,
    processorVersion: PROCESSOR_VERSION,
  };
}

/** Writes hot-tier failures of `events` to the failed delivery; throws unless every one is written. */
function failureWriter(
  events: readonly IndexedEvent[],
  failed: FailedDelivery,
  outcome: HotUpdateOutcome,
): FailureReporter {
  const byMessage = new Map(events.map(({ event }) => [event.messageId, event]));
  return async (failures) => {
    const records = failures.map((failure) => {
      const event = byMessage.get(failure.messageId);
      if (event !== undefined) return hotTierFailedEvent(event, failure);
      if (failure.claim !== undefined) return refusedClaimFailedEvent(failure.claim, failure);
      throw new Error(`hot tier reported ${failure.messageId}, not in this batch`);
    });
    const result = await failed.deliver(records);
    if (result.failed.length > 0) {
      throw new Error(`${result.failed.length} hot-tier failed events not delivered`, {
        cause: result.failed[0]?.error,
      });
    }
    for (const failure of failures) {
      const list = failure.failureType === 'hot_tier_refused' ? outcome.refused : outcome.limited;
      if (!list.includes(failure.messageId)) list.push(failure.messageId);
    }
  };
}

/**
 * Applies a batch's delivered events to the hot tier in one write per key. Whatever the hot tier
 * does not apply of an accepted event becomes a failed event (written through `failed`): traits a
 * profile limit kept out (profile_limit), or the whole event when the store refuses the data itself
 * or the activity is malformed (hot_tier_refused). In that last case the events are applied again
 * one by one, so an event the hot tier can never hold is skipped instead of holding back its shard
 * on every retry. Applying again is safe: every key keeps a per-shard watermark of what it has
 * applied. Any other failure (throttling, a network error, the table not ready, a failed event
 * that could not be written) retries the batch from where it stopped.
 */
export async function updateHotTier(
  store: HotStore,
  events: readonly IndexedEvent[],
  failed: FailedDelivery,
  logger: Pick<Console, 'error'>,
): Promise<HotUpdateOutcome> {
  const outcome: HotUpdateOutcome = { retryFrom: undefined, refused: [], limited: [] };
  const report = failureWriter(events, failed, outcome);
  try {
    await store.applyActivity(toHotActivity(events), report);
    return outcome;
  } catch (error) {
    if (!isRefusedForGood(error)) {
      logger.error('hot tier update failed; the batch will be retried', error);
      return { ...outcome, retryFrom: 0 };
    }
    logger.error('hot tier refused data in this batch; applying its events one by one', error);
  }
  for (const event of events) {
    try {
      await applyAlone(store, event, report, logger);
    } catch (error) {
      logger.error('hot tier update failed; the rest of the batch will be retried', error);
      return { ...outcome, retryFrom: event.index };
    }
  }
  return outcome;
}

/** Applies one event; one the hot tier refuses for good is reported as hot_tier_refused instead. */
async function applyAlone(
  store: HotStore,
  event: IndexedEvent,
  report: FailureReporter,
  logger: Pick<Console, 'error'>,
): Promise<void> {
  try {
    await store.applyActivity(toHotActivity([event]), report);
  } catch (error) {
    if (!isRefusedForGood(error)) throw error;
    const { messageId } = event.event;
    logger.error(`hot tier refused event ${messageId}; it is in the warehouse and in failed events`, error);
    await report([
      {
        messageId,
        failureType: 'hot_tier_refused',
        errors: [{ code: error.code, path: null, message: error.message }],
      },
    ]);
  }
}

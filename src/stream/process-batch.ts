import { randomBytes } from 'node:crypto';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { createEnricher, DEFAULT_HORIZON_DAYS, type Enricher } from '../events/enrich/enrich-event';
import { DEFAULT_IDENTITY_RULES, type IdentityRules } from '../events/identity';
import type { SchemaRegistry } from '../events/schema-registry';
import type { FailedEvent, StoredEvent } from '../events/types';
import type { LivePublisher } from '../live/port';
import type { SuppressionList } from '../privacy/port';
import { logSuppressed } from '../privacy/suppression';
import type { Delivery, DeliveryResult, EventsDelivery, FailedDelivery } from '../sinks/lake/port';
import type { HotStore } from '../sinks/hot-tier/port';
import { decodeRecord, type DecodedRecord } from './decode-record';
import { updateHotTier, type IndexedEvent } from './hot-update';
import { withLiveFailedEvents } from './live-failed-delivery';

export interface StreamProcessorDeps {
  events: EventsDelivery;
  failed: FailedDelivery;
  hotStore: HotStore;
  processorVersion: string;
  /** The event schemas (src/services/schema-files.ts reads them from the schemas/ folder). */
  schemas: SchemaRegistry;
  /**
   * Defaults to an enricher keyed by a random per-process PII secret: pseudonyms are then stable
   * only within the process, so deployments pass one built from TRIBUTARY_PII_SECRET.
   */
  enrich?: Enricher;
  /** The identity rules (Config.identity); their `mergeSources` decide which aliases merge users. */
  identity?: IdentityRules;
  /**
   * Ids whose records are dropped before any sink (docs/privacy.md#suppression), usually a
   * CachedSuppressionList; without it no record is checked.
   */
  suppression?: SuppressionList;
  /** Where failed events are shown as they are written (docs/live.md); none without it. */
  live?: LivePublisher;
  logger?: Pick<Console, 'info' | 'warn' | 'error'>;
}

export interface BatchSummary {
  records: number;
  delivered: number;
  failedEvents: number;
  duplicates: number;
  retried: number;
  /** Delivered events the hot tier refused for good, written to failed events (see updateHotTier). */
  hotRefused: number;
  /** Delivered events the hot tier applied only in part (profile limits), written to failed events. */
  hotLimited: number;
  /** Records naming a suppressed id, valid or not: dropped, stored nowhere. */
  suppressed: number;
}

export type StreamProcessor = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;

/**
 * One Kinesis batch, the same for Lambda and the local poller: decode, check, drop records of
 * suppressed ids and in-batch duplicates, deliver valid events and failed events, update the hot
 * tier, and report records whose sinks failed by sequence number so only they (and what follows)
 * are retried.
 *
 * This is deliberately not Powertools' BatchProcessor: that calls a handler per record, while
 * the sinks here are batch-level (one PutRecordBatch per delivery, one aggregated hot-tier write
 * per profile and shard), and the hot tier needs "only records before the first failure" — a
 * shard-ordering rule a per-record processor cannot express. The response has the same
 * `batchItemFailures` shape Powertools produces, and per-record poison never fails the batch:
 * decodeRecord turns every bad record (including enrichment that throws) into a failed event, and
 * updateHotTier records an event whose data DynamoDB refuses for good as a failed event and moves on.
 */
export function createStreamProcessor(
  deps: StreamProcessorDeps,
  onBatch?: (summary: BatchSummary) => void,
): StreamProcessor {
  const logger = deps.logger ?? console;
  const failed = deps.live ? withLiveFailedEvents(deps.failed, deps.live) : deps.failed;
  const checks = {
    processorVersion: deps.processorVersion,
    schemas: deps.schemas,
    enrich:
      deps.enrich ??
      createEnricher({ piiSecret: randomBytes(32), horizonMs: DEFAULT_HORIZON_DAYS * 86_400_000 }),
    identity: deps.identity ?? DEFAULT_IDENTITY_RULES,
  };
  return async (event) => {
    const records = event.Records;
    const decoded = records.map((record) => decodeRecord(record, checks));

    let suppressed: Set<number>;
    try {
      suppressed = await suppressedRecords(deps.suppression, decoded);
    } catch (error) {
      // Nothing can be written without knowing whose it is: the whole batch comes again.
      logger.error('suppression list unavailable; the batch will be retried', error);
      onBatch?.({ ...NOTHING_DONE, records: records.length, retried: records.length });
      return {
        batchItemFailures: records.map((record) => ({ itemIdentifier: record.kinesis.sequenceNumber })),
      };
    }
    logSuppressed(logger, 'stream', suppressed.size);

    const valid: Array<{ index: number; event: StoredEvent; itemIds: string[] }> = [];
    const invalid: Array<{ index: number; event: FailedEvent }> = [];
    const seen = new Set<string>();
    let duplicates = 0;
    decoded.forEach((item, index) => {
      if (suppressed.has(index)) return;
      if (!item.ok) return invalid.push({ index, event: item.failed });
      if (seen.has(item.event.messageId)) return duplicates++;
      seen.add(item.event.messageId);
      valid.push({ index, event: item.event, itemIds: item.itemIds });
    });

    const failedIndices = new Set<number>();
    const [eventsResult, failedResult] = await Promise.all([
      deliverSafely(deps.events, valid, logger),
      deliverSafely(failed, invalid, logger),
    ]);
    for (const { index } of eventsResult.failed) failedIndices.add(valid[index]?.index ?? 0);
    for (const { index } of failedResult.failed) failedIndices.add(invalid[index]?.index ?? 0);

    // Lambda resumes at the lowest failed sequence number and redelivers everything after it, so
    // only the records before it may touch the hot tier now; the rest will come again.
    const firstFailure = failedIndices.size > 0 ? Math.min(...failedIndices) : records.length;
    const delivered: IndexedEvent[] = [];
    for (const { index, event: stored, itemIds } of valid) {
      const item = decoded[index];
      if (index >= firstFailure || !item) continue;
      delivered.push({
        index,
        event: stored,
        itemIds,
        shardId: item.shardId,
        sequenceNumber: item.sequenceNumber,
      });
    }
    const hot = await updateHotTier(deps.hotStore, delivered, failed, logger);
    if (hot.retryFrom !== undefined) {
      for (let index = hot.retryFrom; index < records.length; index++) failedIndices.add(index);
    }

    onBatch?.({
      records: records.length,
      delivered: valid.length - countIn(failedIndices, valid),
      failedEvents: invalid.length - countIn(failedIndices, invalid),
      duplicates,
      retried: failedIndices.size,
      hotRefused: hot.refused.length,
      hotLimited: hot.limited.length,
      suppressed: suppressed.size,
    });
    return {
      batchItemFailures: [...failedIndices]
        .sort((a, b) => a - b)
        .map((index) => ({ itemIdentifier: records[index]?.kinesis.sequenceNumber ?? '' })),
    };
  };
}

const NOTHING_DONE: BatchSummary = {
  records: 0,
  delivered: 0,
  failedEvents: 0,
  duplicates: 0,
  retried: 0,
  hotRefused: 0,
  hotLimited: 0,
  suppressed: 0,
};

/** The indices of the records naming a suppressed id, with one lookup for every id of the batch. */
async function suppressedRecords(
  list: SuppressionList | undefined,
  decoded: DecodedRecord[],
): Promise<Set<number>> {
  const indices = new Set<number>();
  if (list === undefined) return indices;
  const ids = new Set(decoded.flatMap((item) => item.subjectIds));
  if (ids.size === 0) return indices;
  const found = await list.suppressed([...ids]);
  if (found.size === 0) return indices;
  decoded.forEach((item, index) => {
    if (item.subjectIds.some((id) => found.has(id))) indices.add(index);
  });
  return indices;
}

async function deliverSafely<T>(
  delivery: Delivery<T>,
  items: Array<{ event: T }>,
  logger: Pick<Console, 'error'>,
): Promise<DeliveryResult> {
  if (items.length === 0) return { failed: [] };
  try {
    const result = await delivery.deliver(items.map((item) => item.event));
    if (result.failed.length > 0)
      logger.error(`${result.failed.length} records not delivered; they will be retried`);
    return result;
  } catch (error) {
    logger.error('delivery failed; the records will be retried', error);
    return { failed: items.map((_, index) => ({ index, error: error as Error })) };
  }
}

function countIn(indices: Set<number>, items: Array<{ index: number }>): number {
  return items.filter((item) => indices.has(item.index)).length;
}

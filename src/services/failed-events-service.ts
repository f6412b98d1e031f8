import type { FailedEvent, FailureType } from '../events/types';
import { profileId } from '../events/types';
import { PAYLOAD_TRUNCATED } from '../events/failed-payload';
import type { EventStreamProducer } from '../stream/port';
import type { FailedEventsQuery, Warehouse } from '../sinks/warehouse/port';
import { badUserInput, warehouseUnavailable } from './errors';

/** The most failed events one query or one replay reads. */
export const MAX_FAILED_EVENTS = 1000;
// One below the warehouse's own cap on a read, which is asked for one more row to detect truncation.
export const MAX_REPLAY = 9_999;

export interface ReplayRange {
  from: Date;
  to: Date;
  failureType?: FailureType;
  event?: string;
}

export interface ReplayReport {
  replayed: number;
  skipped: number;
  notWritten: number;
  truncated: boolean;
}

// PutRecords takes at most 500 records per call.
const PUT_CHUNK = 500;

/**
 * Reads failed events from the warehouse and replays them through the stream. A replayed record
 * carries its original messageId (written into the payload when the producer had left it out, as
 * the derived one would change with the record's new place), so the warehouse, which keeps each
 * messageId once, can never hold a replayed event twice — however often a range is replayed.
 */
export class FailedEventsService {
  constructor(
    private readonly warehouse: Warehouse | undefined,
    private readonly producer: EventStreamProducer,
  ) {}

  /** Failed events received in [from, to), newest first. */
  async list(query: FailedEventsQuery): Promise<FailedEvent[]> {
    checkRange(query.from, query.to);
    checkEventFilter(query.event);
    if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_FAILED_EVENTS)
      throw badUserInput(`limit must be between 1 and ${MAX_FAILED_EVENTS}`);
    if (!this.warehouse) throw warehouseUnavailable();
    return this.warehouse.failedEvents(query);
  }

  /** Puts the failed events of a range back on the stream, with their original messageIds. */
  async replay(range: ReplayRange): Promise<ReplayReport> {
    checkRange(range.from, range.to);
    checkEventFilter(range.event);
    if (!this.warehouse) throw warehouseUnavailable();
    const failed = await this.warehouse.failedEvents({ ...range, limit: MAX_REPLAY + 1 });
    const truncated = failed.length > MAX_REPLAY;
    const records: Array<{ partitionKey: string; data: Uint8Array }> = [];
    let skipped = 0;
    // A failure recorded twice (the lake is at-least-once) is replayed once.
    const seen = new Set<string>();
    for (const item of failed.slice(0, MAX_REPLAY)) {
      const body = replayableBody(item);
      if (body === null || seen.has(body.messageId)) {
        skipped++;
        continue;
      }
      seen.add(body.messageId);
      records.push({
        partitionKey: profileId(body) ?? body.messageId,
        data: Buffer.from(JSON.stringify(body), 'utf8'),
      });
    }
    let notWritten = 0;
    for (let start = 0; start < records.length; start += PUT_CHUNK) {
      const outcomes = await this.producer.putRecords(records.slice(start, start + PUT_CHUNK));
      notWritten += outcomes.filter((o) => !o.ok).length;
    }
    return { replayed: records.length - notWritten, skipped, notWritten, truncated };
  }
}

function checkRange(from: Date, to: Date): void {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || !(from.getTime() < to.getTime()))
    throw badUserInput('from must be a date before to');
}

/**
 * An event filter names an event. An empty one is refused rather than read as "every event" (which
 * leaving it out means) or as the empty name (which no event has): either guess could replay or
 * hide what the caller did not mean.
 */
function checkEventFilter(event: string | undefined): void {
  if (event === '') throw badUserInput('event must not be empty: leave it out to include every event');
}

/** Failures of events that were delivered (the hot tier's): replaying would deliver them twice. */
const DELIVERED_FAILURES: ReadonlySet<FailedEvent['failureType']> = new Set([
  'profile_limit',
  'hot_tier_refused',
  'identity_conflict',
]);

type ReplayBody = Record<string, unknown> & { messageId: string; userId?: string; anonymousId?: string };

/** The original record as a JSON object with its messageId, or null when it cannot be replayed as is. */
function replayableBody(item: FailedEvent): ReplayBody | null {
  if (item.payloadEncoding !== 'utf8' || item.messageId === null) return null;
  // The hot tier's failures record events that were delivered: a replay would deliver them again.
  if (DELIVERED_FAILURES.has(item.failureType)) return null;
  // Only the start of the record was kept, and the start of a JSON text can still parse.
  if (item.errors.some((error) => error.code === PAYLOAD_TRUNCATED)) return null;
  let body: unknown;
  try {
    body = JSON.parse(item.payload);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const record = body as Record<string, unknown>;
  const ids = (key: string) => (typeof record[key] === 'string' ? (record[key] as string) : undefined);
  // receivedAt stays: the replayed event keeps its original receipt (and so its lake partition).
  return {
    ...record,
    messageId: item.messageId,
    receivedAt: ids('receivedAt') ?? item.receivedAt,
    userId: ids('userId'),
    anonymousId: ids('anonymousId'),
  };
}

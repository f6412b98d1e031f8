import { byStreamOrder, type Contribution } from './contribution';
import { InvalidActivityError } from './errors';

/** One delivered event as the hot tier sees it, with its place in the stream. */
export interface HotActivity {
  profileId: string;
  messageId: string;
  event: string;
  /** Event time, ISO 8601. */
  timestamp: string;
  /** Edge time, ISO 8601. */
  receivedAt: string;
  shardId: string;
  sequenceNumber: string;
  /**
   * Every item the event is about, each once, from its schema's item keywords: one for a product
   * view, each product of an order; empty when none. Each gets the event's interaction.
   */
  itemIds: string[];
  /** The traits an `identify` event sets; null for other events. */
  traits: Record<string, unknown> | null;
  /**
   * Enrichment flagged the event's user agent as a bot's: the event counts in its own profile but
   * never feeds trending, item popularity or recommendations.
   */
  isBot: boolean;
  /** The ids the event was sent with, which may link them (docs/identity.md). */
  userId: string | null;
  anonymousId: string | null;
  /** `properties.previous_id` of an alias event; null for other events. */
  previousId: string | null;
  /** An alias allowed to merge two userIds. */
  mergesUsers: boolean;
}

/**
 * Kinesis allows up to 129 decimal digits ("0|([1-9]\d{0,128})"); padding to that width makes
 * lexicographic order equal numeric order, which is what watermarks and stores compare.
 */
const SEQUENCE_WIDTH = 129;

function padSequenceNumber(sequenceNumber: string): string {
  if (!/^\d+$/.test(sequenceNumber) || sequenceNumber.length > SEQUENCE_WIDTH) {
    throw new InvalidActivityError(`Not a Kinesis sequence number: "${sequenceNumber}"`);
  }
  return sequenceNumber.padStart(SEQUENCE_WIDTH, '0');
}

function normaliseTime(value: string, what: string, messageId: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    // Named by messageId, without the value: the message is logged and kept with the failed event.
    throw new InvalidActivityError(`Activity of ${messageId} has an invalid ${what}`);
  }
  // A fixed-width UTC form, so string comparison is chronological.
  return new Date(time).toISOString();
}

/**
 * A JSON number the hot tier can keep as a number, else its text. The limits are DynamoDB's (it
 * refuses magnitudes past 1e126 or below 1e-130, and its SDK refuses integers past 2^53 as
 * imprecise), applied whatever the store, so every store holds the same traits. Non-integers are
 * always below 2^53, so only their small end needs checking.
 */
function storableNumber(n: number): number | string {
  const storable = Number.isInteger(n) ? Number.isSafeInteger(n) : Math.abs(n) >= 1e-130;
  return storable ? n : String(n);
}

/** Traits as the hot tier keeps them, numbers out of range kept as text. */
function storableTraits(value: unknown): unknown {
  if (typeof value === 'number') return storableNumber(value);
  if (Array.isArray(value)) return value.map(storableTraits);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storableTraits(v)]));
  return value;
}

const isIdOrNull = (value: unknown): value is string | null => value === null || typeof value === 'string';

/**
 * The longest item id the hot tier takes, in UTF-8 bytes. Items and trends are folded in after
 * the batch (hot-batch.ts), when no event can be turned away any more, so an id a store could not
 * key (DynamoDB takes 2,048 bytes of partition key) is refused here, with its event; a trend
 * keeps 200 ids, so this also keeps a trend within DynamoDB's 400 KB item.
 */
export const MAX_ITEM_ID_BYTES = 1024;
const utf8 = new TextEncoder();

/**
 * Validates and normalises a batch of activity into contributions, in stream order, before
 * anything is read or written, so a bad record cannot leave a batch half applied. One stream
 * record is one contribution even if handed over twice; of several records with one messageId,
 * the first in stream order stands for it.
 */
export function toContributions(activity: readonly HotActivity[]): Contribution[] {
  const byPosition = new Map<string, Contribution>();
  for (const a of activity) {
    if (a.traits !== null && (typeof a.traits !== 'object' || Array.isArray(a.traits))) {
      throw new InvalidActivityError(`Traits of ${a.messageId} are not an object`);
    }
    if (!Array.isArray(a.itemIds) || !a.itemIds.every((id) => typeof id === 'string')) {
      throw new InvalidActivityError(`Items of ${a.messageId} are not a list of ids`);
    }
    if (a.itemIds.some((id) => utf8.encode(id).length > MAX_ITEM_ID_BYTES)) {
      throw new InvalidActivityError(`An item id of ${a.messageId} is over ${MAX_ITEM_ID_BYTES} bytes`);
    }
    if (!isIdOrNull(a.userId) || !isIdOrNull(a.anonymousId) || !isIdOrNull(a.previousId)) {
      throw new InvalidActivityError(`Ids of ${a.messageId} are not strings`);
    }
    if (typeof a.isBot !== 'boolean' || typeof a.mergesUsers !== 'boolean') {
      throw new InvalidActivityError(`The flags of ${a.messageId} are not booleans`);
    }
    const c: Contribution = {
      messageId: a.messageId,
      profileId: a.profileId,
      event: a.event,
      timestamp: normaliseTime(a.timestamp, 'timestamp', a.messageId),
      receivedAt: normaliseTime(a.receivedAt, 'receivedAt', a.messageId),
      shardId: a.shardId,
      sequence: padSequenceNumber(a.sequenceNumber),
      itemIds: a.itemIds,
      traits: a.traits === null ? null : (storableTraits(a.traits) as Record<string, unknown>),
      isBot: a.isBot,
      userId: a.userId,
      anonymousId: a.anonymousId,
      previousId: a.previousId,
      mergesUsers: a.mergesUsers,
    };
    byPosition.set(`${c.shardId}/${c.sequence}`, c);
  }
  const byMessage = new Map<string, Contribution>();
  for (const c of [...byPosition.values()].sort(byStreamOrder)) {
    if (!byMessage.has(c.messageId)) byMessage.set(c.messageId, c);
  }
  return [...byMessage.values()];
}

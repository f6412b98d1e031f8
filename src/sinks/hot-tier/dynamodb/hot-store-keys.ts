/**
 * Key builders for the single hot-tier table. Every item has a string `pk` and `sk`; ids are
 * also stored as plain attributes so nothing ever has to parse a key back apart.
 * See docs/hot-tier.md for the full layout and every access pattern.
 */
import { HotStoreError } from '../errors';

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
/** Reserved for DynamoDB TTL (epoch seconds) on entities that expire, such as dedupe keys. */
export const TTL_ATTRIBUTE = 'ttl';

export interface HotKey {
  pk: string;
  sk: string;
}

/** The one profile item of a user (or anonymous visitor). */
export function userProfileKey(profileId: string): HotKey {
  return { pk: `USER#${profileId}`, sk: 'PROFILE' };
}

/** An item: counts per event, popularity weight and top-K neighbours, in one record. */
export function itemKey(itemId: string): HotKey {
  return { pk: `ITEM#${itemId}`, sk: 'ITEM' };
}

/** Every item event's trend is kept under `*`, which no event name can be. */
export const ANY_EVENT = '*';

/** The trend of one event (or of every item event) in one window. */
export function trendKey(event: string | null, window: string): HotKey {
  return { pk: `TREND#${event ?? ANY_EVENT}`, sk: window };
}

/**
 * The hot tier's claim on a messageId. The sort key differs from the edge's `DEDUPE` marker, so
 * the two never shadow each other when they share the table.
 */
export function messageClaimKey(messageId: string): HotKey {
  return { pk: `MSG#${messageId}`, sk: 'HOT' };
}

/**
 * Kinesis allows up to 129 decimal digits ("0|([1-9]\d{0,128})"); padding to that width makes
 * lexicographic order equal numeric order, which is what condition expressions compare.
 */
export const SEQUENCE_WIDTH = 129;

export function padSequenceNumber(sequenceNumber: string): string {
  if (!/^\d+$/.test(sequenceNumber) || sequenceNumber.length > SEQUENCE_WIDTH) {
    throw new HotStoreError(
      `Not a Kinesis sequence number: "${sequenceNumber}"`,
      'HOT_STORE_INVALID_ACTIVITY',
    );
  }
  return sequenceNumber.padStart(SEQUENCE_WIDTH, '0');
}

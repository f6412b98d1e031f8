/**
 * Key builders for the single hot-tier table. Every item has a string `pk` and `sk`; ids are
 * also stored as plain attributes so nothing ever has to parse a key back apart.
 * See docs/hot-tier.md for the full layout, including planned entities.
 */
import { HotStoreError } from './dynamodb-errors';

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

/**
 * The attribute holding the highest sequence number of one shard already applied to an item.
 * Shard ids are short and always go through ExpressionAttributeNames, so no escaping is needed.
 */
export function watermarkAttribute(shardId: string): string {
  return `wm_${shardId}`;
}

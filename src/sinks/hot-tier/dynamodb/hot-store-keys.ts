/**
 * Key builders for the single hot-tier table. Every item has a string `pk` and `sk`; ids are
 * also stored as plain attributes so nothing ever has to parse a key back apart.
 * See docs/hot-tier.md for the full layout and every access pattern.
 */
import type { HotStateKey } from '../../../realtime/hot-batch';

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
/** Reserved for DynamoDB TTL (epoch seconds) on entities that expire, such as dedupe keys. */
export const TTL_ATTRIBUTE = 'ttl';

export interface HotKey {
  pk: string;
  sk: string;
}

/** The profile (its head, when stored in two parts: profile-items.ts) of a user or anonymous visitor. */
export function userProfileKey(profileId: string): HotKey {
  return { pk: `USER#${profileId}`, sk: 'PROFILE' };
}

/** The sort keys of a profile's base items (profile-items.ts) begin with this. */
export const PROFILE_BASE_PREFIX = 'PROFILE#';

/** A base item of a profile, under a token that is never reused. */
export function profileBaseKey(profileId: string, token: string): HotKey {
  return { pk: userProfileKey(profileId).pk, sk: `${PROFILE_BASE_PREFIX}${token}` };
}

/** The identity of an id (its links, docs/identity.md), beside the id's profile. */
export function identityKey(id: string): HotKey {
  return { pk: `USER#${id}`, sk: 'IDENTITY' };
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
 * The hot tier's claim on a messageId, as it kept them before profiles remembered their own
 * messageIds: no longer written, but a claim written before expires only a week later, and a
 * person's erasure deletes their claims meanwhile. The sort key differs from the edge's `DEDUPE`
 * marker, so the two never shadow each other when they share the table.
 */
export function messageClaimKey(messageId: string): HotKey {
  return { pk: `MSG#${messageId}`, sk: 'HOT' };
}

/** The partition of the pending log of item and trend changes (dynamodb-pending-log.ts). */
export const PENDING_PARTITION = 'PENDING';

/**
 * One part of a pending entry: sorted by shard, then sequence (padded, so string order is stream
 * order), then the entry's content digest and the part number.
 */
export function pendingPartKey(shardId: string, sequence: string, digest: string, part: number): HotKey {
  return { pk: PENDING_PARTITION, sk: `${shardId}/${sequence}/${digest}/${String(part).padStart(4, '0')}` };
}

/** What a pending part's sort key names: its entry (all but the part number), shard and sequence. */
export function parsePendingPartKey(sk: string): { entry: string; shardId: string; sequence: string } {
  const entry = sk.slice(0, sk.lastIndexOf('/'));
  const withoutDigest = entry.slice(0, entry.lastIndexOf('/'));
  const cut = withoutDigest.lastIndexOf('/');
  return { entry, shardId: withoutDigest.slice(0, cut), sequence: withoutDigest.slice(cut + 1) };
}

/** The table key of one key of the engine's state. */
export function hotKeyOf(key: HotStateKey): HotKey {
  switch (key.kind) {
    case 'profile':
      return userProfileKey(key.profileId);
    case 'item':
      return itemKey(key.itemId);
    case 'trend':
      return trendKey(key.event, key.window);
    case 'identity':
      return identityKey(key.id);
  }
}

/** The plain `id` attribute stored beside the key, so nothing parses a key apart. */
export function idOf(key: HotStateKey): string {
  switch (key.kind) {
    case 'profile':
      return key.profileId;
    case 'item':
      return key.itemId;
    case 'trend':
      return key.event ?? ANY_EVENT;
    case 'identity':
      return key.id;
  }
}

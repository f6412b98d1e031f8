/**
 * The DynamoDB items of a profile stored in two parts (profile-parts.ts): the head item
 * (`USER#<id>` / `PROFILE`), written with every event, and its base item
 * (`USER#<id>` / `PROFILE#<token>`), written when the head outgrows a write unit. The head names
 * its base; a base is never changed, only replaced by a new one under a new token, so a head
 * always joins the very base it was split against, whoever wrote in between.
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ProfileState } from '../../../realtime/profile';
import type { Watermarks } from '../../../realtime/watermarks';
import type { StoredItem } from './dynamodb-batch';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, profileBaseKey, type HotKey } from './hot-store-keys';
import {
  baseOf,
  EMPTY_BASE,
  joinProfile,
  splitProfile,
  type ProfileBase,
  type ProfileHead,
} from './profile-parts';

/** The head's gzip'd JSON: the head and its watermarks (in the blob, where their padding compresses). */
export const HEAD_ATTRIBUTE = 'h';
/** The sort key of the head's base; absent while the head holds the whole profile. */
export const BASE_POINTER_ATTRIBUTE = 'b';
/** A base item's gzip'd JSON. */
const BASE_ATTRIBUTE = 's';

/** One write request unit: an item up to this size costs 1 WRU a put. */
const WRITE_UNIT_BYTES = 1024;

/** The largest head written without a rebase: a write unit, less a margin for itemBytes' estimate. */
export const HEAD_BUDGET_BYTES = WRITE_UNIT_BYTES - 24;

/**
 * How long a base outlives the expiry its head had when the base was written. A head is rebased
 * once its base would expire before it, so a base is rewritten at least this often while its id is
 * active; once the head expires, its base goes at most this much later (nothing reads a base
 * without its head, and erasing the id deletes it at once).
 */
export const BASE_EXPIRY_MARGIN_SECONDS = 7 * 86_400;

/** A base as read: its key, its expiry and its lists. */
export interface StoredBase {
  sk: string;
  expiresAt: number | undefined;
  content: ProfileBase;
}

/** A head item decoded. */
export interface DecodedHead {
  rev: number;
  expiresAt: number | undefined;
  watermarks: Watermarks;
  head: ProfileHead;
  /** The sort key of its base, or null when the head holds the whole profile. */
  baseSk: string | null;
}

/** Whether an item is a head; a profile item written before heads existed holds its state in `s`. */
export function isProfileHead(item: StoredItem): boolean {
  return item[HEAD_ATTRIBUTE] instanceof Uint8Array;
}

export function decodeHead(item: StoredItem): DecodedHead {
  const packed = item[HEAD_ATTRIBUTE] as Uint8Array;
  const { head, wm } = JSON.parse(gunzipSync(packed).toString('utf8')) as {
    head: ProfileHead;
    wm: Watermarks;
  };
  const pointer = item[BASE_POINTER_ATTRIBUTE];
  const ttl = item[TTL_ATTRIBUTE];
  return {
    rev: Number(item.rev ?? 0),
    expiresAt: typeof ttl === 'number' ? ttl : undefined,
    watermarks: wm,
    head,
    baseSk: typeof pointer === 'string' ? pointer : null,
  };
}

export function decodeBase(item: StoredItem): StoredBase {
  const ttl = item[TTL_ATTRIBUTE];
  return {
    sk: String(item[SORT_KEY]),
    expiresAt: typeof ttl === 'number' ? ttl : undefined,
    content: JSON.parse(gunzipSync(item[BASE_ATTRIBUTE] as Uint8Array).toString('utf8')) as ProfileBase,
  };
}

/**
 * The profile a head stands for, given its base as read: null when it names none, or when the
 * base is gone (then its lists hold only the head's own entries).
 */
export function profileOf(head: ProfileHead, base: StoredBase | null): ProfileState {
  return joinProfile(head, base?.content ?? EMPTY_BASE);
}

/** What writing a profile takes: its head item and, on a rebase, the new base item first. */
export interface ProfileWrite {
  head: StoredItem;
  /** A new base to put before the head; the head names it. */
  newBase: StoredItem | null;
}

export interface ProfileWriteInput {
  key: HotKey;
  id: string;
  rev: number;
  state: ProfileState;
  watermarks: Watermarks;
  /** The head's expiry. */
  expiresAt: number;
  /** The base the profile holds now, if it may be kept: null for none, or to leave it behind. */
  base: StoredBase | null;
}

/**
 * The items a profile's write puts. The head is split against the current base while the base
 * outlives it and the head stays within a write unit; otherwise, when it would take fewer write
 * units that way, the write rebases: a new base with every list whole, and the smallest head.
 */
export function planProfileWrite(input: ProfileWriteInput): ProfileWrite {
  const { base } = input;
  const usable =
    base !== null && (base.expiresAt === undefined || base.expiresAt >= input.expiresAt) ? base : null;
  const head = headItem(input, splitProfile(input.state, usable?.content ?? EMPTY_BASE), usable?.sk ?? null);
  const stale = base !== null && usable === null;
  if (!stale && itemBytes(head) <= HEAD_BUDGET_BYTES) return { head, newBase: null };

  const content = baseOf(input.state);
  const sk = profileBaseKey(input.id, `${input.rev}.${randomBytes(6).toString('base64url')}`).sk;
  const rebased = headItem(input, splitProfile(input.state, content), sk);
  if (!stale && writeUnits(rebased) >= writeUnits(head)) return { head, newBase: null };
  const newBase: StoredItem = {
    [PARTITION_KEY]: input.key.pk,
    [SORT_KEY]: sk,
    id: input.id,
    [BASE_ATTRIBUTE]: gzipSync(JSON.stringify(content)),
    [TTL_ATTRIBUTE]: input.expiresAt + BASE_EXPIRY_MARGIN_SECONDS,
  };
  return { head: rebased, newBase };
}

function headItem(input: ProfileWriteInput, head: ProfileHead, baseSk: string | null): StoredItem {
  const item: StoredItem = {
    ...input.key,
    id: input.id,
    rev: input.rev,
    [HEAD_ATTRIBUTE]: gzipSync(JSON.stringify({ head, wm: input.watermarks })),
    [TTL_ATTRIBUTE]: input.expiresAt,
  };
  if (baseSk !== null) item[BASE_POINTER_ATTRIBUTE] = baseSk;
  return item;
}

/** Write units of a put, taking the budget as a unit's size so the estimate's margin counts. */
function writeUnits(item: StoredItem): number {
  return Math.ceil(itemBytes(item) / HEAD_BUDGET_BYTES);
}

/**
 * An item's size as DynamoDB bills it: each attribute's name and value in bytes (UTF-8 strings,
 * binary as is, numbers about one byte per two digits plus one, lists and maps 3 bytes plus one
 * per element). Close enough to choose between one write unit and two.
 */
export function itemBytes(item: StoredItem): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) total += Buffer.byteLength(name) + valueBytes(value);
  return total;
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/\D/g, '').length / 2) + 1;
  if (Array.isArray(value)) return 3 + value.reduce<number>((sum, v) => sum + 1 + valueBytes(v), 0);
  if (value !== null && typeof value === 'object') {
    return (
      3 + Object.entries(value).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k) + valueBytes(v), 0)
    );
  }
  return 1;
}

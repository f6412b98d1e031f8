import { createHash } from 'node:crypto';
import type { Contribution } from './contribution';
import type { Versioned } from './watermarks';

/**
 * The messageIds a profile has applied, which is how the hot tier keeps a client's resend from
 * counting twice. A resend carries the event's own ids, so it reaches the same profile (and, as the
 * edge partitions by profile, the same shard, after the original): the profile that counted the
 * original is where the resend is found out. Kept in the profile, the record of a messageId is
 * written by the same conditional put that applies its event, so the two can never disagree, and
 * it costs no item of its own.
 *
 * A profile's latest events (`recentEvents`) hold their messageIds already; `seen` holds the
 * others of the window, the events that left `recentEvents` (or never made it in, being older than
 * all of them). Each entry is `<day>:<fingerprint>`: the UTC day the event left the latest events
 * (days since the epoch, base 36), from which the window counts, and 60 bits of the SHA-256 of its
 * messageId (base64url). Newest first.
 */
export type SeenEntry = string;

export interface SeenLimits {
  /**
   * Days a messageId that left the latest events is remembered for, counted back from the day the
   * newest left them.
   */
  seenDays: number;
  /** The most messageIds `seen` holds beside the latest events', whatever their age: the newest. */
  seenIds: number;
}

/**
 * A week, as the hot tier's claim items were kept; with the 50 latest events, 1,000 ids cover a
 * week of about 150 events a day.
 */
export const DEFAULT_SEEN_LIMITS: SeenLimits = { seenDays: 7, seenIds: 1000 };

const DAY_MS = 86_400_000;
const FINGERPRINT_CHARS = 10;

/** 60 bits of the messageId's SHA-256: two of a profile's 1,000 ids collide about once in 10^15. */
export function messageFingerprint(messageId: string): string {
  return createHash('sha256').update(messageId).digest('base64url').slice(0, FINGERPRINT_CHARS);
}

const dayOf = (receivedAt: string): number => Math.floor(Date.parse(receivedAt) / DAY_MS);

const entryDay = (entry: SeenEntry): number => parseInt(entry.slice(0, entry.indexOf(':')), 36);

const entryFingerprint = (entry: SeenEntry): string => entry.slice(entry.indexOf(':') + 1);

/**
 * The messageIds a profile remembers: its latest events' as they are, and `seen`'s by fingerprint.
 * Only an id looked up is hashed, not every id remembered.
 */
export class RememberedMessages {
  private readonly ids: Set<string>;
  private readonly fingerprints: Set<string>;

  constructor(
    profile: { recentEvents: ReadonlyArray<{ messageId: string }>; seen?: readonly SeenEntry[] } | null,
  ) {
    this.ids = new Set(profile?.recentEvents.map((event) => event.messageId));
    this.fingerprints = new Set(profile?.seen?.map(entryFingerprint));
  }

  has(messageId: string): boolean {
    return this.ids.has(messageId) || this.fingerprints.has(messageFingerprint(messageId));
  }

  add(messageId: string): void {
    this.ids.add(messageId);
  }
}

/**
 * `seen` with the messageIds that just left the latest events in front (given newest first, with
 * the edge time of the event that pushed them out), then cut to the limits: entries older than
 * `seenDays` before the newest, and past `seenIds`. Depends only on its inputs (the days are edge
 * times, not the clock), as a profile's reduction must.
 */
export function rememberSeen(
  seen: readonly SeenEntry[] | undefined,
  left: ReadonlyArray<{ messageId: string; at: string }>,
  limits: SeenLimits,
): SeenEntry[] {
  const all = [
    ...left.map(({ messageId, at }) => `${dayOf(at).toString(36)}:${messageFingerprint(messageId)}`),
    ...(seen ?? []),
  ];
  if (all.length === 0) return [];
  const newest = Math.max(...all.map(entryDay));
  return all.filter((entry) => entryDay(entry) > newest - limits.seenDays).slice(0, limits.seenIds);
}

/**
 * Whether a contribution is a resend: a later record with a messageId the profile has already
 * applied. A redelivery of the very record that applied it is not (it is at or below the profile's
 * watermark for its shard, and the watermarks drop it from the profile; what it does elsewhere, such
 * as its identity changes, is applied again, idempotently).
 */
export function isResend(
  profile: Versioned<unknown> | null,
  c: Contribution,
  remembered: RememberedMessages,
): boolean {
  if (profile === null) return false;
  if (c.sequence <= (profile.watermarks[c.shardId] ?? '')) return false;
  return remembered.has(c.messageId);
}

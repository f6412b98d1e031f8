/**
 * One stream record's contribution to the hot tier, normalised: times are fixed-width ISO 8601
 * UTC and sequence numbers are padded, so string order is time order and stream order.
 */
export interface Contribution {
  messageId: string;
  profileId: string;
  event: string;
  /** Event time. */
  timestamp: string;
  /** Edge time: what trending decays by, so a client's clock cannot push an item up. */
  receivedAt: string;
  shardId: string;
  sequence: string;
  /** Every item the event is about (an order names each of its products); empty for none. */
  itemIds: readonly string[];
  /** Traits set by an `identify` event. */
  traits: Record<string, unknown> | null;
  /** Sent by a bot: counts in its own profile, never toward an item. */
  isBot: boolean;
  userId: string | null;
  anonymousId: string | null;
  /** The previous id an alias event claims. */
  previousId: string | null;
  mergesUsers: boolean;
}

/** Stream order: the only order that is the same on every redelivery. */
export function byStreamOrder(a: Contribution, b: Contribution): number {
  if (a.shardId !== b.shardId) return a.shardId < b.shardId ? -1 : 1;
  return a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0;
}

/** Whether a happened after b, by event time, ties broken by stream position. */
export function isLater(
  a: { timestamp: string; sequence: string },
  b: { timestamp: string; sequence: string },
): boolean {
  return a.timestamp > b.timestamp || (a.timestamp === b.timestamp && a.sequence > b.sequence);
}

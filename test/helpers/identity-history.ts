import type { HotActivity } from '../../src/sinks/hot-tier/port';
import { seededRandom } from './seeded-random';

/**
 * A generated history for identity tests: people who browse anonymously on one or more devices and
 * then sign in, some never signing in, some devices shared by two people, junk ids, and clients
 * resending messages. Anonymous events travel on one shard and signed-in events on another (the
 * edge partitions by profile), each shard in edge-time order.
 */
export interface GeneratedEvent {
  messageId: string;
  event: string;
  userId: string | null;
  anonymousId: string | null;
  receivedAt: string;
  timestamp: string;
  itemIds: string[];
  traits: Record<string, unknown> | null;
}

export interface IdentityHistory {
  /** Every stream record, per shard in stream order; a client's resend is a second record. */
  shards: Map<string, HotActivity[]>;
  /** Each message once, as first sent. */
  events: GeneratedEvent[];
  /** Every id that has a profile or is linked, to ask the hot tier about. */
  ids: string[];
}

export const JUNK_ANONYMOUS_ID = 'null';
const T0 = Date.UTC(2026, 2, 2, 8);

export function generateIdentityHistory(seed: number, people: number): IdentityHistory {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const items = Array.from({ length: 40 }, (_, i) => `sku-${i}`);
  const devicesOf: string[][] = [];
  for (let p = 0; p < people; p++)
    devicesOf.push(Array.from({ length: int(1, 3) }, (_, d) => `anon-${p}-${d}`));

  let n = 0;
  // Unique, increasing edge times: stream order on a shard is edge-time order, as at the edge.
  const slots = new Set<number>();
  const timeSlot = (): number => {
    let slot = int(0, 24 * 3600);
    while (slots.has(slot)) slot = int(0, 24 * 3600);
    slots.add(slot);
    return slot;
  };
  const events: GeneratedEvent[] = [];
  const add = (
    userId: string | null,
    anonymousId: string | null,
    event: string,
    traits: Record<string, unknown> | null = null,
  ) => {
    const slot = timeSlot();
    const itemIds =
      event === 'product_viewed'
        ? [pick(items)]
        : event === 'order_completed'
          ? [pick(items), pick(items)]
          : [];
    events.push({
      messageId: `msg-${String(++n).padStart(6, '0')}`,
      event,
      userId,
      anonymousId,
      receivedAt: new Date(T0 + slot * 1000).toISOString(),
      // The client's clock, a fixed second behind: event-time order is edge-time order.
      timestamp: new Date(T0 + slot * 1000 - 1000).toISOString(),
      itemIds: [...new Set(itemIds)],
      traits,
    });
  };

  for (let p = 0; p < people; p++) {
    const userId = `user-${p}`;
    const devices = devicesOf[p] ?? [];
    for (const device of devices) {
      for (let k = int(1, 5); k > 0; k--)
        add(null, device, pick(['product_viewed', 'page_viewed', 'product_viewed']));
    }
    if (random() < 0.2) continue; // never signs in
    for (let k = int(1, 6); k > 0; k--) {
      const roll = random();
      if (roll < 0.15)
        add(userId, null, 'order_completed'); // a server-side event, no device
      else if (roll < 0.3)
        add(userId, pick(devices), 'identify', { plan: pick(['free', 'pro', 'team']), visits: k });
      else add(userId, pick(devices), pick(['product_viewed', 'order_completed', 'product_viewed']));
    }
    // A shared device: this person signs in on someone else's browser.
    if (random() < 0.06 && p > 0) add(userId, pick(devicesOf[int(0, p - 1)] ?? []), 'product_viewed');
    // A broken client sends a junk anonymous id beside the userId.
    if (random() < 0.05) add(userId, JUNK_ANONYMOUS_ID, 'page_viewed');
  }
  for (let k = 0; k < 5; k++) add(null, JUNK_ANONYMOUS_ID, 'page_viewed');

  const shards = new Map<string, HotActivity[]>();
  const records = [...events].sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : 1));
  const resends: GeneratedEvent[] = [];
  for (const e of records) {
    const shardId = e.userId === null ? 'shardId-anonymous' : 'shardId-signed-in';
    const list = shards.get(shardId) ?? [];
    list.push(toActivity(e, shardId, list.length + 1));
    shards.set(shardId, list);
    if (random() < 0.03) resends.push(e);
  }
  // A client resends a message it had no answer for: a later record on the same shard, edge time later.
  for (const e of resends) {
    const shardId = e.userId === null ? 'shardId-anonymous' : 'shardId-signed-in';
    const list = shards.get(shardId) ?? [];
    const later = new Date(T0 + (24 * 3600 + list.length) * 1000).toISOString();
    list.push({ ...toActivity(e, shardId, list.length + 1), receivedAt: later });
  }

  const ids = new Set<string>();
  for (const e of events) {
    if (e.userId !== null) ids.add(e.userId);
    if (e.anonymousId !== null) ids.add(e.anonymousId);
  }
  return { shards, events, ids: [...ids].sort() };
}

function toActivity(e: GeneratedEvent, shardId: string, sequence: number): HotActivity {
  return {
    profileId: e.userId ?? e.anonymousId ?? '',
    messageId: e.messageId,
    event: e.event,
    timestamp: e.timestamp,
    receivedAt: e.receivedAt,
    shardId,
    sequenceNumber: String(sequence),
    itemIds: e.itemIds,
    traits: e.traits,
    isBot: false,
    userId: e.userId,
    anonymousId: e.anonymousId,
    previousId: null,
    mergesUsers: false,
  };
}

/** What a store's write hook throws to stop a batch half written. */
export class InjectedCrash extends Error {}

function isInjectedCrash(error: unknown): boolean {
  return error instanceof InjectedCrash || (error instanceof Error && error.cause instanceof InjectedCrash);
}

/** A write hook that lets `writes` writes through, then crashes every one after. */
export function crashAfter(writes: number | undefined): () => void {
  let left = writes ?? Number.POSITIVE_INFINITY;
  return () => {
    if (left-- <= 0) throw new InjectedCrash('crashed between writes');
  };
}

/**
 * Delivers the shards' records as the stream does: batches from either shard interleaved at random,
 * each shard in order, some batches delivered twice, some crashing half written and then retried.
 */
export async function deliverInterleaved(
  history: IdentityHistory,
  seed: number,
  apply: (batch: HotActivity[], crashAfterWrites: number | undefined) => Promise<void>,
): Promise<{ batches: number; crashes: number; redeliveries: number }> {
  const random = seededRandom(seed);
  const queues = [...history.shards.values()].map((records) => [...records]);
  const stats = { batches: 0, crashes: 0, redeliveries: 0 };
  for (;;) {
    const open = queues.filter((q) => q.length > 0);
    if (open.length === 0) return stats;
    const queue = open[Math.floor(random() * open.length)] ?? [];
    const batch = queue.splice(0, 1 + Math.floor(random() * 40));
    stats.batches += 1;
    if (random() < 0.15) {
      stats.crashes += 1;
      await apply(batch, Math.floor(random() * 30)).catch((error: unknown) => {
        if (!isInjectedCrash(error)) throw error;
      });
    }
    await apply(batch, undefined);
    if (random() < 0.1) {
      stats.redeliveries += 1;
      await apply(batch, undefined);
    }
  }
}

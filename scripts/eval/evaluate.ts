import { itemIdsOf } from '../../src/events/event-items';
import type { SchemaRegistry } from '../../src/events/schema-registry';
import { loadSchemaRegistry } from '../../src/services/schema-files';
import { RecommendationService } from '../../src/services/recommendation-service';
import type { HotActivity } from '../../src/sinks/hot-tier/port';
import type { SimulatedEvent } from '../simulation/generate';
import { hitRate, holdOutLastItem, mostPopular, popularity } from './holdout';
import { MemoryHotStore } from './memory-hot-store';

export interface EvalOptions {
  /** Recommendations per user that count (hit rate@k). */
  k: number;
  /** Events per stream batch in the replay, as the poller hands them over. */
  batchSize: number;
  registry?: SchemaRegistry;
}

export interface EvalResult {
  users: number;
  engine: number;
  baseline: number;
  /** engine / baseline. */
  lift: number;
}

/**
 * Every item an event is about, by its schema's item keywords (`x-item-property`, `x-item-list`),
 * as the stream processor reads them; empty for events whose schema names none.
 */
export function itemsOf(registry: SchemaRegistry, event: SimulatedEvent): string[] {
  const resolution = registry.resolve(event.event, undefined);
  return itemIdsOf(resolution.kind === 'schema' ? resolution.schema : null, event.properties);
}

/** Simulated events as the stream hands them to the hot tier, one shard, in the given order. */
export function toActivity(events: readonly SimulatedEvent[], registry: SchemaRegistry): HotActivity[] {
  return events.map((e, index) => ({
    profileId: e.userId ?? e.anonymousId ?? '',
    messageId: e.messageId,
    event: e.event,
    timestamp: e.timestamp,
    receivedAt: e.timestamp,
    shardId: 'shardId-000000000000',
    sequenceNumber: String(index + 1),
    itemIds: itemsOf(registry, e),
    traits: e.event === 'identify' ? e.properties : null,
    isBot: false,
    userId: e.userId ?? null,
    anonymousId: e.anonymousId ?? null,
    previousId: null,
    mergesUsers: false,
  }));
}

/**
 * Replays a history through the pure engine in stream-sized batches, holding out each user's last
 * item, and compares hit rate@k of the engine's recommendations (through RecommendationService,
 * the code GraphQL runs) with recommending the most popular items.
 */
export async function evaluateRecommendations(
  events: readonly SimulatedEvent[],
  options: EvalOptions,
): Promise<EvalResult> {
  const activity = toActivity(events, options.registry ?? loadSchemaRegistry());
  const { train, heldOut } = holdOutLastItem(activity);
  const store = new MemoryHotStore();
  for (let i = 0; i < train.length; i += options.batchSize) {
    await store.applyActivity(train.slice(i, i + options.batchSize));
  }
  const lastTime = Date.parse(train.at(-1)?.receivedAt ?? new Date(0).toISOString());
  const service = new RecommendationService(store, () => lastTime);
  const ranked = popularity(train);
  const engine = new Map<string, string[]>();
  const baseline = new Map<string, string[]>();
  for (const profileId of heldOut.keys()) {
    const profile = await store.getUser(profileId);
    const recs = await service.forProfile(profile, options.k);
    engine.set(
      profileId,
      recs.map((r) => r.itemId),
    );
    baseline.set(profileId, mostPopular(ranked, new Set(profile?.purchased ?? []), options.k));
  }
  const engineRate = hitRate(engine, heldOut, options.k);
  const baselineRate = hitRate(baseline, heldOut, options.k);
  return {
    users: heldOut.size,
    engine: engineRate,
    baseline: baselineRate,
    lift: baselineRate > 0 ? engineRate / baselineRate : Infinity,
  };
}

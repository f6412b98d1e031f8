import { itemIdsOf } from '../../src/events/event-items';
import type { SchemaRegistry } from '../../src/events/schema-registry';
import { ProfileService } from '../../src/services/profile-service';
import { loadSchemaRegistry } from '../../src/services/schema-files';
import { RecommendationService } from '../../src/services/recommendation-service';
import type { HotActivity } from '../../src/sinks/hot-tier/port';
import type { SimulatedEvent } from '../simulation/generate';
import { hitRate, holdOutFirstItemAfter, holdOutLastItem, mostPopular, popularity } from './holdout';
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

/** Recommendations asked for by people's userIds, with identities stitched and without. */
export interface StitchingComparison {
  /** People evaluated, each by their userId. */
  users: number;
  /** Of those, the ones who browsed under an anonymous id of their own before signing in. */
  anonymousFirst: number;
  /** Hit rate@k of recommendations from the whole person's history (ProfileService.user). */
  stitched: number;
  /** Hit rate@k of recommendations from the userId's own profile only. */
  unstitched: number;
  /** stitched / unstitched. */
  lift: number;
}

export interface StitchingResult {
  /** Every signed-in person's last item held out, as evaluateRecommendations holds out each user's. */
  lastItem: StitchingComparison;
  /**
   * For people who came to items anonymously before signing in, the first new item they came to
   * once signed in: what recommendations are worth at the moment a shopper signs in.
   */
  atSignIn: StitchingComparison;
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
  const { store, now } = await replay(train, options.batchSize);
  const service = new RecommendationService(store, now);
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

/**
 * Replays a history in which people may browse anonymously before signing in and compares hit
 * rate@k of the recommendations asked for by their userId with identities stitched (the person's
 * merged profile, as GraphQL reads it) and without (the userId's own profile only), on the same
 * replay: once holding out each signed-in person's last item, and once the first new item they
 * came to after signing in. A person's item counts whichever of their ids it came under.
 */
export async function evaluateStitching(
  events: readonly SimulatedEvent[],
  options: EvalOptions,
): Promise<StitchingResult> {
  const activity = toActivity(events, options.registry ?? loadSchemaRegistry());
  // Who an anonymous id turns out to be, from the events that carry it beside a userId: the truth
  // the hold-out needs, whether or not the engine has seen the link before the cut.
  const userOf = new Map<string, string>();
  for (const a of activity) {
    if (a.userId !== null && a.anonymousId !== null && !userOf.has(a.anonymousId)) {
      userOf.set(a.anonymousId, a.userId);
    }
  }
  const people = activity.map((a) => ({
    a,
    profileId: a.userId ?? userOf.get(a.anonymousId ?? '') ?? a.profileId,
    itemIds: a.itemIds,
  }));
  const userIds = new Set(activity.flatMap((a) => (a.userId === null ? [] : [a.userId])));
  const lastItem = holdOutLastItem(people);
  // Before a person's first event under their userId, all they did was under an anonymous id.
  const atSignIn = holdOutFirstItemAfter(people, ({ a }) => a.userId !== null);
  return {
    lastItem: await compareStitching(
      lastItem.train.map(({ a }) => a),
      new Map([...lastItem.heldOut].filter(([personId]) => userIds.has(personId))),
      userOf,
      options,
    ),
    atSignIn: await compareStitching(
      atSignIn.train.map(({ a }) => a),
      atSignIn.heldOut,
      userOf,
      options,
    ),
  };
}

async function compareStitching(
  train: readonly HotActivity[],
  heldOut: ReadonlyMap<string, string>,
  userOf: ReadonlyMap<string, string>,
  options: EvalOptions,
): Promise<StitchingComparison> {
  const { store, now } = await replay(train, options.batchSize);
  const profiles = new ProfileService(store, {}, now);
  const hitRateOf = async (service: RecommendationService) => {
    const recommended = new Map<string, string[]>();
    for (const userId of heldOut.keys()) {
      const recs = await service.recommend({ userId, limit: options.k });
      recommended.set(
        userId,
        recs.map((r) => r.itemId),
      );
    }
    return hitRate(recommended, heldOut, options.k);
  };
  const stitched = await hitRateOf(new RecommendationService(store, now, (id) => profiles.user(id)));
  const unstitched = await hitRateOf(new RecommendationService(store, now, (id) => store.getUser(id)));
  const browsedAnonymously = new Set(
    train.flatMap((a) => {
      const user = a.userId === null && a.anonymousId !== null ? userOf.get(a.anonymousId) : undefined;
      return user === undefined ? [] : [user];
    }),
  );
  return {
    users: heldOut.size,
    anonymousFirst: [...heldOut.keys()].filter((id) => browsedAnonymously.has(id)).length,
    stitched,
    unstitched,
    lift: unstitched > 0 ? stitched / unstitched : Infinity,
  };
}

/** The hot tier after a training history, applied in stream-sized batches, and "now" at its end. */
async function replay(
  train: readonly HotActivity[],
  batchSize: number,
): Promise<{ store: MemoryHotStore; now: () => number }> {
  const store = new MemoryHotStore();
  for (let i = 0; i < train.length; i += batchSize) {
    await store.applyActivity(train.slice(i, i + batchSize));
    await store.foldPending();
  }
  const lastTime = Date.parse(train.at(-1)?.receivedAt ?? new Date(0).toISOString());
  return { store, now: () => lastTime };
}

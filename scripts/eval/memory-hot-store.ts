import { defaultInteractionModel } from '../../src/realtime/interactions';
import {
  reduceItem,
  reduceItemStats,
  type ItemChange,
  type ItemState,
  type NeighbourEntry,
} from '../../src/realtime/items';
import { reduceProfile, type ItemTouch, type PairDelta, type ProfileState } from '../../src/realtime/profile';
import { reduceTrend, type TrendState, type TrendWindow } from '../../src/realtime/trending';
import { padSequenceNumber } from '../../src/sinks/hot-tier/dynamodb/hot-store-keys';
import type { HotActivity, HotStore, ItemRecord, UserProfileRecord } from '../../src/sinks/hot-tier/port';

const WINDOWS: readonly TrendWindow[] = ['HOUR', 'DAY'];

/**
 * The hot tier in memory, reduced by the same pure engine and in the same order as the DynamoDB
 * adapter applies a stream batch: profiles first (yielding touches and co-occurrence), then every
 * touched item's new weight, then items scored against those weights, then trends. It skips only
 * what exists for redelivery (claims, watermarks, versions), which an offline replay never needs.
 */
export class MemoryHotStore implements HotStore {
  private readonly profiles = new Map<string, ProfileState>();
  private readonly items = new Map<string, ItemState>();
  private readonly trends = new Map<string, TrendState>();

  /** Applies one batch, in stream order. */
  async applyActivity(activity: HotActivity[]): Promise<void> {
    const byProfile = new Map<string, HotActivity[]>();
    for (const a of activity) byProfile.set(a.profileId, [...(byProfile.get(a.profileId) ?? []), a]);
    const touches: ItemTouch[] = [];
    const pairs: PairDelta[] = [];
    for (const [id, list] of byProfile) {
      const outcome = reduceProfile(
        this.profiles.get(id) ?? null,
        list.map((a) => ({ ...a, sequence: padSequenceNumber(a.sequenceNumber) })),
        defaultInteractionModel,
      );
      this.profiles.set(id, outcome.state);
      touches.push(...outcome.touches);
      pairs.push(...outcome.pairs);
    }
    if (touches.length === 0) return;

    const changes = new Map<string, ItemChange[]>();
    for (const change of [...touches, ...pairs]) {
      changes.set(change.itemId, [...(changes.get(change.itemId) ?? []), change]);
    }
    const weights = new Map<string, number>();
    for (const [id, list] of changes) {
      const own = list.filter((c): c is ItemTouch => !('otherId' in c));
      weights.set(id, reduceItemStats(this.items.get(id) ?? null, own).weight);
    }
    for (const [id, list] of changes) {
      this.items.set(
        id,
        reduceItem(this.items.get(id) ?? null, list, (other) => weights.get(other)),
      );
    }
    for (const window of WINDOWS) {
      this.applyTrend(null, window, touches);
      for (const event of new Set(touches.map((t) => t.event))) {
        this.applyTrend(
          event,
          window,
          touches.filter((t) => t.event === event),
        );
      }
    }
  }

  private applyTrend(event: string | null, window: TrendWindow, touches: ItemTouch[]): void {
    const key = `${event ?? '*'}/${window}`;
    this.trends.set(key, reduceTrend(this.trends.get(key) ?? null, touches, window));
  }

  /** Reads one profile, or null when the id has never been seen. */
  async getUser(id: string): Promise<UserProfileRecord | null> {
    const state = this.profiles.get(id);
    return state === undefined ? null : { ...state, id };
  }

  /** Reads one item's stats and neighbours, or null when the item has never been seen. */
  async getItem(id: string): Promise<ItemRecord | null> {
    const state = this.items.get(id);
    if (state === undefined) return null;
    const { neighbours, ...stats } = state;
    return { id, stats, neighbours };
  }

  /** Reads several items' neighbour lists; unknown items are absent. */
  async getNeighbours(itemIds: string[]): Promise<Map<string, NeighbourEntry[]>> {
    const found = new Map<string, NeighbourEntry[]>();
    for (const id of itemIds) {
      const state = this.items.get(id);
      if (state !== undefined) found.set(id, state.neighbours);
    }
    return found;
  }

  /** Reads the trend of one event (null: every item event) in one window. */
  async getTrend(event: string | null, window: TrendWindow): Promise<TrendState | null> {
    return this.trends.get(`${event ?? '*'}/${window}`) ?? null;
  }
}

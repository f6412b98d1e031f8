import { randomUUID } from 'node:crypto';
import type { Contribution } from '../../src/realtime/contribution';
import { reduceProfile, type ProfileState } from '../../src/realtime/profile';
import {
  baseOf,
  EMPTY_BASE,
  joinProfile,
  splitProfile,
  type ProfileBase,
} from '../../src/sinks/hot-tier/dynamodb/profile-parts';
import { seededRandom } from '../helpers/seeded-random';

const DAY0 = Date.UTC(2026, 0, 5);
const EVENTS = ['page', 'product_viewed', 'product_added_to_cart', 'order_completed', 'identify'];

/** A user's events with times that mostly move on, sometimes arrive late, and now and then identify. */
function contributions(count: number, random: () => number): Contribution[] {
  let clock = DAY0;
  return Array.from({ length: count }, (_, n) => {
    clock += random() < 0.2 ? 3 * 3_600_000 : 60_000;
    const late = random() < 0.1 ? Math.floor(random() * 48) * 3_600_000 : 0;
    const event = EVENTS[Math.floor(random() * EVENTS.length)] ?? 'page';
    const items = event === 'order_completed' ? ['a', 'b'] : event === 'identify' ? [] : [`sku-${n % 30}`];
    const time = new Date(clock - late).toISOString();
    return {
      messageId: randomUUID(),
      profileId: 'u1',
      event,
      timestamp: time,
      receivedAt: time,
      shardId: 'shardId-000000000000',
      sequence: String(n + 1).padStart(129, '0'),
      itemIds: items,
      traits: event === 'identify' ? { plan: random() < 0.5 ? 'pro' : 'free', n } : null,
      isBot: false,
      userId: 'u1',
      anonymousId: null,
      previousId: null,
      mergesUsers: false,
    };
  });
}

/** Every state a profile goes through, one event at a time. */
function history(count: number, seed: number): ProfileState[] {
  const states: ProfileState[] = [];
  let state: ProfileState | null = null;
  for (const c of contributions(count, seededRandom(seed))) {
    state = reduceProfile(state, [c]).state;
    states.push(state);
  }
  return states;
}

/** The head's own entries: what it writes beyond the base. */
function ownEntries(state: ProfileState, base: ProfileBase): number {
  const head = splitProfile(state, base);
  return (
    head.recentEvents.own.length +
    head.sessions.own.length +
    head.purchased.own.length +
    (head.seen?.own.length ?? 0)
  );
}

describe('a profile split into a head and a base', () => {
  it('joins back to the very profile, against any base of any earlier state', () => {
    for (const seed of [1, 2, 3]) {
      const states = history(160, seed);
      const random = seededRandom(seed * 7);
      for (const [i, state] of states.entries()) {
        const earlier = states[Math.floor(random() * (i + 1))] as ProfileState;
        for (const base of [EMPTY_BASE, baseOf(earlier), baseOf(state)]) {
          expect(joinProfile(splitProfile(state, base), base)).toEqual(state);
        }
      }
    }
  });

  it('joins back to the profile against a base of somebody else entirely', () => {
    const mine = history(80, 11).at(-1) as ProfileState;
    const theirs = history(80, 12).at(-1) as ProfileState;
    expect(joinProfile(splitProfile(mine, baseOf(theirs)), baseOf(theirs))).toEqual(mine);
  });

  it('holds no list entries of its own right after a rebase, and the base holds them whole', () => {
    const state = history(120, 4).at(-1) as ProfileState;
    const head = splitProfile(state, baseOf(state));
    expect(ownEntries(state, baseOf(state))).toBe(0);
    expect(head.ownTraits).toBeUndefined();
    expect(head.recentEvents.fromBase).toBe(state.recentEvents.length);
    expect(state.recentEvents).toHaveLength(50);
    expect(head.seen?.fromBase).toBe(state.seen?.length);
  });

  it('adds about an entry per list per event while events arrive in order', () => {
    // In order and in one session: each event adds one recent event and changes the open session.
    const random = seededRandom(5);
    const inOrder = contributions(140, () => (random() < 0.1 ? 0.5 : random() * 0.05 + 0.3));
    let state: ProfileState | null = null;
    for (const c of inOrder.slice(0, 100)) state = reduceProfile(state, [c]).state;
    const base = baseOf(state as ProfileState);
    for (const [n, c] of inOrder.slice(100).entries()) {
      state = reduceProfile(state, [c]).state;
      const head = splitProfile(state, base);
      expect(head.recentEvents.own).toHaveLength(n + 1);
      expect(head.sessions.own.length).toBeLessThanOrEqual(1);
      expect(head.recentEvents.fromBase).toBe(50 - (n + 1));
      // Each event pushes the oldest of the latest events out, and its messageId into `seen`.
      expect(head.seen?.own).toHaveLength(n + 1);
      expect(head.seen?.fromBase).toBe(50);
    }
  });

  it('joins back to a profile that keeps no messageIds (written before it did), against any base', () => {
    const states = history(60, 13);
    const { seen: _dropped, ...old } = states.at(-1) as ProfileState;
    for (const base of [EMPTY_BASE, baseOf(states[30] as ProfileState), baseOf(old)]) {
      const head = splitProfile(old, base);
      expect(head.seen).toBeUndefined();
      expect(joinProfile(head, base)).toEqual(old);
    }
  });

  it('keeps traits in the head only while they differ from the base', () => {
    const state = history(60, 6).at(-1) as ProfileState;
    const base = baseOf(state);
    expect(splitProfile(state, base).ownTraits).toBeUndefined();
    const changed = {
      ...state,
      traits: { ...state.traits, plan: 'enterprise' },
      traitsAt: '2030-01-01T00:00:00.000Z',
    };
    const head = splitProfile(changed, base);
    expect(head.ownTraits).toEqual({ traits: changed.traits, at: changed.traitsAt });
    expect(joinProfile(head, base)).toEqual(changed);
  });
});

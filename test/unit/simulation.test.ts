import { checkEventSchema } from '../../src/events/schema-check';
import { loadSchemaRegistry } from '../../src/services/schema-files';
import {
  generateTraffic,
  type SimulatedEvent,
  type SimulationOptions,
} from '../../scripts/simulation/generate';
import { itemsOf } from '../../scripts/eval/evaluate';

const OPTIONS: SimulationOptions = {
  users: 300,
  events: 12_000,
  seed: 20260504,
  items: 400,
  end: Date.parse('2026-05-04T12:00:00Z'),
};
const registry = loadSchemaRegistry(undefined, { unknownEvents: 'reject' });

describe('generateTraffic', () => {
  const simulation = generateTraffic(OPTIONS);
  const itemEvents = simulation.events.flatMap((e) =>
    itemsOf(registry, e).map((itemId) => ({ ...e, itemId, profileId: e.userId ?? e.anonymousId ?? '' })),
  );

  it('is the same for the same seed and different for another', () => {
    expect(generateTraffic(OPTIONS)).toEqual(simulation);
    const other = generateTraffic({ ...OPTIONS, seed: OPTIONS.seed + 1 });
    expect(other.events.map((e) => e.properties)).not.toEqual(simulation.events.map((e) => e.properties));
  });

  it('sends exactly the events asked for, unique messageIds, in time order within the span', () => {
    const { events } = simulation;
    expect(events).toHaveLength(OPTIONS.events);
    expect(new Set(events.map((e) => e.messageId)).size).toBe(events.length);
    const times = events.map((e) => Date.parse(e.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(OPTIONS.end - 24 * 3_600_000);
    expect(new Set(events.map((e) => e.userId ?? e.anonymousId)).size).toBe(OPTIONS.users);
  });

  it('passes the shipped schemas: every event name has one and every event validates', () => {
    const failures = simulation.events
      .map((e) => ({ e, check: checkEventSchema(registry, e) }))
      .filter(({ check }) => !check.ok);
    expect(failures.slice(0, 3)).toEqual([]);
    const names = new Set(simulation.events.map((e) => e.event));
    for (const name of ['page_viewed', 'product_viewed', 'product_added_to_cart', 'checkout_started']) {
      expect(names).toContain(name);
    }
    expect(names).toContain('order_completed');
    // Orders name their products; a product_purchased per line as well would count each purchase twice.
    expect(names).not.toContain('product_purchased');
  });

  it('moves sessions down the funnel: views > carts > checkouts > orders, each listing what was carted', () => {
    const count = (name: string) => simulation.events.filter((e) => e.event === name).length;
    expect(count('product_viewed')).toBeGreaterThan(count('product_added_to_cart'));
    expect(count('product_added_to_cart')).toBeGreaterThan(count('checkout_started'));
    expect(count('checkout_started')).toBeGreaterThan(count('order_completed'));
    expect(simulation.purchases).toBe(count('order_completed'));
    const carted = new Map<string, Set<string>>();
    const notCarted: string[] = [];
    for (const e of itemEvents) {
      if (e.event === 'product_added_to_cart')
        carted.set(e.profileId, (carted.get(e.profileId) ?? new Set()).add(e.itemId));
      if (e.event === 'order_completed' && !carted.get(e.profileId)?.has(e.itemId)) notCarted.push(e.itemId);
    }
    expect(notCarted).toEqual([]);
    const lines = simulation.events
      .filter((e) => e.event === 'order_completed')
      .map((e) => (e.properties.products as Array<{ product_id: string }>).map((l) => l.product_id));
    expect(lines.every((ids) => ids.length > 0 && new Set(ids).size === ids.length)).toBe(true);
    expect(lines.some((ids) => ids.length > 1)).toBe(true);
  });

  it('skews popularity like a power law', () => {
    const views = new Map<string, number>();
    for (const e of itemEvents)
      if (e.event === 'product_viewed') views.set(e.itemId, (views.get(e.itemId) ?? 0) + 1);
    const counts = [...views.values()].sort((a, b) => b - a);
    const total = counts.reduce((a, b) => a + b, 0);
    const top = counts.slice(0, Math.ceil(OPTIONS.items! / 10)).reduce((a, b) => a + b, 0);
    // Uniform would give the top 10% of items 10% of views; Zipf(1.1) over 400 items gives over half.
    expect(top / total).toBeGreaterThan(0.45);
    expect(simulation.catalogue).toHaveLength(OPTIONS.items!);
  });

  it('plants pairs: viewing one item makes its partner far more likely next than chance', () => {
    expect(simulation.plantedPairs).toHaveLength(20);
    const partner = new Map(simulation.plantedPairs.flatMap(([a, b]) => [[a, b] as const, [b, a] as const]));
    const byUser = new Map<string, string[]>();
    for (const e of itemEvents) {
      if (e.event === 'product_viewed')
        byUser.set(e.profileId, [...(byUser.get(e.profileId) ?? []), e.itemId]);
    }
    let followed = 0;
    let planted = 0;
    for (const views of byUser.values()) {
      views.forEach((id, i) => {
        const next = views[i + 1];
        if (!partner.has(id) || next === undefined) return;
        planted += 1;
        if (next === partner.get(id)) followed += 1;
      });
    }
    expect(planted).toBeGreaterThan(50);
    expect(followed / planted).toBeGreaterThan(0.4);
  });

  it('tags landings with UTM parameters and real user agents', () => {
    const landings = simulation.events.filter((e) => e.event === 'page_viewed');
    expect(
      landings.some((e) => /[?&]utm_source=[^&]+&utm_medium=[^&]+&utm_campaign=/.test(e.context.page.url)),
    ).toBe(true);
    expect(landings.some((e) => e.context.page.referrer?.startsWith('https://www.google.com'))).toBe(true);
    const agents = new Set(simulation.events.map((e) => e.context.userAgent));
    expect([...agents].some((ua) => ua.includes('iPhone'))).toBe(true);
    expect([...agents].some((ua) => ua.includes('Googlebot'))).toBe(true);
  });

  it('refuses impossible options with a typed error', () => {
    expect(() => generateTraffic({ ...OPTIONS, users: 0 })).toThrow(
      expect.objectContaining({ name: 'SimulationError', code: 'SIMULATION_OPTIONS_INVALID' }),
    );
    expect(() => generateTraffic({ ...OPTIONS, items: 10, plantedPairs: 6 })).toThrow(/plantedPairs/);
  });
});

describe('generateTraffic with shoppers who browse anonymously before signing in', () => {
  const simulation = generateTraffic({ ...OPTIONS, anonymousShare: 0.3 });
  /** Per device id, its events in time order. */
  const byDevice = new Map<string, SimulatedEvent[]>();
  for (const e of simulation.events) {
    if (e.anonymousId?.startsWith('device-') === true) {
      byDevice.set(e.anonymousId, [...(byDevice.get(e.anonymousId) ?? []), e]);
    }
  }

  it('changes nothing when the share is 0, and only then sends no event with both ids', () => {
    const plain = generateTraffic(OPTIONS);
    expect(generateTraffic({ ...OPTIONS, anonymousShare: 0 })).toEqual(plain);
    const bothIds = (e: SimulatedEvent) => e.userId !== undefined && e.anonymousId !== undefined;
    expect(plain.events.some(bothIds)).toBe(false);
    expect(simulation.events.some(bothIds)).toBe(true);
  });

  it('gives about the share of shoppers with an account a device id, alone until they sign in, beside their userId after', () => {
    const accounts = new Set(
      simulation.events
        .flatMap((e) => [e.userId, e.anonymousId])
        .filter((id) => /^(user|device)-/.test(id ?? '')),
    );
    const numbers = new Set([...accounts].map((id) => id?.replace(/^\w+-/, '')));
    expect(byDevice.size / numbers.size).toBeGreaterThan(0.2);
    expect(byDevice.size / numbers.size).toBeLessThan(0.4);
    let signedIn = 0;
    for (const events of byDevice.values()) {
      const signIn = events.findIndex((e) => e.userId !== undefined);
      if (signIn === -1) continue;
      signedIn += 1;
      expect(events[signIn]?.event).toBe('identify');
      expect(events.slice(0, signIn).every((e) => e.userId === undefined)).toBe(true);
      const after = events.slice(signIn);
      expect(new Set(after.map((e) => e.userId)).size).toBe(1);
      // Signed in, they send nothing under their userId alone either.
      const userId = after[0]?.userId;
      expect(simulation.events.filter((e) => e.userId === userId)).toEqual(after);
    }
    expect(signedIn).toBeGreaterThan(byDevice.size * 0.8);
  });

  it('signs some in partway through a visit, right after items under the device id', () => {
    const partway = [...byDevice.values()].filter((events) => {
      const signIn = events.findIndex((e) => e.userId !== undefined);
      const before = events[signIn - 1];
      const signInTime = Date.parse(events[signIn]?.timestamp ?? '');
      return (
        before !== undefined &&
        itemsOf(registry, before).length > 0 &&
        signInTime - Date.parse(before.timestamp) <= 90_000
      );
    });
    expect(partway.length).toBeGreaterThan(10);
  });

  it('refuses a share outside [0, 1]', () => {
    expect(() => generateTraffic({ ...OPTIONS, anonymousShare: 1.5 })).toThrow(/anonymousShare/);
    expect(() => generateTraffic({ ...OPTIONS, anonymousShare: Number.NaN })).toThrow(/anonymousShare/);
  });
});

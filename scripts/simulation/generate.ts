import { SimulationError } from './errors';
import { geometric, seededRandom, zipf, type Random } from './random';
import {
  CATEGORIES,
  COUNTRIES,
  LOCALES,
  SEARCH_TERMS,
  TRAFFIC_SOURCES,
  USER_AGENTS,
  weighted,
} from './traffic-sources';

/** One event as `trackEvents` takes it (a `TrackEventInput`). */
export interface SimulatedEvent {
  event: string;
  userId?: string;
  anonymousId?: string;
  messageId: string;
  timestamp: string;
  properties: Record<string, unknown>;
  context: {
    page: { url: string; path: string; title: string; referrer?: string };
    userAgent: string;
    locale: string;
  };
}

export interface SimulationOptions {
  users: number;
  events: number;
  seed: number;
  /** Catalogue size (default 500). */
  items?: number;
  /** Popularity exponent: P(rank k) ∝ 1/k^s (default 1.1). */
  zipfExponent?: number;
  /** "Bought together" pairs planted in the traffic (default min(20, items/10)). */
  plantedPairs?: number;
  /** Event times are spread over [end − spanMs, end]. */
  end: number;
  /** Default 24 hours. */
  spanMs?: number;
  /** The shop's origin in page URLs. */
  origin?: string;
  /**
   * Share of the shoppers with an account who browse anonymously before they sign in (default 0):
   * their events carry only their device's `anonymousId` until an `identify` carrying both ids, and
   * both ids from then on.
   */
  anonymousShare?: number;
}

export interface Simulation {
  /** In event-time order; `messageId`s are unique and derived from the seed. */
  events: SimulatedEvent[];
  /** Item ids, most popular first. */
  catalogue: string[];
  /** Pairs [a, b] of item ids: shoppers who view one are likely to view and buy the other. */
  plantedPairs: Array<[string, string]>;
  sessions: number;
  /** Orders completed. */
  purchases: number;
}

/** How shoppers behave; the probabilities of each step of the funnel. */
const FUNNEL = {
  meanSteps: 5,
  search: 0.1,
  /** Having viewed an item with a planted partner, the next view is the partner. */
  followPartner: 0.65,
  cart: 0.18,
  /** A session is about the shopper's favourite category, else any. */
  favourite: 0.6,
  /** A view (not following a partner) stays in the session's category. */
  stayInCategory: 0.6,
  /** A planted partner of something already in the cart is added far more often. */
  cartPartner: 0.7,
  checkout: 0.55,
  complete: 0.75,
  identify: 0.5,
  anonymous: 0.3,
  /** Seconds between two events of a session. */
  gapSeconds: [5, 90] as const,
};

interface Product {
  id: string;
  name: string;
  category: string;
  price: number;
}

interface Shopper {
  key: string;
  anonymous: boolean;
  /** Only for a shopper who browses anonymously first. */
  signsInLater?: {
    /** Their device's anonymousId. */
    deviceId: string;
    /** They sign in during a visit that starts after this time… */
    after: number;
    /** …this far through it (in [0, 1)). */
    partway: number;
  };
  userAgent: string;
  locale: string;
  /** The category most of their visits are about. */
  favourite: string;
  identified: boolean;
}

/** Draws products by popularity, from the whole shop or from one category. */
interface Catalogue {
  draw(random: Random, category?: string): Product;
}

/** Within a category, popularity keeps the catalogue's order and the same power law. */
function buildCatalogue(products: readonly Product[], exponent: number): Catalogue {
  const byCategory = new Map<string, Product[]>();
  for (const p of products) byCategory.set(p.category, [...(byCategory.get(p.category) ?? []), p]);
  const samplers = new Map([...byCategory].map(([c, list]) => [c, zipf(list.length, exponent)]));
  const all = zipf(products.length, exponent);
  return {
    draw(random, category) {
      const list = category === undefined ? undefined : byCategory.get(category);
      const sampler = category === undefined ? undefined : samplers.get(category);
      if (list === undefined || sampler === undefined) return products[all(random)] as Product;
      return list[sampler(random)] as Product;
    },
  };
}

function check(options: SimulationOptions): Required<Omit<SimulationOptions, 'origin'>> & { origin: string } {
  const items = options.items ?? 500;
  const resolved = {
    users: options.users,
    events: options.events,
    seed: options.seed,
    items,
    zipfExponent: options.zipfExponent ?? 1.1,
    plantedPairs: options.plantedPairs ?? Math.min(20, Math.floor(items / 10)),
    end: options.end,
    spanMs: options.spanMs ?? 24 * 3_600_000,
    origin: options.origin ?? 'https://shop.example',
    anonymousShare: options.anonymousShare ?? 0,
  };
  const positive = (name: string, value: number) => {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new SimulationError(
        `${name} must be a positive integer, got ${value}`,
        'SIMULATION_OPTIONS_INVALID',
      );
    }
  };
  positive('users', resolved.users);
  positive('events', resolved.events);
  positive('items', resolved.items);
  positive('spanMs', resolved.spanMs);
  if (!Number.isSafeInteger(resolved.seed)) {
    throw new SimulationError(`seed must be an integer, got ${resolved.seed}`, 'SIMULATION_OPTIONS_INVALID');
  }
  if (
    !Number.isInteger(resolved.plantedPairs) ||
    resolved.plantedPairs < 0 ||
    2 * resolved.plantedPairs > items
  ) {
    throw new SimulationError(
      `plantedPairs must be between 0 and items/2, got ${resolved.plantedPairs}`,
      'SIMULATION_OPTIONS_INVALID',
    );
  }
  if (!(resolved.anonymousShare >= 0 && resolved.anonymousShare <= 1)) {
    throw new SimulationError(
      `anonymousShare must be between 0 and 1, got ${resolved.anonymousShare}`,
      'SIMULATION_OPTIONS_INVALID',
    );
  }
  if (!(resolved.zipfExponent > 0) || !Number.isFinite(resolved.end)) {
    throw new SimulationError('zipfExponent must be > 0 and end a time', 'SIMULATION_OPTIONS_INVALID');
  }
  return resolved;
}

function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * Generates e-commerce traffic, the same for the same options: landings from tagged campaigns and
 * referrers, product views with power-law popularity, carts, checkouts and orders (listing their
 * products), and planted pairs whose partners follow each other.
 */
export function generateTraffic(options: SimulationOptions): Simulation {
  const o = check(options);
  const random = seededRandom(o.seed);
  const ids = shuffle(
    random,
    Array.from({ length: o.items }, (_, i) => i + 1),
  ).map((n) => `sku-${String(n).padStart(String(o.items).length, '0')}`);
  const products: Product[] = ids.map((id, rank) => ({
    id,
    name: `Product ${id.slice(4)}`,
    category: random.pick(CATEGORIES),
    // Popular items skew cheap, as they do in most shops.
    price: Math.round((9 + random.next() * 40 + rank * 0.2) * 100) / 100,
  }));
  const catalogue = buildCatalogue(products, o.zipfExponent);

  // Partners are planted off the head of the catalogue, so popularity alone cannot find them.
  const head = Math.min(10, o.items - 2 * o.plantedPairs);
  const candidates = shuffle(
    random,
    Array.from({ length: o.items - head }, (_, i) => i + head),
  ).slice(0, 2 * o.plantedPairs);
  const partner = new Map<string, Product>();
  const plantedPairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < candidates.length; i += 2) {
    const a = products[candidates[i] as number] as Product;
    const b = products[candidates[i + 1] as number] as Product;
    partner.set(a.id, b).set(b.id, a);
    plantedPairs.push([a.id, b.id]);
  }

  const idWidth = String(o.users).length;
  // Who browses anonymously first draws from a stream of its own, so that traffic without them
  // stays exactly what it was.
  const identityRandom = seededRandom(o.seed, 1);
  const shoppers: Shopper[] = Array.from({ length: o.users }, (_, i) => {
    const anonymous = random.chance(FUNNEL.anonymous);
    const number = String(i + 1).padStart(idWidth, '0');
    const signsInLater =
      !anonymous && o.anonymousShare > 0 && identityRandom.chance(o.anonymousShare)
        ? {
            deviceId: `device-${number}`,
            // Sometime in the middle half of the span: most such shoppers visit both before and after.
            after: o.end - o.spanMs + Math.floor(o.spanMs * (0.25 + 0.5 * identityRandom.next())),
            partway: identityRandom.next(),
          }
        : undefined;
    return {
      key: `${anonymous ? 'visitor' : 'user'}-${number}`,
      anonymous,
      ...(signsInLater === undefined ? {} : { signsInLater }),
      userAgent: weighted(USER_AGENTS, random.next()).ua,
      locale: random.pick(LOCALES),
      favourite: random.pick(CATEGORIES),
      identified: false,
    };
  });
  const order = shuffle(random, [...shoppers]);

  const events: Array<Omit<SimulatedEvent, 'messageId'>> = [];
  let sessions = 0;
  while (events.length < o.events) {
    // Every shopper visits once before anyone visits again, so all of them appear when the budget allows.
    const shopper = order[sessions] ?? random.pick(shoppers);
    events.push(...simulateSession(random, o, shopper, catalogue, partner, sessions));
    sessions += 1;
  }
  // The last session is cut where the budget ends, as an abandoned visit would be.
  events.length = o.events;
  const purchases = events.filter((e) => e.event === 'order_completed').length;

  const ordered = anonymousUntilSignIn(
    events
      .map((e, index) => ({ e, index }))
      .sort((a, b) =>
        a.e.timestamp < b.e.timestamp ? -1 : a.e.timestamp > b.e.timestamp ? 1 : a.index - b.index,
      )
      .map(({ e }) => e),
  ).map((e, n) => ({ ...e, messageId: `sim-${o.seed.toString(36)}-${n}` }));
  return { events: ordered, catalogue: ids, plantedPairs, sessions, purchases };
}

/**
 * Sessions are drawn in visiting order but land anywhere in time, so whether an event came before
 * its shopper signed in is only known in time order: events carrying both ids lose the userId until
 * that user's first `identify`. Only shoppers who browse anonymously first send both ids.
 */
function anonymousUntilSignIn<E extends Omit<SimulatedEvent, 'messageId'>>(eventsInTimeOrder: E[]): E[] {
  const signedIn = new Set<string>();
  return eventsInTimeOrder.map((e) => {
    const { userId, ...anonymous } = e;
    if (userId === undefined || e.anonymousId === undefined) return e;
    if (e.event === 'identify') signedIn.add(userId);
    return signedIn.has(userId) ? e : (anonymous as E);
  });
}

function simulateSession(
  random: Random,
  o: ReturnType<typeof check>,
  shopper: Shopper,
  catalogue: Catalogue,
  partner: ReadonlyMap<string, Product>,
  sessionIndex: number,
): Array<Omit<SimulatedEvent, 'messageId'>> {
  const events: Array<Omit<SimulatedEvent, 'messageId'>> = [];
  // Sessions start anywhere in the span but leave room for their own length.
  let time = o.end - o.spanMs + Math.floor(random.next() * Math.max(1, o.spanMs - 3_600_000));
  const start = time;
  const source = weighted(TRAFFIC_SOURCES, random.next());
  const ids = shopper.anonymous
    ? { anonymousId: shopper.key }
    : shopper.signsInLater === undefined
      ? { userId: shopper.key }
      : { userId: shopper.key, anonymousId: shopper.signsInLater.deviceId };
  const emit = (
    event: string,
    properties: Record<string, unknown>,
    path: string,
    title: string,
    landing = false,
  ) => {
    const query =
      landing && source.utm
        ? `?utm_source=${source.utm.source}&utm_medium=${source.utm.medium}&utm_campaign=${source.utm.campaign}`
        : '';
    events.push({
      event,
      ...ids,
      timestamp: new Date(time).toISOString(),
      properties,
      context: {
        page: {
          url: `${o.origin}${path}${query}`,
          path,
          title,
          // A landing has the outside referrer (or none: typed in, bookmarked); later pages the shop itself.
          ...(landing
            ? source.referrer === null
              ? {}
              : { referrer: source.referrer }
            : { referrer: `${o.origin}/` }),
        },
        userAgent: shopper.userAgent,
        locale: shopper.locale,
      },
    });
    time += 1000 * random.int(FUNNEL.gapSeconds[0], FUNNEL.gapSeconds[1]);
  };

  // Shoppers mostly come back for the same kind of thing, and browse within it.
  const category = random.chance(FUNNEL.favourite) ? shopper.favourite : random.pick(CATEGORIES);
  if (random.chance(0.5)) emit('page_viewed', { name: 'home' }, '/', 'Home', true);
  else emit('page_viewed', { name: 'category', category }, `/c/${category}`, `Category ${category}`, true);
  const identify = (path: string, title: string) => {
    shopper.identified = true;
    emit('identify', { plan: random.pick(['free', 'plus']), country: random.pick(COUNTRIES) }, path, title);
  };
  const { signsInLater } = shopper;
  if (
    !shopper.anonymous &&
    !shopper.identified &&
    signsInLater === undefined &&
    random.chance(FUNNEL.identify)
  ) {
    identify('/', 'Home');
  }

  const cart: Product[] = [];
  let previous: Product | undefined;
  const steps = geometric(random, FUNNEL.meanSteps);
  // Someone browsing anonymously signs in partway through a visit (to keep a cart, to check out),
  // so the visit's earlier items are only under their device's id.
  const signInStep =
    signsInLater !== undefined && !shopper.identified && start >= signsInLater.after
      ? Math.floor(signsInLater.partway * (steps + 1))
      : undefined;
  for (let step = 0; step < steps; step++) {
    if (step === signInStep) identify('/account/sign-in', 'Sign in');
    if (random.chance(FUNNEL.search)) {
      const term = random.pick(SEARCH_TERMS);
      emit(
        'search_performed',
        { query: term, results_count: random.int(0, 60) },
        '/search',
        `Search: ${term}`,
      );
      continue;
    }
    const follow = previous === undefined ? undefined : partner.get(previous.id);
    const product =
      follow !== undefined && random.chance(FUNNEL.followPartner)
        ? follow
        : catalogue.draw(random, random.chance(FUNNEL.stayInCategory) ? category : undefined);
    const path = `/p/${product.id}`;
    emit(
      'product_viewed',
      {
        product_id: product.id,
        name: product.name,
        category: product.category,
        price: product.price,
        currency: 'EUR',
      },
      path,
      product.name,
    );
    const partnerInCart = cart.some((p) => partner.get(p.id) === product);
    if (!cart.includes(product) && random.chance(partnerInCart ? FUNNEL.cartPartner : FUNNEL.cart)) {
      cart.push(product);
      emit(
        'product_added_to_cart',
        { product_id: product.id, name: product.name, price: product.price, currency: 'EUR', quantity: 1 },
        path,
        product.name,
      );
    }
    previous = product;
  }
  if (signInStep === steps) identify('/account/sign-in', 'Sign in');

  if (cart.length > 0 && random.chance(FUNNEL.checkout)) {
    const lines = cart.map((p) => ({ product_id: p.id, price: p.price, quantity: 1 }));
    const value = Math.round(cart.reduce((sum, p) => sum + p.price, 0) * 100) / 100;
    const cartId = `cart-${o.seed.toString(36)}-${sessionIndex}`;
    emit(
      'checkout_started',
      { cart_id: cartId, value, currency: 'EUR', products: lines },
      '/checkout',
      'Checkout',
    );
    // What a shop following Segment's e-commerce spec sends: one order_completed listing its
    // products, which the hot tier counts as a purchase of each. A product_purchased per line on
    // top would tell it about the same purchases twice.
    if (random.chance(FUNNEL.complete)) {
      emit(
        'order_completed',
        {
          order_id: `order-${o.seed.toString(36)}-${sessionIndex}`,
          total: value,
          revenue: value,
          currency: 'EUR',
          products: lines,
        },
        '/checkout/done',
        'Thank you',
      );
    }
  }
  return events;
}

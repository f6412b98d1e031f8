/** The shop the sustained load comes from: this many distinct users and items. */
export const SUSTAIN_USERS = 5000;
export const SUSTAIN_ITEMS = 700;
/** Events per request of the sustained load. */
export const EVENTS_PER_REQUEST = 100;

const TRACK_MANY = `mutation($e: [TrackEventInput!]!) { trackEvents(events: $e) { accepted rejected } }`;

/** The n-th event of the shop's load: every user once per rotation of SUSTAIN_USERS events. */
export function shopEvent(n: number) {
  const item = `sku-${(n * 7919) % SUSTAIN_ITEMS}`;
  return {
    event: n % 5 === 0 ? 'product_added_to_cart' : 'product_viewed',
    userId: `shopper-${n % SUSTAIN_USERS}`,
    properties: { product_id: item, price: 12.5, currency: 'EUR' },
    context: {
      page: { url: `https://shop.example/p/${item}?utm_source=bench`, path: `/p/${item}` },
      userAgent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
      locale: 'en-GB',
    },
  };
}

/** trackEvents bodies that together name every user once per rotation. */
export function shopBodies(): string[] {
  const count = SUSTAIN_USERS / EVENTS_PER_REQUEST;
  return Array.from({ length: count }, (_, body) =>
    JSON.stringify({
      query: TRACK_MANY,
      variables: {
        e: Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => shopEvent(body * EVENTS_PER_REQUEST + i)),
      },
    }),
  );
}

/**
 * Segment's HTTP Tracking API: the call types, their short forms (analytics.js posts to `/v1/t`…)
 * and how a request body holds its messages. Pure: the HTTP side hands over parsed JSON.
 */
export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** A Segment message as sent: any JSON object; the mapper reads the fields it knows. */
export type SegmentMessage = Record<string, unknown>;

/** What a route accepts: one call of a type, or a batch of calls of any type. */
export type SegmentRoute = SegmentType | 'batch';

const ROUTES: Readonly<Record<string, SegmentRoute>> = {
  track: 'track',
  t: 'track',
  identify: 'identify',
  i: 'identify',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  group: 'group',
  g: 'group',
  alias: 'alias',
  a: 'alias',
  batch: 'batch',
  b: 'batch',
  import: 'batch',
};

/** The route a `/v1/<name>` path names, or undefined. */
export function segmentRoute(name: string): SegmentRoute | undefined {
  return Object.hasOwn(ROUTES, name) ? ROUTES[name] : undefined;
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The messages of a request body, each with its type: a single call takes its type from the
 * route; a batch's items carry theirs. A batch's top-level `context` is merged under each item's
 * own (the item wins) and its `sentAt` stands for items without one. Undefined when the body
 * holds no messages.
 */
export function segmentMessages(route: SegmentRoute, body: unknown): SegmentMessage[] | undefined {
  if (!isObject(body)) return undefined;
  if (route !== 'batch') return [{ ...body, type: route }];
  const batch = body.batch;
  if (!Array.isArray(batch) || batch.length === 0) return undefined;
  const shared = isObject(body.context) ? body.context : undefined;
  return batch.map((item: unknown) => {
    const message: SegmentMessage = isObject(item) ? { ...item } : { item };
    if (shared) message.context = { ...shared, ...(isObject(message.context) ? message.context : {}) };
    if (message.sentAt === undefined && body.sentAt !== undefined) message.sentAt = body.sentAt;
    return message;
  });
}

/** The write key a body carries (analytics.js sends it beside the Authorization header). */
export function bodyWriteKey(body: unknown): string | undefined {
  return isObject(body) && typeof body.writeKey === 'string' ? body.writeKey : undefined;
}

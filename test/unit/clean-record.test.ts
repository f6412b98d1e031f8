import 'reflect-metadata';
import { cleanRecord } from '../../src/events/clean-record';
import { envelopeErrors, trackEventFromRecord } from '../../src/events/envelope';
import { messageIdForRecord, toStoredEvent } from '../../src/events/normalise';

const place = { shardId: 'shardId-000000000001', sequenceNumber: '4242' };
const receivedAt = new Date('2026-05-04T12:00:00.000Z');
const origin = {
  receivedAt,
  source: 'graphql',
  sourceIp: '192.0.2.1',
  processorVersion: 'v',
  mayMergeUsers: false,
};

/** What the class-validator path decides and builds for the same record. */
function fullPath(body: Record<string, unknown>, mayMergeUsers = false) {
  const { input, errors } = trackEventFromRecord(body);
  errors.push(...envelopeErrors(input));
  if (errors.length > 0) return null;
  return toStoredEvent(input, input.messageId ?? messageIdForRecord(place.shardId, place.sequenceNumber), {
    ...origin,
    mayMergeUsers,
  });
}

const corpus: Array<Record<string, unknown>> = [
  { event: 'page_viewed', userId: 'u1' },
  {
    event: 'page_viewed',
    anonymousId: 'a1',
    messageId: 'm1',
    sessionId: '',
    timestamp: '2026-05-04T11:00:00Z',
  },
  {
    event: 'product_viewed',
    userId: 'u1',
    sentAt: '2026-05-04T11:00:00.123+02:00',
    properties: { product_id: 'x', nested: { a: [1, 2] } },
    context: {
      userAgent: 'ua',
      locale: 'en-GB',
      ip: '2001:db8::1',
      page: { url: 'https://x', title: 't' },
      app: { name: 'a' },
      custom: { k: 1 },
    },
  },
  // Everything below must be declined by the fast path or refused by both.
  { event: 'Page', userId: 'u1' },
  { event: 'page_viewed' },
  { event: 'page_viewed', userId: '' },
  { event: 'page_viewed', userId: 'u', messageId: '' },
  { event: 'page_viewed', userId: null, anonymousId: 'a' },
  { event: 'page_viewed', userId: 'u', timestamp: '04/05/2026' },
  { event: 'page_viewed', userId: 'u', timestamp: '2026-02-30T00:00:00Z' },
  { event: 'page_viewed', userId: 'u', schemaVersion: '1.0.0' },
  { event: 'page_viewed', userId: 'u', properties: [1] },
  { event: 'page_viewed', userId: 'u', context: { page: { url: 'x', extra: 'y' } } },
  { event: 'page_viewed', userId: 'u', context: { page: { title: 'x'.repeat(1025) } } },
  { event: 'page_viewed', userId: 'x'.repeat(257) },
  { event: 'page_viewed', userId: 'u', context: { locale: 5 } },
];

/** Records that break the shape rules: both paths must refuse them, the fast path by declining. */
const misshapen: Array<Record<string, unknown>> = [
  JSON.parse('{"event":"page_viewed","userId":"u","properties":{"__proto__":{"admin":true}}}') as Record<
    string,
    unknown
  >,
  { event: 'page_viewed', userId: 'u', properties: { list: [{ constructor: 'x' }] } },
  { event: 'page_viewed', userId: 'u', context: { custom: { prototype: 1 } } },
  {
    event: 'page_viewed',
    userId: 'u',
    properties: JSON.parse(`${'{"a":'.repeat(33)}1${'}'.repeat(33)}`) as Record<string, unknown>,
  },
];

describe('cleanRecord (the stream fast path)', () => {
  it.each(misshapen.map((body) => [JSON.stringify(body).slice(0, 80), body]))(
    'declines what the shape rules refuse: %s',
    (_, body) => {
      const fast = cleanRecord(body as Record<string, unknown>, place, {
        ...origin,
        receivedAt: receivedAt.toISOString(),
      });
      expect(fast).toBeNull();
      expect(fullPath(body as Record<string, unknown>)).toBeNull();
    },
  );

  it.each(corpus.map((body) => [JSON.stringify(body).slice(0, 80), body]))(
    'agrees with the full envelope path: %s',
    (_, body) => {
      const fast = cleanRecord(body as Record<string, unknown>, place, {
        ...origin,
        receivedAt: receivedAt.toISOString(),
      });
      const full = fullPath(body as Record<string, unknown>);
      // The fast path may decline (null) and leave the decision to the full path, but never disagree with it.
      if (fast !== null) expect(fast.event).toEqual(full);
    },
  );

  it('marks an alias as merging users when its sender may, as the full path does, and nothing else', () => {
    const alias = { event: 'alias', userId: 'u1', properties: { previous_id: 'u0' } };
    const page = { event: 'page_viewed', userId: 'u1' };
    for (const [body, mayMergeUsers, merges] of [
      [alias, true, true],
      [alias, false, false],
      [page, true, false],
    ] as const) {
      const fast = cleanRecord(body, place, {
        ...origin,
        receivedAt: receivedAt.toISOString(),
        mayMergeUsers,
      });
      expect(fast?.event.mergesUsers).toBe(merges);
      expect(fast?.event).toEqual(fullPath(body, mayMergeUsers));
    }
  });

  it('takes the clean records', () => {
    expect(
      corpus
        .slice(0, 3)
        .map((b) => cleanRecord(b, place, { ...origin, receivedAt: receivedAt.toISOString() }) !== null),
    ).toEqual([true, true, true]);
  });
});

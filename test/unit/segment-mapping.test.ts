import { gzipSync } from 'node:zlib';
import { envelopeErrors } from '../../src/events/envelope';
import { eventNameFor, normaliseEventName, readSegmentEventNames } from '../../src/events/segment/event-name';
import { segmentMessages, segmentRoute } from '../../src/events/segment/segment-message';
import { segmentToEnvelope } from '../../src/events/segment/to-envelope';
import { basicUser } from '../../src/api/segment/segment-api';
import { parseSegmentBody, SegmentBodyError } from '../../src/api/segment/segment-body';
import { loadSegmentEventNames } from '../../src/services/segment-event-names';

const names = loadSegmentEventNames({ events: {} });

describe('Segment event names', () => {
  it('normalise to the event-name rule', () => {
    expect(normaliseEventName('Order Completed')).toBe('order_completed');
    expect(normaliseEventName('  Signed-Up (v2)! ')).toBe('signed_up_v2');
    expect(normaliseEventName('checkout_started')).toBe('checkout_started');
  });

  it('map E-commerce names through the shipped mapping file, and normalise the rest', () => {
    expect(eventNameFor('Product Added', names)).toBe('product_added_to_cart');
    expect(eventNameFor('Product Removed', names)).toBe('product_removed_from_cart');
    expect(eventNameFor('Products Searched', names)).toBe('search_performed');
    expect(eventNameFor('Product Viewed', names)).toBe('product_viewed');
    expect(eventNameFor('toString', names)).toBe('tostring');
  });

  it('refuse a mapping file that is not an object of names', () => {
    expect(() => readSegmentEventNames(['a'])).toThrow(/JSON object/);
    expect(() => readSegmentEventNames({ A: 3 })).toThrow(/"A"/);
    expect(readSegmentEventNames({ $comment: 'x', A: 'a' })).toEqual({ A: 'a' });
  });
});

describe('segmentRoute and segmentMessages', () => {
  it('know the long and the short paths', () => {
    expect(['track', 't', 'i', 'p', 's', 'g', 'a', 'b', 'batch'].map(segmentRoute)).toEqual([
      'track',
      'track',
      'identify',
      'page',
      'screen',
      'group',
      'alias',
      'batch',
      'batch',
    ]);
    expect(segmentRoute('constructor')).toBeUndefined();
  });

  it("merge a batch's context under each item's and pass its sentAt on", () => {
    const messages = segmentMessages('batch', {
      batch: [
        { type: 'track', event: 'A', context: { locale: 'fr-FR' } },
        { type: 'page', sentAt: '2026-05-04T10:00:01Z' },
      ],
      context: { locale: 'en-GB', library: { name: 'lib', version: '1' } },
      sentAt: '2026-05-04T10:00:00Z',
    });
    expect(messages).toEqual([
      {
        type: 'track',
        event: 'A',
        context: { locale: 'fr-FR', library: { name: 'lib', version: '1' } },
        sentAt: '2026-05-04T10:00:00Z',
      },
      {
        type: 'page',
        context: { locale: 'en-GB', library: { name: 'lib', version: '1' } },
        sentAt: '2026-05-04T10:00:01Z',
      },
    ]);
  });

  it('take a single call’s type from the route and find no events in an empty batch', () => {
    expect(segmentMessages('track', { type: 'page', event: 'A' })).toEqual([{ type: 'track', event: 'A' }]);
    expect(segmentMessages('batch', { batch: [] })).toBeUndefined();
    expect(segmentMessages('batch', [1])).toBeUndefined();
  });
});

describe('segmentToEnvelope', () => {
  const base = { messageId: 'm1', anonymousId: 'anon-1', timestamp: '2026-05-04T10:00:00.000Z' };

  it('maps a track call, keeping the name as sent in context.segment', () => {
    const envelope = segmentToEnvelope(
      {
        ...base,
        type: 'track',
        event: 'Order Completed',
        userId: 42,
        properties: { order_id: 'o1', total: 10 },
        context: { ip: '1.2.3.4', campaign: { source: 'news' } },
      },
      names,
    );
    expect(envelope).toEqual({
      messageId: 'm1',
      event: 'order_completed',
      userId: '42',
      anonymousId: 'anon-1',
      timestamp: new Date('2026-05-04T10:00:00.000Z'),
      sentAt: undefined,
      properties: { order_id: 'o1', total: 10 },
      context: {
        ip: '1.2.3.4',
        campaign: { source: 'news' },
        segment: { type: 'track', event: 'Order Completed' },
      },
    });
    expect(envelopeErrors(envelope)).toEqual([]);
  });

  it('maps page, screen, identify, group and alias to our events', () => {
    const map = (message: Record<string, unknown>) => segmentToEnvelope({ ...base, ...message }, names);
    const page = map({
      type: 'page',
      name: 'Home',
      category: 'Docs',
      properties: { url: 'https://x.test/a', path: '/a' },
    });
    expect(page.event).toBe('page_viewed');
    expect(page.properties).toEqual({ url: 'https://x.test/a', path: '/a', name: 'Home', category: 'Docs' });
    expect(page.context?.page).toEqual({ url: 'https://x.test/a', path: '/a' });
    expect(map({ type: 'screen', name: 'Cart' })).toMatchObject({
      event: 'screen_viewed',
      properties: { name: 'Cart' },
    });
    expect(map({ type: 'identify', userId: 'u1', traits: { email: 'a@b.test' } })).toMatchObject({
      event: 'identify',
      userId: 'u1',
      properties: { email: 'a@b.test' },
    });
    expect(map({ type: 'group', groupId: 7, traits: { plan: 'pro' } })).toMatchObject({
      event: 'group',
      properties: { group_id: '7', traits: { plan: 'pro' } },
    });
    expect(map({ type: 'alias', userId: 'u1', previousId: 'anon-1' })).toMatchObject({
      event: 'alias',
      properties: { previous_id: 'anon-1' },
    });
  });

  it('uses originalTimestamp without a timestamp, and leaves what breaks a rule for the envelope check', () => {
    const mobile = segmentToEnvelope(
      { type: 'track', event: 'A', userId: 'u', originalTimestamp: '2026-05-04T09:00:00Z' },
      names,
    );
    expect(mobile.timestamp).toEqual(new Date('2026-05-04T09:00:00Z'));
    const broken = segmentToEnvelope(
      { type: 'track', event: '404 Error', userId: 'u', timestamp: 'yesterday' },
      names,
    );
    expect(envelopeErrors(broken).map((e) => e.path)).toEqual(['/event', '/timestamp']);
    const unknown = segmentToEnvelope({ type: 'flush', userId: 'u' }, names);
    expect(envelopeErrors(unknown).map((e) => e.path)).toEqual(['/event']);
    expect(unknown.context).toEqual({ segment: { type: 'flush' } });
  });
});

describe('Segment request bodies', () => {
  const json = Buffer.from(JSON.stringify({ batch: [{ type: 'track' }] }));

  it('read JSON, plain or gzipped', async () => {
    await expect(parseSegmentBody(json, undefined, 1000)).resolves.toEqual({ batch: [{ type: 'track' }] });
    await expect(parseSegmentBody(gzipSync(json), 'gzip', 1000)).resolves.toEqual({
      batch: [{ type: 'track' }],
    });
  });

  it('refuse what is too large, before or after unpacking, with 413, and what is not JSON with 400', async () => {
    const status = (promise: Promise<unknown>) =>
      promise.then(
        () => 0,
        (error: SegmentBodyError) => error.status,
      );
    expect(await status(parseSegmentBody(json, undefined, 10))).toBe(413);
    const bomb = gzipSync(Buffer.alloc(100_000, 32));
    expect(bomb.length).toBeLessThan(1000);
    expect(await status(parseSegmentBody(bomb, 'gzip', 1000))).toBe(413);
    expect(await status(parseSegmentBody(Buffer.from('{nope'), undefined, 1000))).toBe(400);
    expect(await status(parseSegmentBody(Buffer.from('x'), 'gzip', 1000))).toBe(400);
    expect(await status(parseSegmentBody(json, 'br', 1000))).toBe(400);
  });

  it('take the write key from HTTP Basic credentials', () => {
    const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
    expect(basicUser(basic('wk_123:'))).toBe('wk_123');
    expect(basicUser(basic('wk_123'))).toBe('wk_123');
    expect(basicUser(basic(':secret'))).toBeUndefined();
    expect(basicUser('Bearer abc')).toBeUndefined();
    expect(basicUser(undefined)).toBeUndefined();
  });
});

import 'reflect-metadata';
import { envelopeErrors, MAX_EVENT_BYTES, trackEventFromRecord } from '../../src/events/envelope';
import { TrackEventInput } from '../../src/schema/event.input';

const input = (fields: Partial<TrackEventInput>) => Object.assign(new TrackEventInput(), fields);

describe('envelopeErrors', () => {
  it('accepts a minimal event with a userId or an anonymousId', () => {
    expect(envelopeErrors(input({ event: 'page_viewed', userId: 'u1' }))).toEqual([]);
    expect(envelopeErrors(input({ event: 'page_viewed', anonymousId: 'a1' }))).toEqual([]);
  });

  it.each(['Page_viewed', '1event', '', 'page-viewed', 'a'.repeat(65), 'page viewed'])(
    'rejects the event name %p with a pointer to /event',
    (event) => {
      const errors = envelopeErrors(input({ event, userId: 'u1' }));
      expect(errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ code: 'ENVELOPE_INVALID', path: '/event' })]),
      );
    },
  );

  it('accepts a 64-character event name', () => {
    expect(envelopeErrors(input({ event: 'a'.repeat(64), userId: 'u1' }))).toEqual([]);
  });

  it('requires userId or anonymousId', () => {
    const errors = envelopeErrors(input({ event: 'page_viewed' }));
    expect(errors).toEqual([
      expect.objectContaining({ path: '/userId', message: 'userId or anonymousId is required' }),
    ]);
  });

  it('rejects an empty userId even with an anonymousId', () => {
    const errors = envelopeErrors(input({ event: 'page_viewed', userId: '', anonymousId: 'a1' }));
    expect(errors.map((e) => e.path)).toEqual(['/userId']);
  });

  it('reports nested context errors with their full path', () => {
    const record = trackEventFromRecord({
      event: 'page_viewed',
      userId: 'u1',
      context: { page: { url: 'x'.repeat(5000) } },
    });
    expect(envelopeErrors(record.input).map((e) => e.path)).toEqual(['/context/page/url']);
  });
});

describe('trackEventFromRecord', () => {
  it('reports wrongly typed fields instead of passing them on', () => {
    const { errors } = trackEventFromRecord({
      event: 'page_viewed',
      userId: 42,
      timestamp: 'yesterday',
      properties: [1, 2],
      context: 'web',
    });
    expect(errors.map((e) => e.path).sort()).toEqual(['/context', '/properties', '/timestamp', '/userId']);
  });

  it('turns ISO strings into dates and keeps properties and context', () => {
    const { input: parsed, errors } = trackEventFromRecord({
      event: 'product_viewed',
      anonymousId: 'a1',
      timestamp: '2026-01-02T03:04:05.000Z',
      properties: { product_id: 'p1' },
      context: { locale: 'en-GB', page: { path: '/p/1' }, custom: { a: 1 } },
    });
    expect(errors).toEqual([]);
    expect(parsed.timestamp).toEqual(new Date('2026-01-02T03:04:05.000Z'));
    expect(parsed.properties).toEqual({ product_id: 'p1' });
    expect(parsed.context?.page?.path).toBe('/p/1');
    expect(parsed.context?.locale).toBe('en-GB');
    expect(envelopeErrors(parsed)).toEqual([]);
  });

  it('has a 32 KiB size limit', () => {
    expect(MAX_EVENT_BYTES).toBe(32768);
  });
});

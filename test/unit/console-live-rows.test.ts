import { liveFilterFromForm, liveRow, type LiveEventMessage } from '../../src/console/live-rows';
import { LIVE_FILTER_LIMITS } from '../../src/live/live-event';

const event = (overrides: Partial<LiveEventMessage> = {}): LiveEventMessage => ({
  messageId: 'm-1',
  event: 'product_viewed',
  userId: 'user-1',
  anonymousId: null,
  status: 'ACCEPTED',
  failureType: null,
  errors: [],
  receivedAt: '2026-05-04T10:17:03.456Z',
  properties: { product_id: 'sku-1' },
  context: null,
  ...overrides,
});

describe('the live tail filter form', () => {
  const all = ['ACCEPTED', 'REJECTED', 'FAILED', 'SUPPRESSED'] as const;

  it('reads event names split by commas or spaces, a user id, and the statuses ticked', () => {
    expect(
      liveFilterFromForm({
        events: ' page_viewed, product_viewed  page_viewed',
        userId: ' u-1 ',
        statuses: ['REJECTED', 'FAILED'],
      }),
    ).toEqual({
      filter: { events: ['page_viewed', 'product_viewed'], userId: 'u-1', statuses: ['REJECTED', 'FAILED'] },
    });
  });

  it('leaves out what matches everything: empty fields, every status ticked, or none', () => {
    expect(liveFilterFromForm({ events: '', userId: '', statuses: all })).toEqual({ filter: {} });
    expect(liveFilterFromForm({ events: '', userId: '', statuses: [] })).toEqual({ filter: {} });
  });

  it("refuses what the API would refuse, with the API's own bound", () => {
    const events = Array.from({ length: LIVE_FILTER_LIMITS.events + 1 }, (_, i) => `event_${i}`).join(',');
    const read = liveFilterFromForm({ events, userId: '', statuses: all });
    expect(read).toEqual({ problem: expect.stringContaining(`at most ${LIVE_FILTER_LIMITS.events}`) });
  });
});

describe('a live tail row', () => {
  it('shows an accepted event plainly, with its payload to open', () => {
    const row = liveRow(event());
    expect(row).toMatchObject({
      time: '10:17:03.456',
      status: 'ACCEPTED',
      event: 'product_viewed',
      who: 'user-1',
      highlighted: false,
      problems: [],
    });
    expect(JSON.parse(row.payload)).toEqual({ properties: { product_id: 'sku-1' }, context: null });
  });

  it('highlights rejected and failed events with every error, the failure type first', () => {
    const rejected = liveRow(
      event({
        status: 'REJECTED',
        errors: [{ code: 'SCHEMA_VIOLATION', path: '/properties/product_id', message: 'is required' }],
      }),
    );
    expect(rejected.highlighted).toBe(true);
    expect(rejected.problems).toEqual(['SCHEMA_VIOLATION at /properties/product_id: is required']);
    const failed = liveRow(
      event({
        status: 'FAILED',
        failureType: 'MALFORMED',
        event: null,
        userId: null,
        properties: null,
        errors: [{ code: 'MALFORMED', path: null, message: 'not JSON' }],
      }),
    );
    expect(failed).toMatchObject({ highlighted: true, event: '(none)', who: '(none)', payload: '' });
    expect(failed.problems).toEqual(['MALFORMED', 'MALFORMED: not JSON']);
  });

  it('names an anonymous visitor as such, and leaves suppressed events unhighlighted', () => {
    const row = liveRow(
      event({ userId: null, anonymousId: 'anon-7', status: 'SUPPRESSED', properties: null }),
    );
    expect(row).toMatchObject({ who: 'anonymous anon-7', highlighted: false, payload: '' });
  });
});

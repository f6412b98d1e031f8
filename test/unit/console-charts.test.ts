import {
  eventsOverTimeChart,
  failuresChart,
  funnelChart,
  itemsChart,
  retentionChart,
} from '../../src/console/chart-options';
import { bucketLabel, bucketStarts, rangeEndingNow } from '../../src/console/time-range';

/** The parts of an ECharts option these tests read. */
interface Drawn {
  xAxis: { data: string[] };
  yAxis: { data: string[] };
  series: Array<{ name?: string; type: string; stack?: string; data: unknown[] }>;
}
const drawn = (option: unknown) => option as Drawn;

describe('the console time range', () => {
  const now = new Date('2026-05-04T10:17:00.000Z');

  it('ends at the end of the current hour, so an event sent now is inside it', () => {
    expect(rangeEndingNow('24h', now)).toEqual({
      from: '2026-05-03T11:00:00.000Z',
      to: '2026-05-04T11:00:00.000Z',
    });
    expect(rangeEndingNow('7d', now).from).toBe('2026-04-27T11:00:00.000Z');
  });

  it('lists every bucket of the range, days from 00:00 UTC as the warehouse counts them', () => {
    const range = rangeEndingNow('24h', now);
    const hours = bucketStarts(range, 'HOUR');
    expect(hours).toHaveLength(24);
    expect(hours[0]).toBe('2026-05-03T11:00:00.000Z');
    expect(bucketStarts(range, 'DAY')).toEqual(['2026-05-03T00:00:00.000Z', '2026-05-04T00:00:00.000Z']);
    expect(bucketLabel('2026-05-03T11:00:00.000Z', 'HOUR')).toBe('05-03 11:00');
    expect(bucketLabel('2026-05-03T00:00:00.000Z', 'DAY')).toBe('2026-05-03');
  });
});

describe('console charts', () => {
  it('stack one series per event over every bucket, busiest event first, quiet buckets at 0', () => {
    const buckets = ['2026-05-03T00:00:00.000Z', '2026-05-04T00:00:00.000Z', '2026-05-05T00:00:00.000Z'];
    const spec = eventsOverTimeChart(
      [
        { bucket: '2026-05-03T00:00:00.000Z', event: 'page_viewed', count: 2 },
        { bucket: '2026-05-05T00:00:00.000Z', event: 'page_viewed', count: 1 },
        { bucket: '2026-05-04T00:00:00.000Z', event: 'product_viewed', count: 7 },
        // Outside the range asked: not drawn.
        { bucket: '2026-05-09T00:00:00.000Z', event: 'page_viewed', count: 99 },
      ],
      buckets,
      'DAY',
    );
    const option = drawn(spec.option);
    expect(option.xAxis.data).toEqual(['2026-05-03', '2026-05-04', '2026-05-05']);
    expect(option.series.map((s) => [s.name, s.stack, s.data])).toEqual([
      ['product_viewed', 'events', [0, 7, 0]],
      ['page_viewed', 'events', [2, 0, 1]],
    ]);
    expect(spec.points).toBe(3);
    expect(eventsOverTimeChart([], buckets, 'DAY').points).toBe(0);
  });

  it('draw the funnel in the order asked, with users and conversion in each label', () => {
    const spec = funnelChart([
      { event: 'product_viewed', users: 10, conversion: 1 },
      { event: 'order_completed', users: 3, conversion: 0.3 },
    ]);
    const [series] = drawn(spec.option).series;
    expect(series?.type).toBe('funnel');
    expect(series?.data).toEqual([
      { name: '1. product_viewed', value: 10, label: { formatter: '{b}\n10 users · 100%' } },
      { name: '2. order_completed', value: 3, label: { formatter: '{b}\n3 users · 30%' } },
    ]);
    expect(spec.points).toBe(2);
    // Nobody at step 1: nothing to draw.
    expect(funnelChart([{ event: 'product_viewed', users: 0, conversion: 0 }]).points).toBe(0);
  });

  it('draw retention as the share of each cohort that came back, period by period', () => {
    const spec = retentionChart(
      [
        { start: '2026-05-03T00:00:00.000Z', users: 4, returned: [4, 1, 0] },
        { start: '2026-05-04T00:00:00.000Z', users: 0, returned: [0, 0] },
        { start: '2026-05-05T00:00:00.000Z', users: 3, returned: [3] },
      ],
      'DAY',
    );
    const option = drawn(spec.option);
    expect(option.xAxis.data).toEqual(['+0d', '+1d', '+2d']);
    expect(option.yAxis.data).toEqual(['2026-05-03 · 4', '2026-05-05 · 3']);
    expect(option.series[0]?.data).toEqual([
      [0, 0, 100],
      [1, 0, 25],
      [2, 0, 0],
      [0, 1, 100],
    ]);
    expect(spec.points).toBe(4);
  });

  it('draw items as bars, first on top, and leave out items with nothing', () => {
    const spec = itemsChart(
      [
        { itemId: 'sku-1', value: 5.123 },
        { itemId: 'sku-2', value: 0 },
      ],
      'score',
    );
    const option = drawn(spec.option);
    expect(option.yAxis.data).toEqual(['sku-1']);
    expect(option.series[0]?.data).toEqual([5.12]);
    expect(spec.points).toBe(1);
  });

  it('count failed events by type, the commonest first', () => {
    const spec = failuresChart(['MALFORMED', 'SCHEMA_VIOLATION', 'SCHEMA_VIOLATION']);
    const option = drawn(spec.option);
    expect(option.yAxis.data).toEqual(['SCHEMA_VIOLATION', 'MALFORMED']);
    expect(option.series[0]?.data).toEqual([2, 1]);
    expect(failuresChart([]).points).toBe(0);
  });
});

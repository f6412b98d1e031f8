/**
 * API answers → ECharts options. Pure, so what each chart draws is unit-tested without a browser;
 * `points` counts the values drawn (0: the panel says there is nothing to show instead).
 */
import type { EChartsCoreOption } from 'echarts/core';
import type {
  ConsoleEventCountsQuery,
  ConsoleFunnelQuery,
  ConsoleRetentionQuery,
  FailureType,
} from '../generated/graphql';
import { bucketLabel, type BucketSize } from './time-range';

export interface ChartSpec {
  option: EChartsCoreOption;
  points: number;
}

const GRID = { left: 48, right: 16, top: 40, bottom: 32, containLabel: true };
const TOOLTIP_AXIS = { trigger: 'axis', axisPointer: { type: 'shadow' } };
/** Horizontal bars stay bars, not blocks, when there are only a few. */
const BAR_MAX_WIDTH = 28;

type EventCountRow = ConsoleEventCountsQuery['eventCounts'][number];

/** One stacked bar series per event, busiest first, over every bucket of the range. */
export function eventsOverTimeChart(
  rows: readonly EventCountRow[],
  buckets: readonly string[],
  size: BucketSize,
): ChartSpec {
  const index = new Map(buckets.map((bucket, i) => [bucket, i]));
  const perEvent = new Map<string, number[]>();
  const totals = new Map<string, number>();
  for (const row of rows) {
    const at = index.get(new Date(row.bucket).toISOString());
    if (at === undefined || row.count === 0) continue;
    const name = row.event ?? '(none)';
    const counts = perEvent.get(name) ?? new Array<number>(buckets.length).fill(0);
    counts[at] = (counts[at] ?? 0) + row.count;
    perEvent.set(name, counts);
    totals.set(name, (totals.get(name) ?? 0) + row.count);
  }
  const names = [...perEvent.keys()].sort(
    (a, b) => (totals.get(b) ?? 0) - (totals.get(a) ?? 0) || a.localeCompare(b),
  );
  return {
    points: [...perEvent.values()].reduce((sum, counts) => sum + counts.filter((c) => c > 0).length, 0),
    option: {
      tooltip: TOOLTIP_AXIS,
      legend: { type: 'scroll', top: 0 },
      grid: GRID,
      xAxis: { type: 'category', data: buckets.map((bucket) => bucketLabel(bucket, size)) },
      yAxis: { type: 'value', minInterval: 1 },
      series: names.map((name) => ({
        name,
        type: 'bar',
        stack: 'events',
        emphasis: { focus: 'series' },
        data: perEvent.get(name),
      })),
    },
  };
}

type FunnelStep = ConsoleFunnelQuery['funnel']['steps'][number];

/** The steps in the order asked, each labelled with its users and its conversion from step 1. */
export function funnelChart(steps: readonly FunnelStep[]): ChartSpec {
  return {
    points: steps[0]?.users ? steps.length : 0,
    option: {
      tooltip: { trigger: 'item', formatter: '{b}: {c} users' },
      series: [
        {
          type: 'funnel',
          sort: 'none',
          top: 16,
          bottom: 16,
          left: '10%',
          width: '80%',
          // Wide enough at the tip to hold its label; the label carries the exact numbers.
          minSize: '24%',
          gap: 2,
          label: { position: 'inside', color: '#fff', fontSize: 12, lineHeight: 16 },
          data: steps.map((step, i) => ({
            name: `${i + 1}. ${step.event}`,
            value: step.users,
            // The conversion in the label too: the narrowing alone hides small differences.
            label: { formatter: `{b}\n${step.users} users · ${percent(step.conversion)}` },
          })),
        },
      ],
    },
  };
}

type Cohort = ConsoleRetentionQuery['retention']['cohorts'][number];

/** Cohorts down, periods since the cohort's start across; a cell is the share of the cohort that came back. */
export function retentionChart(cohorts: readonly Cohort[], period: BucketSize): ChartSpec {
  const shown = cohorts.filter((cohort) => cohort.users > 0);
  const periods = Math.max(0, ...shown.map((cohort) => cohort.returned.length));
  const unit = period === 'HOUR' ? 'h' : 'd';
  const cells = shown.flatMap((cohort, y) =>
    cohort.returned.map((returned, x) => [x, y, Math.round((returned / cohort.users) * 1000) / 10]),
  );
  return {
    points: cells.length,
    option: {
      tooltip: {
        position: 'top',
        formatter: (params: { value: [number, number, number] }) => {
          const [x, y, share] = params.value;
          const cohort = shown[y];
          return cohort
            ? `${bucketLabel(cohort.start, period)} (${cohort.users} users)<br/>+${x}${unit}: ${cohort.returned[x] ?? 0} returned, ${share}%`
            : '';
        },
      },
      grid: { ...GRID, bottom: 64 },
      xAxis: {
        type: 'category',
        name: 'since first',
        data: Array.from({ length: periods }, (_, k) => `+${k}${unit}`),
        splitArea: { show: true },
      },
      yAxis: {
        type: 'category',
        inverse: true,
        data: shown.map((cohort) => `${bucketLabel(cohort.start, period)} · ${cohort.users}`),
        splitArea: { show: true },
      },
      visualMap: {
        min: 0,
        max: 100,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
        text: ['100%', '0%'],
        inRange: { color: ['#f3f6fb', '#2f6fdf'] },
      },
      series: [
        {
          type: 'heatmap',
          data: cells,
          label: {
            show: shown.length <= 14 && periods <= 14,
            formatter: (p: { value: number[] }) => `${p.value[2]}%`,
          },
        },
      ],
    },
  };
}

/** Items as horizontal bars, the first on top. */
export function itemsChart(
  items: ReadonlyArray<{ itemId: string; value: number }>,
  valueName: string,
): ChartSpec {
  const shown = items.filter((item) => item.value > 0);
  return {
    points: shown.length,
    option: {
      tooltip: TOOLTIP_AXIS,
      grid: { ...GRID, top: 16 },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', inverse: true, data: shown.map((item) => item.itemId) },
      series: [
        {
          type: 'bar',
          name: valueName,
          barMaxWidth: BAR_MAX_WIDTH,
          data: shown.map((item) => round(item.value)),
        },
      ],
    },
  };
}

/** How many failed events of each type, the commonest first. */
export function failuresChart(types: readonly FailureType[]): ChartSpec {
  const counts = new Map<FailureType, number>();
  for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
  const sorted = [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  return {
    points: sorted.length,
    option: {
      tooltip: TOOLTIP_AXIS,
      grid: { ...GRID, top: 16 },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', inverse: true, data: sorted.map(([type]) => type) },
      series: [
        {
          type: 'bar',
          name: 'failed events',
          barMaxWidth: BAR_MAX_WIDTH,
          data: sorted.map(([, count]) => count),
          itemStyle: { color: '#d9534f' },
        },
      ],
    },
  };
}

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;
const round = (value: number) => Math.round(value * 100) / 100;

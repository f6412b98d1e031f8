/**
 * Apache ECharts, with only the charts and components the console draws (the bundle stays small),
 * rendered as SVG: crisp at any zoom, and a test can see what was drawn.
 */
import { BarChart, FunnelChart, HeatmapChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { init, use, type ECharts } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import type { ChartSpec } from './chart-options';

use([
  BarChart,
  FunnelChart,
  HeatmapChart,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
  SVGRenderer,
]);

const charts = new Set<ECharts>();
window.addEventListener('resize', () => charts.forEach((chart) => chart.resize()));

/** A chart in `container`, redrawn whole on each `show`. */
export class Chart {
  private readonly chart: ECharts;

  constructor(container: HTMLElement) {
    this.chart = init(container, undefined, { renderer: 'svg' });
    charts.add(this.chart);
  }

  show(spec: ChartSpec): void {
    // notMerge: series of an event no longer in range must go, not linger from the last answer.
    this.chart.resize();
    this.chart.setOption(spec.option, { notMerge: true });
  }

  clear(): void {
    this.chart.clear();
  }
}

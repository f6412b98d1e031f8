/** The frame every panel shares: a titled section with its controls and its chart boxes. */
import { ApiError, type Query } from './api';
import { Chart } from './charts';
import type { ChartSpec } from './chart-options';
import { el } from './dom';
import type { TimeRange } from './time-range';

export interface Panel {
  readonly element: HTMLElement;
  /** Asks the API again with the current key, range and controls. */
  refresh(): Promise<void>;
}

/** A section with a heading, a line saying what it shows and from where, and a row of controls. */
export function panelSection(
  id: string,
  title: string,
  about: string,
): { element: HTMLElement; controls: HTMLElement } {
  const controls = el('form', { class: 'controls' });
  // Every control applies on change; Enter in a text field must not reload the page.
  controls.addEventListener('submit', (event) => event.preventDefault());
  const element = el(
    'section',
    { class: 'panel', id },
    el('h2', {}, title),
    el('p', { class: 'about' }, about),
    controls,
  );
  return { element, controls };
}

export type ChartState = 'idle' | 'loading' | 'ready' | 'empty' | 'error';

/** What a load found: the chart, and a note such as how fresh the warehouse is. */
export interface ChartResult extends ChartSpec {
  note?: string;
}

/**
 * One chart with its status line. `data-state` says what it shows (ready, empty, error), so the
 * page and its test agree on when a chart is drawn; an API error is shown as the API worded it.
 */
export class ChartBox {
  readonly element: HTMLElement;
  private readonly chart: Chart;
  private readonly status: HTMLElement;
  private generation = 0;

  constructor(name: string, title?: string) {
    const area = el('div', { class: 'chart' });
    this.status = el('p', { class: 'status', role: 'status' }, 'Enter a key to load.');
    this.element = el(
      'figure',
      { class: 'chart-box', 'data-chart': name, 'data-state': 'idle' },
      title ? el('figcaption', {}, title) : null,
      area,
      this.status,
    );
    this.chart = new Chart(area);
  }

  async load(task: () => Promise<ChartResult>): Promise<void> {
    // A slow answer to an older request must not overwrite a newer one.
    const generation = ++this.generation;
    this.setState('loading', 'loading…');
    try {
      const result = await task();
      if (generation !== this.generation) return;
      if (result.points === 0) {
        this.chart.clear();
        this.setState('empty', `Nothing to show in this range.${result.note ? ` ${result.note}` : ''}`);
        return;
      }
      // Ready first: the chart's box only takes its height once the state says there is a chart.
      this.setState('ready', result.note ?? '');
      this.chart.show(result);
    } catch (error) {
      if (generation !== this.generation) return;
      this.chart.clear();
      this.setState('error', describeError(error));
    }
  }

  private setState(state: ChartState, message: string): void {
    this.element.dataset.state = state;
    this.status.textContent = message;
    this.status.setAttribute('role', state === 'error' ? 'alert' : 'status');
  }
}

/** `CODE: message` for an API error, the message for anything else. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.code ? `${error.code}: ${error.message}` : error.message;
  return error instanceof Error ? error.message : String(error);
}

/** `warehouse as of 10:02:03 UTC`, or that nothing has been loaded yet. */
export function freshness(dataAsOf: string | null): string {
  return dataAsOf
    ? `Warehouse as of ${dataAsOf.slice(0, 19).replace('T', ' ')} UTC.`
    : 'The warehouse has not loaded anything yet.';
}

/** What a panel reads with: the API, and the range the header picks. */
export interface PanelContext {
  readonly query: Query;
  readonly range: () => TimeRange;
}

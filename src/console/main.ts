/**
 * The console (docs/console.md): a live tail and charts over the GraphQL API, with the key the user
 * types in. Bundled with esbuild for the browser; no framework, Apache ECharts for every chart.
 */
import './console.css';
import { httpQuery } from './api';
import { el, field, select } from './dom';
import { LiveTail } from './live-tail';
import { CONFIG_ELEMENT_ID, type ConsolePageConfig } from './page-config';
import type { Panel, PanelContext } from './panel';
import { eventsOverTimePanel } from './panels/events-over-time';
import { failuresPanel } from './panels/failures';
import { funnelPanel } from './panels/funnel';
import { itemsPanel } from './panels/items';
import { retentionPanel } from './panels/retention';
import { DEFAULT_RANGE, RANGES, rangeEndingNow, type RangeName } from './time-range';

function readConfig(): ConsolePageConfig {
  const text = document.getElementById(CONFIG_ELEMENT_ID)?.textContent;
  if (!text) throw new Error(`the page has no #${CONFIG_ELEMENT_ID} element`);
  return JSON.parse(text) as ConsolePageConfig;
}

/** A path on this origin becomes ws: or wss: on it, as the page was served over http: or https:. */
function webSocketUrl(liveUrl: string | null): string | null {
  if (liveUrl === null) return null;
  const url = new URL(liveUrl, window.location.href);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  return url.href;
}

function start(root: HTMLElement): void {
  const config = readConfig();
  let key = config.apiKey ?? '';

  const keyInput = el('input', {
    type: 'password',
    name: 'apiKey',
    autocomplete: 'off',
    placeholder: 'a SECRET key (trbs_…)',
    size: '36',
  });
  keyInput.value = key;
  const range = select(
    'range',
    Object.entries(RANGES).map(([name, { label }]) => [name, label] as const),
    DEFAULT_RANGE,
  );
  const keyForm = el(
    'form',
    { class: 'key' },
    field('API key', keyInput),
    el('button', { type: 'submit' }, 'Use key'),
    field('Range', range),
    el('button', { type: 'button', name: 'refresh' }, 'Refresh'),
  );

  const context: PanelContext = {
    query: httpQuery(config.graphqlUrl, () => key),
    range: () => rangeEndingNow(range.value as RangeName),
  };
  const live = new LiveTail(webSocketUrl(config.liveUrl));
  const panels: Panel[] = [
    eventsOverTimePanel(context),
    funnelPanel(context),
    retentionPanel(context),
    itemsPanel(context),
    failuresPanel(context),
  ];
  const refreshAll = () => Promise.all(panels.map((panel) => panel.refresh()));

  keyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    key = keyInput.value.trim();
    live.connect(key);
    void refreshAll();
  });
  range.addEventListener('change', () => void refreshAll());
  keyForm.querySelector('[name=refresh]')?.addEventListener('click', () => void refreshAll());

  root.replaceChildren(
    el('header', {}, el('h1', {}, 'Tributary console'), keyForm),
    live.element,
    el('div', { class: 'grid' }, ...panels.map((panel) => panel.element)),
  );
  if (key !== '') {
    live.connect(key);
    void refreshAll();
  }
}

const root = document.getElementById('console');
if (root) start(root);

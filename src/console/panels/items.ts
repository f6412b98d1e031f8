import { ConsoleTopItemsDocument, ConsoleTrendingDocument, type TrendWindow } from '../../generated/graphql';
import { itemsChart } from '../chart-options';
import { el, field, select, textInput } from '../dom';
import { ChartBox, freshness, panelSection, type Panel, type PanelContext } from '../panel';

const ITEMS = 10;

/**
 * The items with the most events in the range, from the warehouse (`topItems`, ANALYTICS_READ),
 * beside those trending right now, from the hot tier (`trending`, PUBLIC_READ).
 */
export function itemsPanel(context: PanelContext): Panel {
  const { element, controls } = panelSection(
    'items',
    'Top and trending items',
    'Top: the items with the most events in the range (topItems, warehouse). Trending: time-decayed counts over the last hour or day (trending, hot tier).',
  );
  const event = textInput('event', 'product_viewed');
  const trendWindow = select(
    'window',
    [
      ['HOUR', 'last hour'],
      ['DAY', 'last day'],
    ],
    'HOUR',
  );
  const top = new ChartBox('top-items', 'Top items');
  const trending = new ChartBox('trending-items', 'Trending now');
  controls.append(field('Event', event), field('Trending over', trendWindow));
  element.append(el('div', { class: 'pair' }, top.element, trending.element));

  const refreshTop = () =>
    top.load(async () => {
      const { topItems } = await context.query(ConsoleTopItemsDocument, {
        ...context.range(),
        event: event.value.trim(),
        limit: ITEMS,
      });
      const items = topItems.items.map((item) => ({ itemId: item.itemId, value: item.count }));
      return { ...itemsChart(items, 'events'), note: freshness(topItems.dataAsOf) };
    });
  const refreshTrending = () =>
    trending.load(async () => {
      const name = event.value.trim();
      const { trending: items } = await context.query(ConsoleTrendingDocument, {
        event: name === '' ? null : name,
        window: trendWindow.value as TrendWindow,
        limit: ITEMS,
      });
      return itemsChart(
        items.map((item) => ({ itemId: item.itemId, value: item.score })),
        'score',
      );
    });
  const refresh = async () => {
    await Promise.all([refreshTop(), refreshTrending()]);
  };
  event.addEventListener('change', () => void refresh());
  trendWindow.addEventListener('change', () => void refreshTrending());
  return { element, refresh };
}

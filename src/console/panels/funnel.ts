import { ConsoleFunnelDocument } from '../../generated/graphql';
import { funnelChart } from '../chart-options';
import { field, textInput } from '../dom';
import { ChartBox, freshness, panelSection, type Panel, type PanelContext } from '../panel';

/** The demo shop's path from a product to an order. */
export const DEFAULT_FUNNEL_STEPS = [
  'product_viewed',
  'product_added_to_cart',
  'checkout_started',
  'order_completed',
];

/** Users who did the chosen events in order within 24 hours: `funnel` (ANALYTICS_READ). */
export function funnelPanel(context: PanelContext): Panel {
  const { element, controls } = panelSection(
    'funnel',
    'Funnel',
    'Users who did each step in order, each within 24 hours of the first, and their share of step 1 (funnel).',
  );
  const steps = textInput('steps', DEFAULT_FUNNEL_STEPS.join(', '), { size: '60' });
  const box = new ChartBox('funnel');
  controls.append(field('Steps, in order', steps));
  element.append(box.element);

  const refresh = () =>
    box.load(async () => {
      const names = steps.value.split(/[\s,]+/).filter((name) => name !== '');
      const { funnel } = await context.query(ConsoleFunnelDocument, { ...context.range(), steps: names });
      return { ...funnelChart(funnel.steps), note: freshness(funnel.dataAsOf) };
    });
  steps.addEventListener('change', () => void refresh());
  return { element, refresh };
}

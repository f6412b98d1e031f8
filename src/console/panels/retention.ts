import { ConsoleRetentionDocument } from '../../generated/graphql';
import { retentionChart } from '../chart-options';
import { field, select, textInput } from '../dom';
import { ChartBox, freshness, panelSection, type Panel, type PanelContext } from '../panel';
import type { BucketSize } from '../time-range';

/** Cohorts by their first start event, and who came back in each later period: `retention` (ANALYTICS_READ). */
export function retentionPanel(context: PanelContext): Panel {
  const { element, controls } = panelSection(
    'retention',
    'Retention',
    'Users grouped by the period of their first start event; each cell is the share of them who did the return event that many periods later (retention).',
  );
  const startEvent = textInput('startEvent', 'page_viewed');
  const returnEvent = textInput('returnEvent', 'page_viewed');
  const period = select(
    'period',
    [
      ['DAY', 'days'],
      ['HOUR', 'hours'],
    ],
    'DAY',
  );
  const box = new ChartBox('retention');
  controls.append(
    field('Start event', startEvent),
    field('Return event', returnEvent),
    field('Periods', period),
  );
  element.append(box.element);

  const refresh = () =>
    box.load(async () => {
      const size = period.value as BucketSize;
      const { retention } = await context.query(ConsoleRetentionDocument, {
        ...context.range(),
        startEvent: startEvent.value.trim(),
        returnEvent: returnEvent.value.trim(),
        period: size,
      });
      return { ...retentionChart(retention.cohorts, size), note: freshness(retention.dataAsOf) };
    });
  for (const control of [startEvent, returnEvent, period])
    control.addEventListener('change', () => void refresh());
  return { element, refresh };
}

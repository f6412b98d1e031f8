import { ConsoleEventCountsDocument } from '../../generated/graphql';
import { eventsOverTimeChart } from '../chart-options';
import { field, select } from '../dom';
import { ChartBox, panelSection, type Panel, type PanelContext } from '../panel';
import { bucketStarts, type BucketSize } from '../time-range';

/** Events per hour or day, stacked by event name: `eventCounts` (ANALYTICS_READ). */
export function eventsOverTimePanel(context: PanelContext): Panel {
  const { element, controls } = panelSection(
    'events-over-time',
    'Events over time',
    'Events per bucket by event time, stacked by event name, from the warehouse (eventCounts).',
  );
  const granularity = select(
    'granularity',
    [
      ['HOUR', 'per hour'],
      ['DAY', 'per day'],
    ],
    // Days suit the default range of a week; hours are a click away for the last day.
    'DAY',
  );
  const box = new ChartBox('events-over-time');
  controls.append(field('Buckets', granularity));
  element.append(box.element);

  const refresh = () =>
    box.load(async () => {
      const range = context.range();
      const size = granularity.value as BucketSize;
      const { eventCounts } = await context.query(ConsoleEventCountsDocument, {
        ...range,
        granularity: size,
      });
      return eventsOverTimeChart(eventCounts, bucketStarts(range, size), size);
    });
  granularity.addEventListener('change', () => void refresh());
  return { element, refresh };
}

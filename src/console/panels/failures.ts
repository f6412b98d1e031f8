import { ConsoleFailedEventsDocument } from '../../generated/graphql';
import { failuresChart } from '../chart-options';
import { ChartBox, panelSection, type Panel, type PanelContext } from '../panel';

/** As many failed events as one `failedEvents` answer holds (the API's own cap). */
const SAMPLE = 1000;

/** Failed events received in the range, counted by failure type: `failedEvents` (FAILED_EVENTS_READ). */
export function failuresPanel(context: PanelContext): Panel {
  const { element } = panelSection(
    'failures',
    'Failed events by type',
    `Records the stream refused or applied only in part, by failure type, received in the range: the latest ${SAMPLE} at most (failedEvents).`,
  );
  const box = new ChartBox('failures');
  element.append(box.element);

  const refresh = () =>
    box.load(async () => {
      const { failedEvents } = await context.query(ConsoleFailedEventsDocument, {
        ...context.range(),
        limit: SAMPLE,
      });
      const note =
        failedEvents.length === SAMPLE
          ? `The latest ${SAMPLE} failed events of the range; older ones are not counted.`
          : `${failedEvents.length} failed events.`;
      return { ...failuresChart(failedEvents.map((failed) => failed.failureType)), note };
    });
  return { element, refresh };
}

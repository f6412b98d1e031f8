import { failedLiveEvent } from '../live/from-failed';
import type { LivePublisher } from '../live/port';
import type { FailedDelivery } from '../sinks/lake/port';

/**
 * The failed events delivery, showing each failed event it wrote in the live view (FAILED) while
 * anyone watches: every failed event of the processor goes through it, whether the stream refused
 * the record or the hot tier did, except the edge's rejections, shown when the edge answered. One
 * not written is shown when its batch comes again.
 */
export function withLiveFailedEvents(delivery: FailedDelivery, live: LivePublisher): FailedDelivery {
  return {
    close: () => delivery.close(),
    async deliver(records) {
      const result = await delivery.deliver(records);
      if (!live.hasSubscribers()) return result;
      const unwritten = new Set(result.failed.map(({ index }) => index));
      const shown = records
        .filter((_, index) => !unwritten.has(index))
        .map(failedLiveEvent)
        .filter((event) => event !== null);
      if (shown.length > 0) await live.publish(shown);
      return result;
    },
  };
}

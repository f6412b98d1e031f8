import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { SUPPRESSED_EVENTS_LOG_FIELD, type SuppressionPoint } from '../../src/privacy/suppression';

export const SUPPRESSED_EVENTS_METRIC = 'SuppressedEvents';

/**
 * Counts the events of suppressed ids a function reports dropping (one log line per request or
 * batch, at INFO) into `Tributary/SuppressedEvents`, with the dimension `At` (edge or stream).
 * Dropping them is the product working, so nothing alarms on it; the metric shows that it does.
 */
export function suppressedEventsMetric(
  scope: Construct,
  logGroup: logs.ILogGroup,
  at: SuppressionPoint,
): cloudwatch.Metric {
  const filter = new logs.MetricFilter(scope, 'SuppressedEventsFilter', {
    logGroup,
    filterPattern: logs.FilterPattern.numberValue(`$.${SUPPRESSED_EVENTS_LOG_FIELD}`, '>', 0),
    metricNamespace: 'Tributary',
    metricName: SUPPRESSED_EVENTS_METRIC,
    metricValue: `$.${SUPPRESSED_EVENTS_LOG_FIELD}`,
    dimensions: { At: '$.at' },
  });
  return filter.metric({ statistic: 'Sum', period: Duration.minutes(5), dimensionsMap: { At: at } });
}

import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StageConfig } from '../config';

export interface ObservabilityProps {
  readonly dashboardName: string;
  readonly api: IHttpApi;
  readonly stream: kinesis.IStream;
  /** The function behind the Kinesis event source mapping (its IteratorAge is the pipeline's lag). */
  readonly streamProcessor: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  /** Every Tributary function, by a short name used in alarm descriptions and widgets. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /**
   * Functions that run one instance at a time (reserved concurrency 1), each with the interval of the
   * schedule that runs it, by short name. A second invocation queues by design, so throttles do not
   * alarm; any error does, counted over one interval, so a failure repeated by every run keeps the
   * alarm on.
   */
  readonly serialFunctions?: Readonly<Record<string, { fn: lambda.IFunction; interval: Duration }>>;
  readonly deliveryStreams: Readonly<Record<string, firehose.IDeliveryStream>>;
  readonly table: dynamodb.ITable;
  /** A provisioned table alarms on throttled requests and shows its provisioned capacity. */
  readonly tableProvisioned: boolean;
  /** Lake files the warehouse load moved to quarantine; any at all pages. Only Redshift's load quarantines. */
  readonly quarantinedLakeFiles?: cloudwatch.IMetric;
  readonly thresholds: StageConfig['alarms'];
  readonly removalPolicy: RemovalPolicy;
}

const PERIOD = Duration.minutes(5);

/** A Sum over the period as a rate a second, comparable with provisioned capacity; `id` is unique per graph. */
const perSecond = (id: string, units: cloudwatch.IMetric, label: string): cloudwatch.MathExpression =>
  new cloudwatch.MathExpression({
    expression: `${id} / PERIOD(${id})`,
    usingMetrics: { [id]: units },
    label,
    period: PERIOD,
  });

/** A CloudWatch dashboard and the alarms that page through one SNS topic. */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const t = props.thresholds;

    // A customer-managed key because CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key.
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts Tributary alarm notifications',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Tributary alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (t.email) this.topic.addSubscription(new subscriptions.EmailSubscription(t.email));
    this.action = new SnsAction(this.topic);

    const iteratorAge = props.streamProcessor.metric('IteratorAge', { statistic: 'Maximum', period: PERIOD });
    this.alarm('IteratorAge', iteratorAge, t.iteratorAge.toMilliseconds(), 'Stream processing lags behind');

    const dlqDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: PERIOD,
    });
    this.alarm(
      'DeadLetterDepth',
      dlqDepth,
      t.deadLetterMessages,
      'Batches exhausted their retries: replay them from the stream (the queue holds shard pointers)',
      cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    );

    const deliveryWidgets: cloudwatch.IWidget[] = [];
    for (const [name, stream] of Object.entries(props.deliveryStreams)) {
      // A period with records but no successful S3 write shows as Minimum < 1; no traffic means no data.
      const success = stream.metric('DeliveryToS3.Success', { statistic: 'Minimum', period: PERIOD });
      this.alarm(
        `${name}DeliveryFailure`,
        success,
        1,
        `Firehose "${name}" fails to write to the lake`,
        cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      );
      const freshness = stream.metric('DeliveryToS3.DataFreshness', { statistic: 'Maximum', period: PERIOD });
      this.alarm(
        `${name}DeliveryFreshness`,
        freshness,
        t.deliveryFreshness.toSeconds(),
        `Firehose "${name}" holds records longer than expected`,
      );
      deliveryWidgets.push(
        new cloudwatch.GraphWidget({
          title: `Firehose ${name}`,
          left: [stream.metric('IncomingRecords', { statistic: 'Sum', period: PERIOD })],
          right: [freshness],
        }),
      );
    }

    const functionWidgets: cloudwatch.IWidget[] = [];
    for (const [name, fn] of Object.entries(props.functions)) {
      const errors = fn.metricErrors({ period: PERIOD });
      const throttles = fn.metricThrottles({ period: PERIOD });
      this.alarm(`${name}Errors`, errors, t.lambdaErrors, `The ${name} function fails`);
      this.alarm(`${name}Throttles`, throttles, t.lambdaThrottles, `The ${name} function is throttled`);
      functionWidgets.push(
        new cloudwatch.GraphWidget({
          title: `Lambda ${name}`,
          left: [fn.metricInvocations({ period: PERIOD }), errors, throttles],
          right: [fn.metricDuration({ statistic: 'p99', period: PERIOD })],
        }),
      );
    }
    for (const [name, { fn, interval }] of Object.entries(props.serialFunctions ?? {})) {
      const errors = fn.metricErrors({ period: interval });
      this.alarm(`${name}Errors`, errors, 0, `The ${name} function fails`);
      functionWidgets.push(
        new cloudwatch.GraphWidget({
          title: `Lambda ${name}`,
          left: [fn.metricInvocations({ period: PERIOD }), fn.metricErrors({ period: PERIOD })],
          right: [fn.metricDuration({ statistic: 'Maximum', period: PERIOD })],
        }),
      );
    }

    if (props.quarantinedLakeFiles) {
      this.alarm(
        'QuarantinedLakeFiles',
        props.quarantinedLakeFiles,
        0,
        'The warehouse load moved lake files it cannot COPY to quarantine/: read why in its log, fix or drop them',
      );
    }

    // Every operation on the table, items of a batch counted one by one.
    const readThrottles = props.table.metric('ReadThrottleEvents', { statistic: 'Sum', period: PERIOD });
    const writeThrottles = props.table.metric('WriteThrottleEvents', { statistic: 'Sum', period: PERIOD });
    if (props.tableProvisioned) {
      const why =
        'the stream retries its batch, but raise the max (docs/deploy.md#hot-tier-capacity) if this persists';
      this.alarm(
        'HotTierReadThrottles',
        readThrottles,
        t.hotTierThrottles,
        `DynamoDB throttles hot-tier reads: ${why}`,
      );
      this.alarm(
        'HotTierWriteThrottles',
        writeThrottles,
        t.hotTierThrottles,
        `DynamoDB throttles hot-tier writes: ${why}`,
      );
    }

    const api5xx = props.api.metricServerError({ period: PERIOD });
    const apiLatency = props.api.metricLatency({ statistic: 'p99', period: PERIOD });
    this.alarm('Api5xx', api5xx, t.api5xx, 'The GraphQL API answers 5xx');
    this.alarm('ApiLatency', apiLatency, t.apiLatencyP99.toMilliseconds(), 'The GraphQL API is slow (p99)');

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and 5xx',
        left: [props.api.metricCount({ period: PERIOD }), api5xx],
        right: [apiLatency],
      }),
      new cloudwatch.GraphWidget({
        title: 'Stream in, processor lag',
        left: [props.stream.metricIncomingRecords({ statistic: 'Sum', period: PERIOD })],
        right: [iteratorAge],
      }),
      new cloudwatch.GraphWidget({ title: 'On-failure queue', left: [dlqDepth] }),
    );
    this.dashboard.addWidgets(...deliveryWidgets);
    this.dashboard.addWidgets(...functionWidgets);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Hot tier: units a second, throttled requests',
        left: [
          perSecond(
            'writes',
            props.table.metricConsumedWriteCapacityUnits({ period: PERIOD }),
            'consumed write units',
          ),
          perSecond(
            'reads',
            props.table.metricConsumedReadCapacityUnits({ period: PERIOD }),
            'consumed read units',
          ),
          // Consumed against provisioned: how close auto scaling runs to the max.
          ...(props.tableProvisioned
            ? [
                props.table.metric('ProvisionedWriteCapacityUnits', { statistic: 'Average', period: PERIOD }),
                props.table.metric('ProvisionedReadCapacityUnits', { statistic: 'Average', period: PERIOD }),
              ]
            : []),
        ],
        right: [readThrottles, writeThrottles],
      }),
    );
  }

  private alarm(
    id: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    description: string,
    comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  ): void {
    const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
      metric,
      threshold,
      comparisonOperator,
      evaluationPeriods: 1,
      alarmDescription: description,
      // Quiet periods (no traffic) are healthy, not an outage.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
  }
}

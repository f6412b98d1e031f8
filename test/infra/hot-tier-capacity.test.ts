import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type HotTierCapacity, stageConfig } from '../../infra/config';
import { HotTier } from '../../infra/constructs/hot-tier';
import { TributaryStack } from '../../infra/tributary-stack';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

const outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-hot-tier-test-'));
afterAll(() => fs.rmSync(outRoot, { recursive: true, force: true }));
const appProps = () => ({
  builtinCloudFormationValidation: false,
  outdir: fs.mkdtempSync(path.join(outRoot, 'app-')),
  // No bundling: nothing here reads the bundles, which test/infra/tributary-stack.test.ts checks.
  context: { 'aws:cdk:bundling-stacks': [] },
});

/** Both stages as configured: dev on-demand, prod provisioned. One synth each, shared below. */
let dev: { stack: TributaryStack; template: Template };
let prod: { stack: TributaryStack; template: Template };
beforeAll(() => {
  const synth = (stage: 'dev' | 'prod') => {
    const stack = new TributaryStack(new App(appProps()), `Tributary-${stage}`, {
      config: stageConfig(stage),
    });
    return { stack, template: Template.fromStack(stack) };
  };
  dev = synth('dev');
  prod = synth('prod');
}, 120_000);

const prodCapacity = stageConfig('prod').hotTier.capacity as Extract<
  HotTierCapacity,
  { mode: 'PROVISIONED' }
>;

const tableId = (template: Template): string => {
  const ids = Object.keys(template.findResources('AWS::DynamoDB::Table')).filter((id) =>
    id.startsWith('HotTierTable'),
  );
  expect(ids).toHaveLength(1);
  return ids[0]!;
};

/** Alarms on a DynamoDB metric of the hot table. */
const throttleAlarms = (template: Template) =>
  Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources).filter((alarm) =>
    ['ReadThrottleEvents', 'WriteThrottleEvents'].includes(String(alarm.Properties.MetricName)),
  );

describe('hot-tier capacity', () => {
  it('keeps the same table resource, under the same logical id, in either mode: switching updates it in place', () => {
    // The id the on-demand table has always been deployed under.
    expect(tableId(dev.template)).toBe('HotTierTable14AA8D5A');
    expect(tableId(prod.template)).toBe(tableId(dev.template));
  });

  it('is on-demand in dev, with no auto scaling and no throttle alarm', () => {
    dev.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      ProvisionedThroughput: Match.absent(),
    });
    dev.template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    expect(throttleAlarms(dev.template)).toEqual([]);
  });

  it('is provisioned in prod, starting at the mins', () => {
    prod.template.hasResourceProperties('AWS::DynamoDB::Table', {
      // CDK leaves out CloudFormation's default, PROVISIONED.
      BillingMode: Match.absent(),
      ProvisionedThroughput: {
        ReadCapacityUnits: prodCapacity.read.min,
        WriteCapacityUnits: prodCapacity.write.min,
      },
    });
  });

  it.each([
    ['Read', 'read'],
    ['Write', 'write'],
  ] as const)(
    'scales %s capacity between the configured bounds, tracking the target utilization',
    (Side, side) => {
      const targets = Object.entries(
        prod.template.findResources('AWS::ApplicationAutoScaling::ScalableTarget', {
          Properties: { ScalableDimension: `dynamodb:table:${Side}CapacityUnits` },
        }) as Resources,
      );
      expect(targets).toHaveLength(1);
      const [targetId, target] = targets[0]!;
      expect(target.Properties).toMatchObject({
        ServiceNamespace: 'dynamodb',
        MinCapacity: prodCapacity[side].min,
        MaxCapacity: prodCapacity[side].max,
        ResourceId: { 'Fn::Join': ['', ['table/', { Ref: tableId(prod.template) }]] },
      });
      prod.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyType: 'TargetTrackingScaling',
        ScalingTargetId: { Ref: targetId },
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          TargetValue: prodCapacity.targetUtilizationPercent,
          PredefinedMetricSpecification: { PredefinedMetricType: `DynamoDB${Side}CapacityUtilization` },
        }),
      });
    },
  );

  it('alarms on throttled reads and writes of the table into the alarm topic, and shows them on the dashboard', () => {
    const alarms = throttleAlarms(prod.template);
    expect(alarms.map((a) => a.Properties.MetricName).sort()).toEqual([
      'ReadThrottleEvents',
      'WriteThrottleEvents',
    ]);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/DynamoDB',
        Dimensions: [{ Name: 'TableName', Value: { Ref: tableId(prod.template) } }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: stageConfig('prod').alarms.hotTierThrottles,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: expect.stringMatching(/^ObservabilityAlarmTopic/) }],
      });
    }
    const body = JSON.stringify(prod.template.findResources('AWS::CloudWatch::Dashboard'));
    for (const metric of [
      'ReadThrottleEvents',
      'WriteThrottleEvents',
      'ProvisionedWriteCapacityUnits',
      'ProvisionedReadCapacityUnits',
    ]) {
      expect(body).toContain(metric);
    }
    // dev's dashboard shows throttling too, with no provisioned capacity to compare with.
    const devBody = JSON.stringify(dev.template.findResources('AWS::CloudWatch::Dashboard'));
    expect(devBody).toContain('WriteThrottleEvents');
    expect(devBody).not.toContain('ProvisionedWriteCapacityUnits');
  });

  it('refuses bounds auto scaling would reject, at synth', () => {
    const build = (capacity: HotTierCapacity) => () =>
      new HotTier(new Stack(new App(appProps()), 'Bounds'), 'HotTier', {
        removalPolicy: RemovalPolicy.DESTROY,
        capacity,
      });
    const valid = { ...prodCapacity };
    expect(build({ ...valid, write: { min: 0, max: 10 } })).toThrow(/write capacity .* 1 <= min <= max/);
    expect(build({ ...valid, read: { min: 20, max: 10 } })).toThrow(/read capacity/);
    expect(build({ ...valid, targetUtilizationPercent: 95 })).toThrow(/between 20 and 90/);
    expect(build(valid)).not.toThrow();
  });

  it.each(['dev', 'prod'] as const)(
    'folds the pending item and trend changes on the %s schedule, one instance at a time, alarming on its errors',
    (stage) => {
      const { template } = stage === 'dev' ? dev : prod;
      const foldInterval = stageConfig(stage).hotTier.foldInterval;
      expect(foldInterval.toMinutes()).toBe(5);
      const folds = Object.entries(
        template.findResources('AWS::Lambda::Function', {
          Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'tributary-hot-fold' } } },
        }) as Resources,
      );
      expect(folds).toHaveLength(1);
      const [foldId, fold] = folds[0]!;
      expect(fold.Properties).toMatchObject({
        ReservedConcurrentExecutions: 1,
        Architectures: ['arm64'],
        Environment: { Variables: { TRIBUTARY_TABLE_NAME: { Ref: tableId(template) } } },
      });
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: `rate(${foldInterval.toMinutes()} minutes)`,
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [foldId, 'Arn'] } })],
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: foldId } }],
        Period: foldInterval.toSeconds(),
        Threshold: 0,
      });
    },
  );

  it('leaves no cdk-nag AwsSolutions findings, construct errors or warnings in prod', () => {
    const report = new AwsSolutionsChecks().validateScope(prod.stack);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(Annotations.fromStack(prod.stack).findError('*', Match.anyValue())).toEqual([]);
    expect(
      Annotations.fromStack(prod.stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ).toEqual([]);
  });
});

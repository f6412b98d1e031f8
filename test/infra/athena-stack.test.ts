import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stageConfig } from '../../infra/config';
import { AthenaWarehouse } from '../../infra/constructs/athena-warehouse';
import { TributaryStack } from '../../infra/tributary-stack';
import { LOAD_STATE_KEY } from '../../src/sinks/lake/firehose/s3-load-state';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-athena-test-'));
afterAll(() => fs.rmSync(outRoot, { recursive: true, force: true }));
const appProps = () => ({
  builtinCloudFormationValidation: false,
  outdir: fs.mkdtempSync(path.join(outRoot, 'app-')),
  // No bundling: nothing here reads the bundles, which test/infra/tributary-stack.test.ts checks.
  context: { 'aws:cdk:bundling-stacks': [] },
});

/** The dev stage as configured: the Athena engine. One synth shared by every test below. */
let stack: TributaryStack;
let template: Template;
beforeAll(() => {
  stack = new TributaryStack(new App(appProps()), 'Tributary-dev', { config: stageConfig('dev') });
  template = Template.fromStack(stack);
}, 120_000);

function functionByService(service: string): { id: string; variables: Record<string, unknown> } {
  const fns = Object.entries(
    template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } },
    }) as Resources,
  );
  expect(fns).toHaveLength(1);
  const [id, fn] = fns[0]!;
  return { id, variables: (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables };
}

/** Every statement of the policies attached to the role whose logical id starts with `rolePrefix`. */
function statementsOfRole(rolePrefix: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy') as Resources)
    .filter((p) => (p.Properties.Roles as Array<{ Ref?: string }>).some((r) => r.Ref?.startsWith(rolePrefix)))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (statements: Statement[]): string[] => statements.flatMap((s) => [s.Action].flat());

/** The one resource of `type` whose logical id starts with `prefix`. */
function logicalId(type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

const workgroupArn = {
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':athena:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':workgroup/tributary-dev',
    ],
  ],
};

/** The warehouse bucket's objects below `prefix`. */
const warehouseObjects = (prefix: string) => ({
  'Fn::Join': [
    '',
    [{ 'Fn::GetAtt': [logicalId('AWS::S3::Bucket', 'WarehouseBucket'), 'Arn'] }, `/${prefix}`],
  ],
});

describe('dev stage on Athena', () => {
  it('is what dev deploys: Athena, one provisioned Kinesis shard', () => {
    expect(stageConfig('dev').warehouse.engine).toBe('athena');
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 1,
    });
    // The iterator-age alarm is what tells a provisioned stream to grow.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Threshold: 900_000,
    });
  });

  it('deploys no Redshift: no namespace, workgroup, VPC, admin secret or Redshift variables', () => {
    const types = Object.values(template.toJSON().Resources as Resources).map((r) => r.Type);
    expect(types.filter((type) => /Redshift|EC2/.test(type))).toEqual([]);
    const variables = JSON.stringify(template.findResources('AWS::Lambda::Function'));
    expect(variables).not.toMatch(/TRIBUTARY_REDSHIFT_/);
    expect(
      actionsOf(
        Object.values(template.findResources('AWS::IAM::Policy') as Resources).flatMap(
          (p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
        ),
      ).filter((action) => action.startsWith('redshift')),
    ).toEqual([]);
    expect(Object.keys(template.findOutputs('*'))).toEqual(
      expect.arrayContaining(['WarehouseWorkgroup', 'WarehouseDatabase']),
    );
    expect(Object.keys(template.findOutputs('*'))).not.toContain('WarehouseAdminSecretArn');
    // Only the Redshift load quarantines files.
    expect(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: 'QuarantinedLakeFiles' },
      }),
    ).toEqual({});
  });

  it('runs every query in one enforced workgroup: encrypted results, a bytes-scanned cutoff, engine 3', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'tributary-dev',
      State: 'ENABLED',
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: Match.objectLike({
          OutputLocation: {
            'Fn::Join': [
              '',
              ['s3://', { Ref: logicalId('AWS::S3::Bucket', 'WarehouseBucket') }, '/results/'],
            ],
          },
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
        }),
      },
    });
  });

  it('keeps tables and results in their own encrypted, access-logged bucket; results expire, tables never do', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'warehouse/' }),
      VersioningConfiguration: Match.absent(),
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ Id: 'expire-results', Prefix: 'results/', ExpirationInDays: 7 }),
          Match.objectLike({
            Id: 'abort-uploads',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          }),
        ],
      },
    });
    template.hasResourceProperties('AWS::Glue::Database', {
      DatabaseInput: Match.objectLike({ Name: 'tributary_dev' }),
    });
  });

  it('runs the load step every 15 minutes and its purge and maintenance daily, with the Athena coordinates', () => {
    const loader = functionByService('tributary-warehouse-load');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [loader.id, 'Arn'] }, Input: Match.absent() })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(17 3 * * ? *)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [loader.id, 'Arn'] }, Input: '{"daily":true}' })],
    });
    expect(loader.variables).toEqual(
      expect.objectContaining({
        TRIBUTARY_WAREHOUSE_ENGINE: 'athena',
        TRIBUTARY_ATHENA_WORKGROUP: 'tributary-dev',
        TRIBUTARY_ATHENA_DATABASE: 'tributary_dev',
        TRIBUTARY_ATHENA_SOURCE_DATABASE: stack.delivery.lakeDatabaseName,
        TRIBUTARY_ATHENA_SOURCE_TABLE: 'events',
        TRIBUTARY_ATHENA_TABLES_LOCATION: {
          'Fn::Join': ['', ['s3://', { Ref: logicalId('AWS::S3::Bucket', 'WarehouseBucket') }, '/tables/']],
        },
        TRIBUTARY_LAKE_BUCKET: { Ref: logicalId('AWS::S3::Bucket', 'LakeBucket') },
        TRIBUTARY_RETENTION_WAREHOUSE_DAYS: '30',
        // Merges wait for 64 MiB or for a file older than dev's freshness, an hour.
        TRIBUTARY_LOAD_MIN_PENDING_BYTES: String(64 * 1024 ** 2),
        TRIBUTARY_LOAD_MAX_PENDING_MINUTES: '60',
      }),
    );
  });

  it('lets the graphql function query the workgroup and read the tables, never change them', () => {
    const statements = statementsOfRole('IngestApiHandlerRole');
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: [
            'athena:StartQueryExecution',
            'athena:GetQueryExecution',
            'athena:GetQueryResults',
            'athena:StopQueryExecution',
            'athena:GetWorkGroup',
          ],
          Resource: workgroupArn,
        }),
        expect.objectContaining({
          Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartitions'],
        }),
        expect.objectContaining({
          Action: expect.arrayContaining(['s3:PutObject']),
          Resource: expect.arrayContaining([warehouseObjects('results/*')]),
        }),
      ]),
    );
    const actions = actionsOf(statements);
    expect(actions.filter((a) => a.startsWith('glue:') && !a.startsWith('glue:Get'))).toEqual([]);
    // Writes below results/ only: the tables' files are read.
    const writes = statements.filter((s) => actionsOf([s]).some((a) => /^s3:(Put|Delete)/.test(a)));
    expect(JSON.stringify(writes)).not.toContain('/tables/');
    expect(functionByService('tributary-graphql').variables).toEqual(
      expect.objectContaining({
        TRIBUTARY_WAREHOUSE_ENGINE: 'athena',
        TRIBUTARY_ATHENA_WORKGROUP: 'tributary-dev',
        TRIBUTARY_ATHENA_DATABASE: 'tributary_dev',
        TRIBUTARY_ATHENA_QUERY_TIMEOUT_MS: '10000',
      }),
    );
  });

  it("lets the deletion function commit Iceberg deletes to the warehouse's tables, and nothing else of it", () => {
    const statements = statementsOfRole('DeletionHandlerRole');
    expect(actionsOf(statements)).toEqual(
      expect.arrayContaining(['athena:StartQueryExecution', 'glue:UpdateTable']),
    );
    expect(actionsOf(statements)).not.toContain('glue:CreateTable');
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: expect.arrayContaining(['s3:DeleteObject*', 's3:PutObject']),
          Resource: expect.arrayContaining([warehouseObjects('tables/*')]),
        }),
      ]),
    );
    const glue = statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('glue:')));
    expect(JSON.stringify(glue)).toContain(':table/tributary_dev/*');
    expect(JSON.stringify(glue)).not.toContain(stack.delivery.lakeDatabaseName);
    expect(functionByService('tributary-deletion').variables).toEqual(
      expect.objectContaining({
        TRIBUTARY_WAREHOUSE_ENGINE: 'athena',
        TRIBUTARY_ATHENA_WORKGROUP: 'tributary-dev',
      }),
    );
  });

  it('lets the load step create tables in its own database, read the lake and its source table, and keep its state', () => {
    const statements = statementsOfRole('WarehouseLoaderRole');
    const creates = statements.filter((s) => actionsOf([s]).includes('glue:CreateTable'));
    expect(creates).toHaveLength(1);
    expect(JSON.stringify(creates)).not.toContain(stack.delivery.lakeDatabaseName);
    const source = statements.find((s) =>
      JSON.stringify(s.Resource).includes(`:table/${stack.delivery.lakeDatabaseName}/events`),
    );
    expect(source?.Action).toEqual(['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions']);
    const lakeArn = logicalId('AWS::S3::Bucket', 'LakeBucket');
    const lakeWrites = statements.filter(
      (s) =>
        JSON.stringify(s.Resource).includes(lakeArn) &&
        actionsOf([s]).some((a) => /^s3:(Put|Delete)/.test(a)),
    );
    // Its one write to the lake: the gate's state object.
    expect(lakeWrites.map((w) => w.Resource)).toEqual([
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [lakeArn, 'Arn'] }, `/${LOAD_STATE_KEY}`]] },
    ]);
  });

  it('refuses a cutoff below Athena minimum and a schedule shorter than a load', () => {
    const build = (cutoff: Size, loadInterval: Duration) => {
      const scope = new Stack(new App(appProps()), 'A');
      const lake = new s3.Bucket(scope, 'Lake');
      return new AthenaWarehouse(scope, 'W', {
        name: 'tributary-x',
        lake,
        accessLogsBucket: lake,
        source: { databaseName: 'lake', tableName: 'events' },
        loadInterval,
        bytesScannedCutoffPerQuery: cutoff,
        resultsRetention: Duration.days(1),
        logLevel: 'INFO',
        logRetention: stageConfig('dev').logRetention,
        removalPolicy: stageConfig('dev').removalPolicy,
      });
    };
    expect(() => build(Size.mebibytes(1), Duration.minutes(15))).toThrow(/at least 10 MB/);
    expect(() => build(Size.gibibytes(1), Duration.minutes(2))).toThrow(/must exceed the load timeout/);
    expect(() => build(Size.gibibytes(1), Duration.minutes(15))).not.toThrow();
  });

  it('leaves no cdk-nag AwsSolutions findings, construct errors or warnings', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
  });
});

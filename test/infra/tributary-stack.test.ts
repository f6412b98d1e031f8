import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stageConfig, withWarehouseEngine } from '../../infra/config';
import { EventStream } from '../../infra/constructs/event-stream';
import { SUPPRESSED_EVENTS_METRIC } from '../../infra/constructs/suppressed-events-metric';
import { ACCESS_LOG_FIELDS } from '../../infra/constructs/ingest-api';
import { PROJECT_ROOT } from '../../infra/constructs/lambda-function';
import { PLAYGROUND_ASSETS, PLAYGROUND_BUNDLE_DIR } from '../../infra/constructs/playground-assets';
import { Warehouse, isBaseCapacity } from '../../infra/constructs/warehouse';
import { CORS_ALLOWED_HEADERS } from '../../src/api/cors';
import { playgroundAsset } from '../../src/api/playground';
import { CONSOLE_ASSETS, type ConsoleAssetName } from '../../src/api/console-page';
import { consoleAssets } from '../../src/local/console-bundle';
import { SUPPRESSED_EVENTS_LOG_FIELD } from '../../src/privacy/suppression';
import { lakeEventGlueColumns } from '../../src/sinks/lake/columns';
import {
  QUARANTINED_FILES_LOG_FIELD,
  QUARANTINE_PREFIX,
} from '../../src/sinks/lake/firehose/s3-lake-quarantine';
import { identityEnvironment, TributaryStack } from '../../infra/tributary-stack';
import { LOAD_STATE_KEY } from '../../src/sinks/lake/firehose/s3-load-state';

type Resources = Record<
  string,
  { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }
>;

/** Every App below synthesizes into its own folder under this one, removed after the tests. */
const outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-cdk-test-'));
afterAll(() => fs.rmSync(outRoot, { recursive: true, force: true }));

/**
 * One synthesized dev stack on the Redshift engine, bundling included (that is the slow part), shared by
 * every test below; dev's own engine, Athena, has test/infra/athena-stack.test.ts.
 * CDK's built-in CloudFormation validation is off here only because it takes ~15 s per synth;
 * `npm run synth` still runs it.
 */
const appProps = () => ({
  builtinCloudFormationValidation: false,
  outdir: fs.mkdtempSync(path.join(outRoot, 'app-')),
});
let app: App;
let stack: TributaryStack;
let template: Template;

beforeAll(() => {
  app = new App({ ...appProps(), context: { 'aws:cdk:enable-asset-metadata': true } });
  stack = new TributaryStack(app, 'Tributary-test', {
    config: withWarehouseEngine(stageConfig('dev'), 'redshift'),
  });
  template = Template.fromStack(stack);
}, 120_000);

/** The environment variables a function is deployed with. */
const variablesOf = (service: string): Record<string, unknown> =>
  (functionByService(service).props.Environment as { Variables: Record<string, unknown> }).Variables;

/** Every IAM policy statement attached to a role whose logical id starts with `rolePrefix`. */
function statementsOfRole(rolePrefix: string): Array<{ Action: string | string[]; Resource: unknown }> {
  const policies = template.findResources('AWS::IAM::Policy') as Resources;
  return Object.values(policies)
    .filter((p) =>
      (p.Properties.Roles as Array<{ Ref?: string }>).some((r) => r.Ref?.startsWith(rolePrefix) === true),
    )
    .flatMap(
      (p) =>
        (
          p.Properties.PolicyDocument as {
            Statement: Array<{ Action: string | string[]; Resource: unknown }>;
          }
        ).Statement,
    );
}

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
function logicalId(type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

function functionByService(service: string): {
  id: string;
  props: Record<string, unknown>;
  metadata: Record<string, unknown>;
} {
  const fns = template.findResources('AWS::Lambda::Function', {
    Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } },
  }) as Resources;
  const entries = Object.entries(fns);
  expect(entries).toHaveLength(1);
  const [id, fn] = entries[0]!;
  return { id, props: fn.Properties, metadata: fn.Metadata ?? {} };
}

describe('stage config', () => {
  it('rejects an unknown stage', () => {
    expect(() => stageConfig('staging')).toThrow(/Unknown stage "staging"/);
  });
});

describe('event stream', () => {
  it('is one provisioned shard in dev, KMS-encrypted with the AWS-managed key', () => {
    template.resourceCountIs('AWS::Kinesis::Stream', 1);
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      RetentionPeriodHours: 24,
      ShardCount: 1,
    });
  });

  it('is on-demand when no capacity is given', () => {
    const bare = new Stack(new App(appProps()), 'Bare');
    new EventStream(bare, 'Stream', {
      retention: Duration.hours(24),
      removalPolicy: stageConfig('dev').removalPolicy,
    });
    Template.fromStack(bare).hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      ShardCount: Match.absent(),
    });
  });

  it('takes provisioned shards and an own key when asked', () => {
    const own = new Stack(new App(appProps()), 'Own');
    const key = new kms.Key(own, 'Key', { enableKeyRotation: true });
    new EventStream(own, 'Stream', {
      capacity: { mode: 'PROVISIONED', shardCount: 2 },
      retention: stageConfig('prod').kinesis.retention,
      removalPolicy: stageConfig('prod').removalPolicy,
      encryptionKey: key,
    });
    Template.fromStack(own).hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: 2,
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      StreamEncryption: {
        EncryptionType: 'KMS',
        KeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
      },
      RetentionPeriodHours: 168,
    });
  });
});

describe('stream processor', () => {
  it('maps the stream with partial batch failures, bisecting, bounded retries and an SQS on-failure destination', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventStream'), 'Arn'] },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: 1,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StreamProcessorDeadLetterQueue'), 'Arn'] },
        },
      },
    });
  });

  it('dead-letters into an encrypted queue that refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('gets the delivery stream names and may put records on both delivery streams', () => {
    const fn = functionByService('tributary-stream');
    const variables = (fn.props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toEqual(
      expect.objectContaining({
        TRIBUTARY_EVENTS_DELIVERY_STREAM: { Ref: expect.stringMatching(/^DeliveryEvents/) },
        TRIBUTARY_FAILED_DELIVERY_STREAM: { Ref: expect.stringMatching(/^DeliveryFailed/) },
        TRIBUTARY_TABLE_NAME: { Ref: expect.stringMatching(/^HotTierTable/) },
      }),
    );
    for (const delivery of ['^DeliveryEvents', '^DeliveryFailed']) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^StreamProcessorHandlerRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
              Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp(delivery), 'Arn'] },
            }),
          ]),
        },
      });
    }
  });
});

describe('hot tier', () => {
  it('is an on-demand pk/sk table with point-in-time recovery and TTL on `ttl`', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'pk', AttributeType: 'S' }]),
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
    // dev tears down with the stack; prod is covered below.
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });
});

describe('lake', () => {
  it('is encrypted, private, access-logged and tiered', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^LakeAccessLogs') } },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Status: 'Enabled',
            Transitions: [
              { StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 30 },
              { StorageClass: 'GLACIER_IR', TransitionInDays: 180 },
            ],
          }),
        ]),
      },
    });
  });

  it('denies requests without TLS on both buckets', () => {
    const policies = template.findResources('AWS::S3::BucketPolicy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      },
    });
    expect(Object.keys(policies)).toHaveLength(2);
  });
});

describe('delivery', () => {
  const hourly = 'year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/';

  const stream = (prefix: string) =>
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BucketARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeBucket'), 'Arn'] },
        Prefix: `${prefix}/${hourly}`,
        ErrorOutputPrefix: `errors/${prefix}/!{firehose:error-output-type}/${hourly}`,
        CloudWatchLoggingOptions: Match.objectLike({ Enabled: true }),
      }),
    });

  it('failed: DirectPut, encrypted, GZIP NDJSON into hourly partitions', () => {
    stream('failed');
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: `failed/${hourly}`,
        CompressionFormat: 'GZIP',
        BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 5 },
        DataFormatConversionConfiguration: Match.absent(),
      }),
    });
  });

  it('events: DirectPut, encrypted, converted to Snappy Parquet with the lake schema, hourly partitions', () => {
    stream('events');
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: `events/${hourly}`,
        // Parquet compresses itself; Firehose needs a 64 MiB buffer to convert.
        CompressionFormat: Match.absent(),
        BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 64 },
        DataFormatConversionConfiguration: {
          Enabled: true,
          InputFormatConfiguration: {
            Deserializer: {
              OpenXJsonSerDe: {
                CaseInsensitive: true,
                ColumnToJsonKeyMappings: Match.objectLike({
                  message_id: 'messageid',
                  event_time: 'timestamp',
                  received_at: 'receivedat',
                  merges_users: 'mergesusers',
                }),
              },
            },
          },
          OutputFormatConfiguration: {
            Serializer: { ParquetSerDe: Match.objectLike({ Compression: 'SNAPPY' }) },
          },
          SchemaConfiguration: Match.objectLike({
            DatabaseName: Match.anyValue(),
            TableName: Match.anyValue(),
            RoleARN: Match.anyValue(),
          }),
        },
      }),
    });
  });

  it('describes the events Parquet files in a Glue table, columns in file order', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'events',
        StorageDescriptor: Match.objectLike({
          Columns: lakeEventGlueColumns().map((c) => ({ Name: c.name, Type: c.type })),
          SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        }),
      }),
    });
    expect(lakeEventGlueColumns().map((c) => c.name)).toEqual([
      'message_id',
      'event',
      'user_id',
      'anonymous_id',
      'session_id',
      'event_time',
      'original_timestamp',
      'sent_at',
      'received_at',
      'source',
      'processor_version',
      'schema_version',
      'item_id',
      'properties',
      'context',
      'merges_users',
      'enrichment',
    ]);
  });
});

describe('lambda functions', () => {
  it.each([
    'tributary-graphql',
    'tributary-stream',
    'tributary-hot-fold',
    'tributary-warehouse-load',
    'tributary-deletion',
  ])('%s: current Node runtime, arm64, JSON logs, tracing', (service) => {
    const { props } = functionByService(service);
    expect(props).toEqual(
      expect.objectContaining({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
        TracingConfig: { Mode: 'Active' },
      }),
    );
    expect((props.Environment as { Variables: Record<string, unknown> }).Variables).toEqual(
      expect.objectContaining({
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        TRIBUTARY_LOG_LEVEL: 'DEBUG',
      }),
    );
    // --enable-source-maps would parse the bundle's source map at every cold start.
    expect((props.Environment as { Variables: Record<string, unknown> }).Variables).not.toHaveProperty(
      'NODE_OPTIONS',
    );
  });

  it('keeps function logs for the stage retention', () => {
    const { props } = functionByService('tributary-graphql');
    const logGroupId = (props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    template.hasResource('AWS::Logs::LogGroup', {});
    expect((template.toJSON().Resources as Resources)[logGroupId]?.Properties).toEqual({
      RetentionInDays: 7,
    });
  });

  it('grants on `*` only what has no resource-level permissions: X-Ray, and own Data API statements', () => {
    const policies = template.findResources('AWS::IAM::Policy') as Resources;
    const wildcard = Object.values(policies)
      .flatMap(
        (p) =>
          (
            p.Properties.PolicyDocument as {
              Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[];
            }
          ).Statement,
      )
      .filter((s) => s.Resource === '*');
    expect(wildcard.length).toBeGreaterThan(0);
    for (const statement of wildcard) {
      if (statement.Action.includes('xray:PutTraceSegments')) {
        expect(statement.Action).toEqual(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
      } else if (statement.Action === 'glue:GetSchemaVersion') {
        // Firehose's Parquet conversion, as the CDK construct grants it; read-only schema metadata.
        expect(statement.Condition).toBeUndefined();
      } else {
        expect(statement.Action).toEqual([
          'redshift-data:DescribeStatement',
          'redshift-data:GetStatementResult',
          'redshift-data:CancelStatement',
        ]);
        expect(statement.Condition).toEqual({
          StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' },
        });
      }
    }
    template.resourcePropertiesCountIs('AWS::IAM::Role', { ManagedPolicyArns: Match.anyValue() }, 0);
  });

  it('builds a bundle with a source map for each handler, which loads and exports `handler`', () => {
    const outdir = app.synth().directory;
    for (const service of [
      'tributary-graphql',
      'tributary-stream',
      'tributary-hot-fold',
      'tributary-warehouse-load',
      'tributary-deletion',
    ]) {
      const assetPath = functionByService(service).metadata['aws:asset:path'];
      expect(typeof assetPath).toBe('string');
      const bundle = path.join(outdir, String(assetPath), 'index.js');
      expect(fs.existsSync(`${bundle}.map`)).toBe(true);
      // A fresh Node process, like a cold start: module-load errors (decorator metadata, bundling order) show here.
      // NODE_PATH stands in for the SDK the Lambda runtime provides (it is external to the bundle).
      const probe = `const m = require(${JSON.stringify(bundle)}); process.stdout.write(typeof m.handler);`;
      const output = execFileSync(process.execPath, ['--no-warnings', '-e', probe], {
        env: {
          ...process.env,
          NODE_PATH: path.join(PROJECT_ROOT, 'node_modules'),
          TRIBUTARY_API_KEY_SECRET_ARN:
            'arn:aws:secretsmanager:us-east-1:111111111111:secret:tributary-api-key',
          TRIBUTARY_REDSHIFT_WORKGROUP: 'tributary-test',
          TRIBUTARY_LAKE_BUCKET: 'tributary-test-lake',
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(output).toBe('function');
    }
  });

  it("ships DuckDB beside the deletion bundle, with Lambda's arm64 Linux binary whatever machine synthesizes", () => {
    const outdir = app.synth().directory;
    const bundleDir = path.join(
      outdir,
      String(functionByService('tributary-deletion').metadata['aws:asset:path']),
    );
    const modules = path.join(bundleDir, 'node_modules', '@duckdb');
    expect(fs.readdirSync(modules).sort()).toEqual([
      'node-api',
      'node-bindings',
      'node-bindings-linux-arm64',
    ]);
    const binary = fs.readFileSync(path.join(modules, 'node-bindings-linux-arm64', 'duckdb.node'));
    // An ELF shared object for machine 183, AArch64.
    expect(binary.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(binary.readUInt16LE(18)).toBe(183);
    // The bundle requires the package instead of carrying a copy of it.
    expect(fs.readFileSync(path.join(bundleDir, 'index.js'), 'utf8')).toContain(
      'require("@duckdb/node-api")',
    );
  });

  /** Synthesizes the app and runs the bundled graphql handler on one API Gateway event. */
  function runGraphqlBundle(event: Record<string, unknown>): {
    answer: { statusCode: number; headers: Record<string, string> };
    bundleDir: string;
  } {
    const outdir = app.synth().directory;
    const bundleDir = path.join(
      outdir,
      String(functionByService('tributary-graphql').metadata['aws:asset:path']),
    );
    const probe = `require(${JSON.stringify(path.join(bundleDir, 'index.js'))}).handler(${JSON.stringify(event)}, {}).then((r) => process.stdout.write(JSON.stringify(r)));`;
    const output = execFileSync(process.execPath, ['--no-warnings', '-e', probe], {
      env: {
        ...process.env,
        NODE_PATH: path.join(PROJECT_ROOT, 'node_modules'),
        AWS_REGION: 'us-east-1',
        TRIBUTARY_API_KEY_SECRET_ARN:
          'arn:aws:secretsmanager:us-east-1:111111111111:secret:tributary-api-key',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return {
      answer: JSON.parse(output) as { statusCode: number; headers: Record<string, string> },
      bundleDir,
    };
  }

  it('answers a browser preflight from the graphql bundle itself, with the headers src/api/cors.ts allows', () => {
    // API Gateway has no CORS configuration (see "ingest api"), so this answer is the only one a browser gets.
    const { answer } = runGraphqlBundle({
      rawPath: '/graphql',
      headers: { origin: 'https://shop.example.com' },
      requestContext: { http: { method: 'OPTIONS', sourceIp: '203.0.113.9' } },
    });
    expect(answer.statusCode).toBe(204);
    expect(answer.headers).toEqual(
      expect.objectContaining({
        'access-control-allow-origin': 'https://shop.example.com',
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
      }),
    );
  });

  it('answers a Segment preflight on /v1 from the graphql bundle, which ships the Segment name mapping', () => {
    const { answer, bundleDir } = runGraphqlBundle({
      rawPath: '/v1/t',
      rawQueryString: '',
      headers: { origin: 'https://shop.example.com' },
      requestContext: { http: { method: 'OPTIONS', sourceIp: '203.0.113.9' } },
    });
    // The bundle carries the Segment name mapping beside the schemas: it loads at start-up.
    expect(fs.existsSync(path.join(bundleDir, 'schemas', 'segment-event-names.json'))).toBe(true);
    expect(answer.statusCode).toBe(204);
    expect(answer.headers['access-control-allow-headers']).toContain('authorization');
  });

  it('serves the console from the graphql bundle: the page without a key, and the same build the local server serves', async () => {
    const get = (rawPath: string) =>
      runGraphqlBundle({
        rawPath,
        headers: {},
        requestContext: { http: { method: 'GET', sourceIp: '203.0.113.9' } },
      }).answer as {
        statusCode: number;
        headers: Record<string, string>;
        body: string;
        isBase64Encoded?: boolean;
      };
    const page = get('/console');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const config = /<script type="application\/json" id="console-config">(.*?)<\/script>/.exec(
      page.body,
    )?.[1];
    expect(JSON.parse(config ?? 'null')).toMatchObject({ graphqlUrl: '/graphql', apiKey: null });
    const local = await consoleAssets();
    for (const name of Object.keys(CONSOLE_ASSETS) as ConsoleAssetName[]) {
      const asset = get(`/console/assets/${name}`);
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['content-type']).toBe(CONSOLE_ASSETS[name]);
      expect(Buffer.from(asset.body, 'base64').equals(local.get(name) ?? Buffer.alloc(0))).toBe(true);
    }
    expect(get('/console/assets/index.js').statusCode).toBe(404);
  }, 60_000);
});

describe('ingest api', () => {
  it('routes /graphql, GET /playground and /console (pages and assets) and the Segment /v1 API to the graphql function', () => {
    const integration = logicalId('AWS::ApiGatewayV2::Integration', 'IngestApi');
    // The HTTP API's routes (the live view's WebSocket API has its own, test/infra/live.test.ts).
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route') as Resources).filter(
      (r) => (r.Properties.ApiId as { Ref: string }).Ref.startsWith('IngestApi'),
    );
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(
      [
        'GET /graphql',
        'GET /playground',
        'GET /playground/assets/{asset}',
        'GET /console',
        'GET /console/assets/{asset}',
        'OPTIONS /graphql',
        'POST /graphql',
        'POST /v1/{type}',
        'OPTIONS /v1/{type}',
        'GET /v1/projects/{writeKey}/settings',
        'OPTIONS /v1/projects/{writeKey}/settings',
      ].sort(),
    );
    for (const route of routes) {
      expect(route.Properties.Target).toEqual({ 'Fn::Join': ['', ['integrations/', { Ref: integration }]] });
    }
    template.resourcePropertiesCountIs(
      'AWS::ApiGatewayV2::Integration',
      { ApiId: { Ref: Match.stringLikeRegexp('^IngestApi') } },
      1,
    );
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [functionByService('tributary-graphql').id, 'Arn'] },
    });
  });

  it('has no API Gateway CORS configuration, which would answer preflights for every key alike', () => {
    template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' }, 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.absent(),
    });
  });

  it('throttles and access-logs the default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestApiAccessLogs'), 'Arn'] },
      },
    });
  });

  it('access-logs requests as JSON without the source IP or anything else about the caller', () => {
    const stages = Object.values(template.findResources('AWS::ApiGatewayV2::Stage') as Resources).filter(
      (r) => (r.Properties.ApiId as { Ref: string }).Ref.startsWith('IngestApi'),
    );
    expect(stages).toHaveLength(1);
    const { Format } = stages[0]!.Properties.AccessLogSettings as { Format: string };
    const fields = JSON.parse(Format) as Record<string, string>;
    expect(fields).toEqual(ACCESS_LOG_FIELDS);
    expect(fields.requestId).toBe('$context.requestId');
    // $context.identity.* is the caller: sourceIp, userAgent, and the IAM and Cognito identities.
    expect(Format).not.toMatch(/sourceIp|\$context\.identity\.|\$context\.path/);
  });

  it('documents the access log format in docs/deploy.md as it is deployed', () => {
    const doc = fs.readFileSync(path.join(PROJECT_ROOT, 'docs', 'deploy.md'), 'utf8');
    const documented = /### API access logs[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(JSON.parse(documented ?? 'null')).toEqual(ACCESS_LOG_FIELDS);
  });

  it('keeps the three bootstrap secrets in generated Secrets Manager secrets the graphql function reads by ARN', () => {
    const secrets = template.findResources('AWS::SecretsManager::Secret') as Resources;
    const generated = (prefix: string) =>
      (secrets[logicalId('AWS::SecretsManager::Secret', prefix)]?.Properties.GenerateSecretString ?? {}) as {
        PasswordLength?: number;
        ExcludePunctuation?: boolean;
      };
    expect(generated('IngestApiApiKey')).toEqual({ PasswordLength: 40, ExcludePunctuation: true });
    expect(generated('IngestApiWriteKey')).toEqual({ PasswordLength: 40, ExcludePunctuation: true });
    expect(generated('IngestApiUserTokenSecret').PasswordLength).toBeGreaterThanOrEqual(48);

    const variables = variablesOf('tributary-graphql');
    const readable = statementsOfRole('IngestApiHandlerRole')
      .filter((s) => s.Action.includes('secretsmanager:GetSecretValue'))
      .map((s) => s.Resource);
    for (const [variable, prefix] of [
      ['TRIBUTARY_API_KEY_SECRET_ARN', 'IngestApiApiKey'],
      ['TRIBUTARY_WRITE_KEY_SECRET_ARN', 'IngestApiWriteKey'],
      ['TRIBUTARY_USER_TOKEN_SECRET_ARN', 'IngestApiUserTokenSecret'],
    ] as const) {
      const ref = { Ref: logicalId('AWS::SecretsManager::Secret', prefix) };
      expect([variable, variables[variable]]).toEqual([variable, ref]);
      expect(readable).toContainEqual(ref);
    }
    // No key in the environment itself: it would show in the console and in every deployment record.
    for (const name of ['TRIBUTARY_API_KEY', 'TRIBUTARY_WRITE_KEY', 'TRIBUTARY_USER_TOKEN_SECRET']) {
      expect(variables[name]).toBeUndefined();
    }
  });

  it('tells the functions that bundle the event schemas that the synth checked them', () => {
    for (const service of ['tributary-graphql', 'tributary-stream']) {
      expect([service, variablesOf(service).TRIBUTARY_SCHEMAS_CHECKED_AHEAD]).toEqual([service, 'true']);
    }
    expect(variablesOf('tributary-hot-fold').TRIBUTARY_SCHEMAS_CHECKED_AHEAD).toBeUndefined();
  });

  it('counts rate limits in the table, which it may write (keys, lastUsedAt, counters), and writes the stream', () => {
    expect(variablesOf('tributary-graphql').TRIBUTARY_RATE_LIMIT_STORE).toBe('dynamodb');
    const table = { 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'HotTierTable'), 'Arn'] };
    const statements = statementsOfRole('IngestApiHandlerRole');
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']),
        Resource: expect.arrayContaining([table]),
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: expect.arrayContaining(['kinesis:PutRecords']) }),
    );
  });
});

describe('pii key', () => {
  /** The PII key's logical id in a template. */
  const piiSecretOf = (of: Template): string => {
    const ids = Object.keys(of.findResources('AWS::SecretsManager::Secret')).filter((id) =>
      id.startsWith('StreamProcessorPiiKey'),
    );
    expect(ids).toHaveLength(1);
    return ids[0]!;
  };

  /**
   * The functions (by service name) told where the key is, and those whose role may read it: every
   * policy naming the secret, attached or inline, whatever its actions, counts.
   */
  function piiKeyHolders(of: Template): { told: string[]; mayRead: string[] } {
    const secret = { Ref: piiSecretOf(of) };
    const names = JSON.stringify(secret);
    const fns = Object.values(of.findResources('AWS::Lambda::Function') as Resources).map((fn) => ({
      variables:
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {},
      role: (fn.Properties.Role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0],
    }));
    const readingRoles = new Set([
      ...Object.values(of.findResources('AWS::IAM::Policy') as Resources)
        .filter((policy) => JSON.stringify(policy.Properties.PolicyDocument).includes(names))
        .flatMap((policy) => (policy.Properties.Roles as Array<{ Ref: string }>).map((role) => role.Ref)),
      ...Object.entries(of.findResources('AWS::IAM::Role') as Resources)
        .filter(([, role]) => JSON.stringify(role.Properties.Policies ?? []).includes(names))
        .map(([id]) => id),
    ]);
    const service = (fn: (typeof fns)[number]) => String(fn.variables.POWERTOOLS_SERVICE_NAME);
    return {
      told: fns
        .filter((fn) => JSON.stringify(fn.variables.TRIBUTARY_PII_SECRET_ARN) === names)
        .map(service)
        .sort(),
      mayRead: fns
        .filter((fn) => fn.role !== undefined && readingRoles.has(fn.role))
        .map(service)
        .sort(),
    };
  }

  it('is a retained generated secret', () => {
    const piiSecret = (
      template.findResources('AWS::SecretsManager::Secret') as Record<string, { DeletionPolicy?: string }>
    )[piiSecretOf(template)];
    expect(piiSecret?.DeletionPolicy).toBe('Retain');
  });

  it('is read, by ARN, by the stream function and, for the live view, the graphql function; by no other', () => {
    expect(piiKeyHolders(template)).toEqual({
      told: ['tributary-graphql', 'tributary-stream'],
      mayRead: ['tributary-graphql', 'tributary-stream'],
    });
    expect(statementsOfRole('IngestApiHandlerRole')).toContainEqual(
      expect.objectContaining({
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: piiSecretOf(template) },
      }),
    );
  });

  it('is read by the stream function only where the stage turns the live view off', () => {
    const dev = withWarehouseEngine(stageConfig('dev'), 'redshift');
    const off = Template.fromStack(
      new TributaryStack(
        new App({ ...appProps(), context: { 'aws:cdk:bundling-stacks': [] } }),
        'Tributary-live-off',
        { config: { ...dev, live: { ...dev.live, enabled: false } } },
      ),
    );
    expect(piiKeyHolders(off)).toEqual({ told: ['tributary-stream'], mayRead: ['tributary-stream'] });
  });
});

describe('playground on Lambda', () => {
  it('copies the four assets into the graphql bundle, byte for byte what the local server serves', async () => {
    const outdir = app.synth().directory;
    const assetPath = String(functionByService('tributary-graphql').metadata['aws:asset:path']);
    const names = Object.keys(PLAYGROUND_ASSETS);
    expect(names.sort()).toEqual(['graphiql.css', 'graphiql.js', 'react-dom.js', 'react.js']);
    for (const name of names) {
      const served = await playgroundAsset(name);
      expect(served).toBeDefined();
      const bundled = fs.readFileSync(path.join(outdir, assetPath, PLAYGROUND_BUNDLE_DIR, name));
      expect(bundled.equals(served!.body)).toBe(true);
    }
  });
});

describe('schemas in the bundles', () => {
  it.each(['tributary-stream', 'tributary-graphql'])(
    '%s ships every event schema beside the handler',
    (service) => {
      const outdir = app.synth().directory;
      const assetPath = String(functionByService(service).metadata['aws:asset:path']);
      const schemaFiles = fs
        .readdirSync(path.join(PROJECT_ROOT, 'schemas'), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(PROJECT_ROOT, path.join(entry.parentPath, entry.name)));
      expect(schemaFiles.length).toBeGreaterThan(0);
      for (const file of schemaFiles) {
        expect(fs.readFileSync(path.join(outdir, assetPath, file))).toEqual(
          fs.readFileSync(path.join(PROJECT_ROOT, file)),
        );
      }
    },
  );
});

describe('warehouse', () => {
  it('is a Redshift Serverless namespace with a generated admin secret and a default COPY role', () => {
    template.hasResourceProperties('AWS::RedshiftServerless::Namespace', {
      NamespaceName: 'tributary-dev',
      DbName: 'tributary',
      AdminUsername: 'tributary_admin',
      AdminUserPassword: {
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('resolve:secretsmanager')])],
      },
      IamRoles: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^WarehouseCopyRole'), 'Arn'] }],
      DefaultIamRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WarehouseCopyRole'), 'Arn'] },
      LogExports: Match.arrayWith(['useractivitylog']),
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: JSON.stringify({ username: 'tributary_admin' }),
        GenerateStringKey: 'password',
      }),
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: ['redshift.amazonaws.com', 'redshift-serverless.amazonaws.com'].map((service) =>
          Match.objectLike({ Action: 'sts:AssumeRole', Principal: { Service: service } }),
        ),
      },
      Description: Match.stringLikeRegexp('COPY'),
    });
  });

  it('runs a private workgroup in three isolated subnets with no internet route', () => {
    template.hasResourceProperties('AWS::RedshiftServerless::Workgroup', {
      WorkgroupName: 'tributary-dev',
      NamespaceName: 'tributary-dev',
      // The smallest base Redshift offers: a demo's warehouse is far under its 32 TB.
      BaseCapacity: 4,
      // A cost guard in dev too: Redshift would otherwise scale a busy workgroup up to its own limit.
      MaxCapacity: 32,
      PubliclyAccessible: false,
      EnhancedVpcRouting: true,
      SubnetIds: [0, 1, 2].map(() => ({ Ref: Match.stringLikeRegexp('^WarehouseVpcwarehouseSubnet') })),
      SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^WarehouseSecurityGroup'), 'GroupId'] }],
      ConfigParameters: Match.arrayWith([{ ParameterKey: 'require_ssl', ParameterValue: 'true' }]),
    });
    template.resourceCountIs('AWS::EC2::Subnet', 3);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
  });

  it('lets the COPY role read only the events/ and failed/ lake prefixes', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^WarehouseCopyRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith(
          ['events/*', 'failed/*'].map((prefix) =>
            Match.objectLike({
              Action: Match.arrayWith(['s3:GetObject*']),
              Resource: Match.arrayWith([
                {
                  'Fn::Join': [
                    '',
                    [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeBucket'), 'Arn'] }, `/${prefix}`],
                  ],
                },
              ]),
            }),
          ),
        ),
      },
    });
  });

  it('runs the load step on a schedule, with the warehouse coordinates and Data API access', () => {
    const loader = functionByService('tributary-warehouse-load');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [loader.id, 'Arn'] } })],
    });
    expect((loader.props.Environment as { Variables: Record<string, unknown> }).Variables).toEqual(
      expect.objectContaining({
        TRIBUTARY_REDSHIFT_WORKGROUP: 'tributary-dev',
        TRIBUTARY_REDSHIFT_DATABASE: 'tributary',
        TRIBUTARY_REDSHIFT_SECRET_ARN: { Ref: expect.stringMatching(/^WarehouseAdminSecret/) },
        TRIBUTARY_LAKE_BUCKET: { Ref: expect.stringMatching(/^LakeBucket/) },
        TRIBUTARY_REDSHIFT_COPY_ROLE_ARN: {
          'Fn::GetAtt': [expect.stringMatching(/^WarehouseCopyRole/), 'Arn'],
        },
        TRIBUTARY_WAREHOUSE_ENGINE: 'redshift',
        // The gate: 64 MiB pending, or a file waiting longer than dev's freshness (an hour).
        TRIBUTARY_LOAD_MIN_PENDING_BYTES: String(64 * 1024 ** 2),
        TRIBUTARY_LOAD_MAX_PENDING_MINUTES: '60',
      }),
    );
    expect(loader.props.Timeout).toBe(360);
  });

  it("lets the load step read and rewrite its gate's state, one object outside the loaded folders", () => {
    const stateObject = {
      'Fn::Join': [
        '',
        [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeBucket'), 'Arn'] }, `/${LOAD_STATE_KEY}`],
      ],
    };
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^WarehouseLoaderRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['s3:GetObject*']),
            Resource: Match.arrayWith([stateObject]),
          }),
          Match.objectLike({ Action: Match.arrayWith(['s3:PutObject']), Resource: stateObject }),
        ]),
      },
    });
    expect(LOAD_STATE_KEY.startsWith('events/') || LOAD_STATE_KEY.startsWith('failed/')).toBe(false);
  });

  const workgroupArn = {
    'Fn::GetAtt': [Match.stringLikeRegexp('^WarehouseWorkgroup'), 'Workgroup.WorkgroupArn'],
  };

  it('lets the load step run statements and transactions as the admin, through the admin secret', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: Match.arrayWith([{ Ref: Match.stringLikeRegexp('^WarehouseLoaderRole') }]),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'],
            Resource: workgroupArn,
          }),
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: { Ref: Match.stringLikeRegexp('^WarehouseAdminSecret') },
          }),
        ]),
      },
    });
  });

  it('lets the graphql function run single statements as its own IAM database user, never as the admin', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: Match.arrayWith([{ Ref: Match.stringLikeRegexp('^IngestApiHandlerRole') }]),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'redshift-data:ExecuteStatement', Resource: workgroupArn }),
          Match.objectLike({ Action: 'redshift-serverless:GetCredentials', Resource: workgroupArn }),
        ]),
      },
    });
    const statements = statementsOfRole('IngestApiHandlerRole');
    const adminSecret = logicalId('AWS::SecretsManager::Secret', 'WarehouseAdminSecret');
    expect(JSON.stringify(statements)).not.toContain(adminSecret);
    expect(statements.flatMap((s) => s.Action)).not.toContain('redshift-data:BatchExecuteStatement');
    const variables = variablesOf('tributary-graphql');
    expect(variables).toEqual(
      expect.objectContaining({
        TRIBUTARY_WAREHOUSE_ENGINE: 'redshift',
        TRIBUTARY_REDSHIFT_WORKGROUP: 'tributary-dev',
        TRIBUTARY_REDSHIFT_DATABASE: 'tributary',
      }),
    );
    expect(variables.TRIBUTARY_REDSHIFT_SECRET_ARN).toBeUndefined();
    // Both functions may read the results of their own statements, and cancel them.
    for (const role of ['^IngestApiHandlerRole', '^WarehouseLoaderRole']) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: Match.arrayWith([{ Ref: Match.stringLikeRegexp(role) }]),
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Action: Match.arrayWith(['redshift-data:GetStatementResult', 'redshift-data:CancelStatement']),
            }),
          ],
        },
      });
    }
  });

  it("tells the load step the graphql role's database user, IAMR:<its role name>, to make it a reader", () => {
    expect(variablesOf('tributary-warehouse-load').TRIBUTARY_REDSHIFT_READER_USER).toEqual({
      'Fn::Join': ['', ['IAMR:', { Ref: logicalId('AWS::IAM::Role', 'IngestApiHandlerRole') }]],
    });
  });

  it('cancels an analytics statement before the graphql function times out', () => {
    const { props } = functionByService('tributary-graphql');
    const statementMs = Number(variablesOf('tributary-graphql').TRIBUTARY_REDSHIFT_QUERY_TIMEOUT_MS);
    expect(statementMs).toBe(10_000);
    expect(props.Timeout).toBe(15);
    expect(statementMs).toBeLessThan(Number(props.Timeout) * 1000);
    // The load step's merges have their own, longer limit (src/handlers/warehouse-load.ts).
    expect(variablesOf('tributary-warehouse-load').TRIBUTARY_REDSHIFT_QUERY_TIMEOUT_MS).toBeUndefined();
  });

  it('lets the load step move lake files to quarantine/, and counts them from its log', () => {
    const lakeObjects = (prefix: string) => ({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeBucket'), 'Arn'] }, `/${prefix}`]],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^WarehouseLoaderRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['s3:PutObject']),
            Resource: lakeObjects(`${QUARANTINE_PREFIX}*`),
          }),
          Match.objectLike({
            Action: 's3:DeleteObject*',
            Resource: lakeObjects('events/*'),
          }),
          Match.objectLike({
            Action: 's3:DeleteObject*',
            Resource: lakeObjects('failed/*'),
          }),
        ]),
      },
    });
    const loader = functionByService('tributary-warehouse-load');
    const logGroup = (loader.props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logGroup },
      FilterPattern: `{ $.${QUARANTINED_FILES_LOG_FIELD} > 0 }`,
      MetricTransformations: [
        Match.objectLike({
          MetricNamespace: 'Tributary',
          MetricName: 'QuarantinedLakeFiles',
          MetricValue: `$.${QUARANTINED_FILES_LOG_FIELD}`,
        }),
      ],
    });
  });

  it('refuses a schedule shorter than a load, a name Redshift would reject, and a second reader', () => {
    const build = (name: string, loadInterval: Duration, baseCapacity = 8) => {
      const scope = new Stack(new App(appProps()), 'W');
      return new Warehouse(scope, 'W', {
        name,
        loadInterval,
        lake: new s3.Bucket(scope, 'Lake'),
        database: 'tributary',
        baseCapacity,
        logLevel: 'INFO',
        logRetention: stageConfig('dev').logRetention,
        removalPolicy: stageConfig('dev').removalPolicy,
      });
    };
    expect(() => build('ok-name', Duration.minutes(2))).toThrow(/must exceed the load timeout/);
    expect(() => build('Bad_Name', Duration.minutes(15))).toThrow(/must match/);
    // Redshift takes 4 RPUs, then steps of 8 up to 512 and of 32 up to 1024.
    expect([4, 8, 16, 512, 544, 1024].every(isBaseCapacity)).toBe(true);
    expect([0, 2, 6, 12, 520, 1056].some(isBaseCapacity)).toBe(false);
    expect(() => build('ok-name', Duration.minutes(15), 12)).toThrow(/base capacity 12 must be 4/);
    // The load step knows one reader user (TRIBUTARY_REDSHIFT_READER_USER): a second would have no access.
    const warehouse = build('ok-name', Duration.minutes(15));
    const reader = () =>
      new iam.Role(warehouse, `Reader${warehouse.node.children.length}`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      });
    warehouse.grantRead(reader());
    expect(() => warehouse.grantRead(reader())).toThrow(/one reader/);
  });
});

describe('deletion function', () => {
  const deletion = () => functionByService('tributary-deletion');
  const lakeArn = () => ({ 'Fn::GetAtt': [logicalId('AWS::S3::Bucket', 'LakeBucket'), 'Arn'] });
  const lakeObjects = (prefix: string) => ({ 'Fn::Join': ['', [lakeArn(), `/${prefix}`]] });

  it('runs one instance at a time for up to 15 minutes, with room for the lake files it rewrites', () => {
    const { props } = deletion();
    expect(props).toEqual(
      expect.objectContaining({
        ReservedConcurrentExecutions: 1,
        Timeout: 900,
        MemorySize: 2048,
        EphemeralStorage: { Size: 2048 },
      }),
    );
    expect(variablesOf('tributary-deletion')).toEqual(
      expect.objectContaining({
        TRIBUTARY_TABLE_NAME: { Ref: logicalId('AWS::DynamoDB::Table', 'HotTierTable') },
        TRIBUTARY_LAKE_BUCKET: { Ref: logicalId('AWS::S3::Bucket', 'LakeBucket') },
      }),
    );
    // A failed run waits for the schedule rather than running again at once.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: deletion().id },
      MaximumRetryAttempts: 0,
    });
  });

  it('may touch only the hot table, the events/ and failed/ lake files, the warehouse as itself, its logs and X-Ray', () => {
    const statements = statementsOfRole('DeletionHandlerRole') as Array<{
      Action: string | string[];
      Resource: unknown;
      Condition?: unknown;
    }>;
    const logGroup = (deletion().props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    const workgroup = {
      'Fn::GetAtt': [
        logicalId('AWS::RedshiftServerless::Workgroup', 'WarehouseWorkgroup'),
        'Workgroup.WorkgroupArn',
      ],
    };
    const expected = [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
      },
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:Query',
          'dynamodb:Scan',
          'dynamodb:PutItem',
          'dynamodb:DeleteItem',
          'dynamodb:BatchWriteItem',
        ],
        Resource: [{ 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'HotTierTable'), 'Arn'] }],
      },
      {
        Effect: 'Allow',
        Action: [
          's3:GetObject',
          's3:GetObjectVersion',
          's3:PutObject',
          's3:DeleteObject',
          's3:DeleteObjectVersion',
        ],
        Resource: [lakeObjects('events/*'), lakeObjects('failed/*')],
      },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket', 's3:ListBucketVersions'],
        Resource: lakeArn(),
        Condition: { StringLike: { 's3:prefix': ['events/*', 'failed/*'] } },
      },
      {
        Effect: 'Allow',
        Action: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'],
        Resource: workgroup,
      },
      { Effect: 'Allow', Action: 'redshift-serverless:GetCredentials', Resource: workgroup },
      {
        Effect: 'Allow',
        Action: [
          'redshift-data:DescribeStatement',
          'redshift-data:GetStatementResult',
          'redshift-data:CancelStatement',
        ],
        Resource: '*',
        Condition: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
      },
    ];
    expect(statements).toHaveLength(expected.length);
    expect(statements).toEqual(expect.arrayContaining(expected));
    // Never the admin secret: the function signs in as its own database user.
    expect(JSON.stringify(statements)).not.toContain(
      logicalId('AWS::SecretsManager::Secret', 'WarehouseAdminSecret'),
    );
  });

  it('erases the warehouse as IAMR:<its role name>, whom the load step is told to let delete', () => {
    expect(variablesOf('tributary-deletion')).toEqual(
      expect.objectContaining({
        TRIBUTARY_REDSHIFT_WORKGROUP: 'tributary-dev',
        TRIBUTARY_REDSHIFT_DATABASE: 'tributary',
      }),
    );
    expect(variablesOf('tributary-deletion').TRIBUTARY_REDSHIFT_SECRET_ARN).toBeUndefined();
    expect(variablesOf('tributary-warehouse-load').TRIBUTARY_REDSHIFT_DELETER_USER).toEqual({
      'Fn::Join': ['', ['IAMR:', { Ref: logicalId('AWS::IAM::Role', 'DeletionHandlerRole') }]],
    });
    // One deleter: the load step knows one user to let delete.
    const scope = new Stack(new App(appProps()), 'D');
    const warehouse = new Warehouse(scope, 'W', {
      name: 'ok-name',
      loadInterval: Duration.minutes(15),
      lake: new s3.Bucket(scope, 'Lake'),
      database: 'tributary',
      baseCapacity: 8,
      logLevel: 'INFO',
      logRetention: stageConfig('dev').logRetention,
      removalPolicy: stageConfig('dev').removalPolicy,
    });
    const role = (id: string) =>
      new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    warehouse.grantDelete(role('First'));
    expect(() => warehouse.grantDelete(role('Second'))).toThrow(/one deleter/);
  });

  it('runs every 15 minutes on a schedule, which retries failed steps and finishes interrupted ones', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [deletion().id, 'Arn'] } })],
    });
  });

  it('is woken by the graphql function, which may invoke this function and no other', () => {
    expect(variablesOf('tributary-graphql').TRIBUTARY_DELETION_FUNCTION).toEqual({ Ref: deletion().id });
    const invokes = Object.entries(template.findResources('AWS::IAM::Policy') as Resources).flatMap(
      ([id, policy]) =>
        (
          policy.Properties.PolicyDocument as {
            Statement: Array<{ Action: string | string[]; Resource: unknown }>;
          }
        ).Statement.filter((s) => [s.Action].flat().some((action) => action.startsWith('lambda:'))).map(
          (s) => ({ id, action: s.Action, resource: s.Resource }),
        ),
    );
    // Besides, the graphql and stream functions hand live events to the live publisher (live.test.ts).
    const livePublisher = { 'Fn::GetAtt': [logicalId('AWS::Lambda::Function', 'LivePublisher'), 'Arn'] };
    expect(invokes).toEqual([
      {
        id: expect.stringMatching(/^IngestApiHandlerRole/),
        action: 'lambda:InvokeFunction',
        resource: { 'Fn::GetAtt': [deletion().id, 'Arn'] },
      },
      {
        id: expect.stringMatching(/^IngestApiHandlerRole/),
        action: 'lambda:InvokeFunction',
        resource: livePublisher,
      },
      {
        id: expect.stringMatching(/^StreamProcessorHandlerRole/),
        action: 'lambda:InvokeFunction',
        resource: livePublisher,
      },
    ]);
  });

  it('alarms on any error within one schedule interval, and not on throttles, which queue by design', () => {
    const onDeletion = (metricName: string) =>
      Object.values(
        template.findResources('AWS::CloudWatch::Alarm', {
          Properties: {
            MetricName: metricName,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: deletion().id } }],
          },
        }) as Resources,
      );
    expect(onDeletion('Errors').map((alarm) => alarm.Properties)).toEqual([
      expect.objectContaining({ Threshold: 0, Period: 900, ComparisonOperator: 'GreaterThanThreshold' }),
    ]);
    expect(onDeletion('Throttles')).toEqual([]);
  });
});

describe('hot-tier fold function', () => {
  const fold = () => functionByService('tributary-hot-fold');
  const tableArn = () => ({ 'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'HotTierTable'), 'Arn'] });

  it('runs one instance at a time for up to 5 minutes, with the hot store settings the stream has, and no others', () => {
    expect(fold().props).toEqual(
      expect.objectContaining({ ReservedConcurrentExecutions: 1, Timeout: 300, MemorySize: 512 }),
    );
    const stream = variablesOf('tributary-stream');
    expect(variablesOf('tributary-hot-fold')).toEqual({
      POWERTOOLS_SERVICE_NAME: 'tributary-hot-fold',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      TRIBUTARY_LOG_LEVEL: 'DEBUG',
      TRIBUTARY_TABLE_NAME: stream.TRIBUTARY_TABLE_NAME,
      TRIBUTARY_RETENTION_PROFILE_IDLE_DAYS: stream.TRIBUTARY_RETENTION_PROFILE_IDLE_DAYS,
      ...identityEnvironment(stageConfig('dev').identity),
    });
    expect(stream.TRIBUTARY_TABLE_NAME).toEqual({ Ref: logicalId('AWS::DynamoDB::Table', 'HotTierTable') });
  });

  it('runs every 5 minutes, as the stage config says; a failed run waits for the next', () => {
    expect(stageConfig('dev').hotTier.foldInterval.toMinutes()).toBe(5);
    expect(stack.streamProcessor.foldInterval.toMinutes()).toBe(5);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [fold().id, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fold().id },
      MaximumRetryAttempts: 0,
    });
  });

  it('may read and write the hot table and nothing else of the data: no stream, delivery, bucket or secret', () => {
    const statements = statementsOfRole('StreamProcessorFoldRole');
    const logGroup = (fold().props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    const [own, data] = [
      statements.filter((statement) => !JSON.stringify(statement.Action).includes('dynamodb:')),
      statements.filter((statement) => JSON.stringify(statement.Action).includes('dynamodb:')),
    ];
    expect(own).toEqual([
      expect.objectContaining({
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
      }),
      expect.objectContaining({
        Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        Resource: '*',
      }),
    ]);
    // Every other statement is on the hot table, and together they read, write and delete its items.
    expect(data.length).toBeGreaterThan(0);
    for (const statement of data) {
      expect(statement.Resource).toEqual([tableArn()]);
      for (const action of [statement.Action].flat()) expect(action).toMatch(/^dynamodb:/);
    }
    expect(data.flatMap((statement) => [statement.Action].flat())).toEqual(
      expect.arrayContaining([
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:DeleteItem',
      ]),
    );
  });

  it('alarms on any error within one fold interval, and not on throttles, which queue by design', () => {
    const onFold = (metricName: string) =>
      Object.values(
        template.findResources('AWS::CloudWatch::Alarm', {
          Properties: {
            MetricName: metricName,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: fold().id } }],
          },
        }) as Resources,
      );
    expect(onFold('Errors').map((alarm) => alarm.Properties)).toEqual([
      expect.objectContaining({
        Threshold: 0,
        Period: 300,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: expect.stringMatching(/^ObservabilityAlarmTopic/) }],
      }),
    ]);
    expect(onFold('Throttles')).toEqual([]);
    const dashboard = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard).toContain('Lambda HotFold');
    expect(dashboard).toContain(fold().id);
  });
});

describe('observability', () => {
  /**
   * Alarms on a metric; the deletion and fold functions' own, set apart on purpose, are checked
   * under "deletion function" and "hot-tier fold function".
   */
  const alarmOn = (metricName: string, namespace: string) =>
    Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: metricName, Namespace: namespace },
      }) as Resources,
    ).filter((alarm) =>
      ['tributary-deletion', 'tributary-hot-fold'].every(
        (service) =>
          !JSON.stringify(alarm.Properties.Dimensions ?? []).includes(functionByService(service).id),
      ),
    );

  it('alarms into an encrypted SNS topic', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ObservabilityTopicKey'), 'Arn'] },
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources);
    expect(alarms.length).toBeGreaterThanOrEqual(14);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([
        { Ref: expect.stringMatching(/^ObservabilityAlarmTopic/) },
      ]);
    }
  });

  it.each([
    ['IteratorAge', 'AWS/Lambda', 1, 900_000, 'GreaterThanThreshold'],
    ['ApproximateNumberOfMessagesVisible', 'AWS/SQS', 1, 1, 'GreaterThanOrEqualToThreshold'],
    ['DeliveryToS3.Success', 'AWS/Firehose', 2, 1, 'LessThanThreshold'],
    ['DeliveryToS3.DataFreshness', 'AWS/Firehose', 2, 900, 'GreaterThanThreshold'],
    ['Errors', 'AWS/Lambda', 3, 10, 'GreaterThanThreshold'],
    ['Throttles', 'AWS/Lambda', 3, 10, 'GreaterThanThreshold'],
    ['5xx', 'AWS/ApiGateway', 1, 10, 'GreaterThanThreshold'],
    ['Latency', 'AWS/ApiGateway', 1, 5000, 'GreaterThanThreshold'],
    ['QuarantinedLakeFiles', 'Tributary', 1, 0, 'GreaterThanThreshold'],
  ])('alarms on %s (%s) with the dev threshold', (metric, namespace, count, threshold, operator) => {
    const alarms = alarmOn(metric, namespace);
    expect(alarms).toHaveLength(count);
    for (const alarm of alarms) {
      expect(alarm.Properties).toEqual(
        expect.objectContaining({ Threshold: threshold, ComparisonOperator: operator }),
      );
    }
  });

  it('has a dashboard named after the stage', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Tributary-dev' });
  });
});

describe('outputs', () => {
  it('exposes what a client and an operator need', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'AlarmTopicArn',
        'ApiKeySecretArn',
        'ApiUrl',
        'DashboardUrl',
        'LakeBucketName',
        'LiveUrl',
        'PlaygroundUrl',
        'ConsoleUrl',
        'StreamName',
        'TableName',
        'UserTokenSecretArn',
        'WarehouseAdminSecretArn',
        'WarehouseWorkgroup',
        'WriteKeySecretArn',
      ].sort(),
    );
    template.hasOutput('ApiUrl', {
      Value: { 'Fn::Join': ['', [Match.anyValue(), '/graphql']] },
    });
    template.hasOutput('PlaygroundUrl', { Value: { 'Fn::Join': ['', [Match.anyValue(), '/playground']] } });
    template.hasOutput('ConsoleUrl', { Value: { 'Fn::Join': ['', [Match.anyValue(), '/console']] } });
    template.hasOutput('WriteKeySecretArn', {
      Value: { Ref: logicalId('AWS::SecretsManager::Secret', 'IngestApiWriteKey') },
    });
    template.hasOutput('UserTokenSecretArn', {
      Value: { Ref: logicalId('AWS::SecretsManager::Secret', 'IngestApiUserTokenSecret') },
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('leaves no unacknowledged findings', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('does report an unacknowledged finding (the check is live)', () => {
    const bare = new Stack(new App(appProps()), 'Bare');
    new secretsmanager.Secret(bare, 'Unrotated');
    const report = new AwsSolutionsChecks().validateScope(bare);
    expect(report.violations.map((v) => v.ruleName)).toContain('AwsSolutions-SMG4');
  });

  it('acknowledges every finding with a reason', () => {
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata)
      .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [, reason] of acknowledged) expect(reason.length).toBeGreaterThan(40);
  });

  it('leaves no construct errors or AwsSolutions warnings', () => {
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
  });
});

describe('prod stage', () => {
  it('retains stateful resources and protects the table', () => {
    const prodApp = new App({ ...appProps(), context: { 'aws:cdk:bundling-stacks': [] } });
    const prod = Template.fromStack(
      new TributaryStack(prodApp, 'Tributary-prod', { config: stageConfig('prod') }),
    );
    prod.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
    prod.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ VersioningConfiguration: { Status: 'Enabled' } }),
    });
    prod.hasResourceProperties('AWS::Kinesis::Stream', { RetentionPeriodHours: 168 });
    prod.hasResourceProperties('AWS::RedshiftServerless::Workgroup', {
      WorkgroupName: 'tributary-prod',
      BaseCapacity: 4,
      MaxCapacity: 64,
    });
    prod.hasResource('AWS::RedshiftServerless::Namespace', { DeletionPolicy: 'Retain' });
    prod.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
    // Redshift, on-demand Kinesis; loads wait for 64 MiB or an hour.
    prod.hasResourceProperties('AWS::Kinesis::Stream', { StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    prod.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'tributary-warehouse-load',
          TRIBUTARY_LOAD_MIN_PENDING_BYTES: String(64 * 1024 ** 2),
          TRIBUTARY_LOAD_MAX_PENDING_MINUTES: '60',
        }),
      },
    });
    prod.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IteratorAge', Threshold: 60_000 });
    prod.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
    prod.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
    });
    prod.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: Match.stringLikeRegexp('^failed/'),
        BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 64 },
      }),
    });
  });
});

describe('suppressed events', () => {
  it.each([
    ['tributary-graphql', 'edge'],
    ['tributary-stream', 'stream'],
  ])('counts the events the %s function drops for suppressed ids from its log, at %s', (service, at) => {
    const fn = functionByService(service);
    const logGroup = (fn.props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logGroup },
      FilterPattern: `{ $.${SUPPRESSED_EVENTS_LOG_FIELD} > 0 }`,
      MetricTransformations: [
        Match.objectLike({
          MetricNamespace: 'Tributary',
          MetricName: SUPPRESSED_EVENTS_METRIC,
          MetricValue: `$.${SUPPRESSED_EVENTS_LOG_FIELD}`,
          Dimensions: [{ Key: 'At', Value: '$.at' }],
        }),
      ],
    });
    const metric =
      service === 'tributary-graphql'
        ? stack.ingestApi.suppressedEvents
        : stack.streamProcessor.suppressedEvents;
    expect(metric.dimensions).toEqual({ At: at });
  });
});

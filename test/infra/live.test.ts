import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { STAGES, stageConfig, type StageConfig } from '../../infra/config';
import { LIVE_ACCESS_LOG_FIELDS, LIVE_STAGE_NAME, Live } from '../../infra/constructs/live';
import { PROJECT_ROOT, TributaryFunction } from '../../infra/constructs/lambda-function';
import { TributaryStack } from '../../infra/tributary-stack';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-live-cdk-'));
afterAll(() => fs.rmSync(outRoot, { recursive: true, force: true }));
const outdir = () => fs.mkdtempSync(path.join(outRoot, 'app-'));

/** The Live construct alone, with the functions that publish to it, bundled (the slow part) once. */
let app: App;
let stack: Stack;
let live: Live;
let template: Template;

beforeAll(() => {
  app = new App({ outdir: outdir(), context: { 'aws:cdk:enable-asset-metadata': true } });
  stack = new Stack(app, 'LiveTest');
  const hotTable = new dynamodb.Table(stack, 'Hot', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });
  // Stand-ins for the ingest API's secrets (their rotation is its concern; nag checks the Live construct only).
  const secret = (id: string) => new secretsmanager.Secret(stack, id);
  live = new Live(stack, 'Live', {
    hotTable,
    secrets: { apiKey: secret('ApiKey'), writeKey: secret('WriteKey'), userToken: secret('UserToken') },
    throttleRateLimit: 20,
    throttleBurstLimit: 50,
    maxSubscriptions: 50,
    logLevel: 'INFO',
    logRetention: RetentionDays.ONE_WEEK,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const edge = new TributaryFunction(stack, 'Edge', {
    entry: 'src/handlers/live-publish.ts',
    description: 'stands in for the graphql and stream functions',
    serviceName: 'edge',
    logLevel: 'INFO',
    logRetention: RetentionDays.ONE_WEEK,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  live.grantPublish(edge);
  template = Template.fromStack(stack);
}, 120_000);

const logicalIdOf = (construct: { node: { defaultChild?: unknown } }): string =>
  stack.getLogicalId(construct.node.defaultChild as never);

function statementsOf(roleLogicalIdPrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy') as Resources;
  return Object.values(policies)
    .filter((p) =>
      (p.Properties.Roles as Array<{ Ref?: string }>).some(
        (r) => r.Ref?.startsWith(roleLogicalIdPrefix) === true,
      ),
    )
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}
const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

describe('Live (WebSocket API for graphql-ws)', () => {
  it('routes $connect, $disconnect and $default to the socket function', () => {
    const routes = template.findResources('AWS::ApiGatewayV2::Route') as Resources;
    expect(
      Object.values(routes)
        .map((r) => r.Properties.RouteKey)
        .sort(),
    ).toEqual(['$connect', '$default', '$disconnect']);
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: Match.objectLike({
        'Fn::Join': Match.arrayWith([
          Match.arrayWith([{ 'Fn::GetAtt': [logicalIdOf(live.socket.function), 'Arn'] }]),
        ]),
      }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  it('throttles the stage and logs each route without anything about the caller', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: LIVE_STAGE_NAME,
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 50 },
      AccessLogSettings: { Format: JSON.stringify(LIVE_ACCESS_LOG_FIELDS) },
    });
    expect(JSON.stringify(LIVE_ACCESS_LOG_FIELDS)).not.toMatch(/sourceIp|userAgent|identity/);
  });

  it('keeps connections in an on-demand table whose items expire (TTL), with PITR', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: Match.absent(),
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('lets the socket and publisher functions manage connections of this stage only', () => {
    for (const fn of [live.socket, live.publisher]) {
      const manage = statementsOf(logicalIdOf(fn.role)).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('execute-api:')),
      );
      expect(manage).toEqual([
        {
          Effect: 'Allow',
          Action: 'execute-api:ManageConnections',
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':execute-api:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':',
                { Ref: logicalIdOf(live.api) },
                `/${LIVE_STAGE_NAME}/*/@connections/*`,
              ],
            ],
          },
        },
      ]);
    }
  });

  it('gives a publishing function an invoke of the publisher and a Query of the table, nothing more', () => {
    const statements = statementsOf('EdgeRole').filter((s) =>
      actionsOf(s).some((a) => a.startsWith('lambda:') || a.startsWith('dynamodb:')),
    );
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [logicalIdOf(live.publisher.function), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: [{ 'Fn::GetAtt': [logicalIdOf(live.table), 'Arn'] }],
      },
    ]);
    const edge = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'edge' } } },
    }) as Resources;
    expect(Object.values(edge)[0]!.Properties.Environment).toMatchObject({
      Variables: {
        TRIBUTARY_LIVE_TABLE: { Ref: logicalIdOf(live.table) },
        TRIBUTARY_LIVE_PUBLISH_FUNCTION: { Ref: logicalIdOf(live.publisher.function) },
        TRIBUTARY_LIVE_ENDPOINT: {
          'Fn::Join': [
            '',
            [
              'https://',
              { Ref: logicalIdOf(live.api) },
              '.execute-api.',
              { Ref: 'AWS::Region' },
              '.',
              { Ref: 'AWS::URLSuffix' },
              `/${LIVE_STAGE_NAME}`,
            ],
          ],
        },
      },
    });
  });

  it('never retries a publish, drops batches older than a minute, and runs heartbeats every minute', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalIdOf(live.publisher.function) },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        Match.objectLike({
          Input: JSON.stringify({ kind: 'heartbeat' }),
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    const report = new AwsSolutionsChecks().validateScope(live);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });

  it('bundles both functions with the API schema next to them; each loads and exports `handler`', () => {
    const assembly = app.synth().directory;
    for (const fn of [live.socket, live.publisher]) {
      const resource = template.findResources('AWS::Lambda::Function') as Record<
        string,
        { Metadata?: Record<string, unknown> }
      >;
      const assetPath = resource[logicalIdOf(fn.function)]?.Metadata?.['aws:asset:path'];
      expect(typeof assetPath).toBe('string');
      const dir = path.join(assembly, String(assetPath));
      expect(fs.readFileSync(path.join(dir, 'schema.graphql'), 'utf8')).toBe(
        fs.readFileSync(path.join(PROJECT_ROOT, 'schema.graphql'), 'utf8'),
      );
      const probe = `const m = require(${JSON.stringify(path.join(dir, 'index.js'))}); process.stdout.write(typeof m.handler);`;
      const output = execFileSync(process.execPath, ['--no-warnings', '-e', probe], {
        env: {
          ...process.env,
          NODE_PATH: path.join(PROJECT_ROOT, 'node_modules'),
          TRIBUTARY_LIVE_TABLE: 'live',
          TRIBUTARY_LIVE_ENDPOINT: 'https://abc123.execute-api.us-east-1.amazonaws.com/live',
        },
        encoding: 'utf8',
      });
      expect(output).toBe('function');
    }
  }, 60_000);
});

describe('the stack with the live view on and off', () => {
  const synth = (config: StageConfig) =>
    Template.fromStack(
      new TributaryStack(
        new App({ outdir: outdir(), context: { 'aws:cdk:bundling-stacks': [] } }),
        'Tributary-live',
        {
          config,
        },
      ),
    );

  it('is on by default in every stage, with the wss URL as an output', () => {
    expect(Object.values(STAGES).map((stage) => stage.live.enabled)).toEqual([true, true]);
    const on = synth(stageConfig('dev'));
    on.resourceCountIs('AWS::ApiGatewayV2::Api', 2);
    on.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' });
    on.hasOutput('LiveUrl', {
      Value: {
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^wss://'), `/${LIVE_STAGE_NAME}`])],
      },
    });
    // The graphql and stream functions both publish.
    const publishers = on.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { TRIBUTARY_LIVE_PUBLISH_FUNCTION: Match.anyValue() } } },
    }) as Resources;
    expect(
      Object.values(publishers)
        .map(
          (fn) =>
            (fn.Properties.Environment as { Variables: Record<string, string> }).Variables
              .POWERTOOLS_SERVICE_NAME,
        )
        .sort(),
    ).toEqual(['tributary-graphql', 'tributary-stream']);
  });

  it('leaves out the WebSocket API, its table and functions when a stage turns it off', () => {
    const dev = stageConfig('dev');
    const off = synth({ ...dev, live: { ...dev.live, enabled: false } });
    off.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    expect(Object.keys(off.findOutputs('LiveUrl'))).toEqual([]);
    expect(
      Object.keys(
        off.findResources('AWS::Lambda::Function', {
          Properties: { Environment: { Variables: { TRIBUTARY_LIVE_PUBLISH_FUNCTION: Match.anyValue() } } },
        }),
      ),
    ).toEqual([]);
  });
});

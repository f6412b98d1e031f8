import { CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { TributaryFunction } from './lambda-function';

export interface LiveProps {
  /** The hot table: API keys and their rate counters, read at `connection_init`. */
  readonly hotTable: dynamodb.ITable;
  /** The bootstrap keys and the user-token secret, as the graphql function reads them. */
  readonly secrets: {
    readonly apiKey: secretsmanager.ISecret;
    readonly writeKey: secretsmanager.ISecret;
    readonly userToken: secretsmanager.ISecret;
  };
  /** Messages a second across the stage (and twice that in a burst). */
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** Subscriptions held at once across every connection; unset: the function's default. */
  readonly maxSubscriptions?: number;
  readonly logLevel: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** The WebSocket stage's name: the wss URL ends with it. */
export const LIVE_STAGE_NAME = 'live';
/** Memory of the socket and publisher functions (the cost model reads them). */
export const LIVE_SOCKET_MEMORY_MB = 256;
export const LIVE_PUBLISH_MEMORY_MB = 512;
/** How often the schedule sends every subscription a heartbeat (and keeps idle connections open). */
export const LIVE_HEARTBEAT_SCHEDULE = Duration.minutes(1);
/** A batch older than this is not worth sending: the live view shows now, not a backlog. */
const PUBLISH_MAX_EVENT_AGE = Duration.minutes(1);

/**
 * The access log of the WebSocket stage: which route ran for which connection, and how it went.
 * Nothing about the caller (no source IP, no user agent), as on the HTTP API (ingest-api.ts).
 */
export const LIVE_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  connectionId: '$context.connectionId',
  status: '$context.status',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  error: '$context.error.message',
} as const;

/**
 * The live view in AWS (docs/live.md#in-aws): an API Gateway WebSocket API speaking graphql-ws,
 * whose three routes run the socket function (src/handlers/live-socket.ts); a connections table
 * (DynamoDB, TTL); and the publisher function (src/handlers/live-publish.ts), which the graphql and
 * stream functions invoke asynchronously with their live events (grantPublish) and a schedule runs
 * for the heartbeats. Both functions reach the clients through the stage's Management API.
 */
export class Live extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly table: dynamodb.Table;
  readonly socket: TributaryFunction;
  readonly publisher: TributaryFunction;
  readonly heartbeat: events.Rule;
  /** `wss://…/live`: where graphql-ws clients connect. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: LiveProps) {
    super(scope, id);

    this.table = new dynamodb.Table(this, 'Connections', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // API Gateway closes a connection after 2 hours at most; its items expire soon after, so a
      // lost $disconnect leaves nothing behind for long.
      timeToLiveAttribute: 'expiresAt',
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Connections only: nothing here outlives them, so the table never needs to be kept.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // The API's own schema: both functions check and run subscription documents against it.
    const schemaFile = [{ source: 'schema.graphql', target: 'schema.graphql' }];
    const common = {
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      bundledFiles: schemaFile,
    };

    this.socket = new TributaryFunction(this, 'Socket', {
      ...common,
      entry: 'src/handlers/live-socket.ts',
      description: 'Tributary live view: graphql-ws over the WebSocket API ($connect, $default, $disconnect)',
      serviceName: 'tributary-live-socket',
      memorySize: LIVE_SOCKET_MEMORY_MB,
      environment: {
        TRIBUTARY_TABLE_NAME: props.hotTable.tableName,
        TRIBUTARY_LIVE_TABLE: this.table.tableName,
        TRIBUTARY_API_KEY_SECRET_ARN: props.secrets.apiKey.secretArn,
        TRIBUTARY_WRITE_KEY_SECRET_ARN: props.secrets.writeKey.secretArn,
        TRIBUTARY_USER_TOKEN_SECRET_ARN: props.secrets.userToken.secretArn,
        ...(props.maxSubscriptions !== undefined && {
          TRIBUTARY_LIVE_MAX_SUBSCRIPTIONS: String(props.maxSubscriptions),
        }),
      },
    });
    // connection_init authenticates a key as the HTTP API does: its record, its lastUsedAt, its rate counter.
    props.hotTable.grant(this.socket.function, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    for (const secret of Object.values(props.secrets)) secret.grantRead(this.socket.function);
    this.table.grant(
      this.socket.function,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:BatchWriteItem',
    );

    const integration = new WebSocketLambdaIntegration('SocketIntegration', this.socket.function);
    this.api = new WebSocketApi(this, 'Api', {
      description: 'Tributary live view (graphql-ws)',
      connectRouteOptions: { integration },
      disconnectRouteOptions: { integration },
      defaultRouteOptions: { integration },
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: LIVE_STAGE_NAME,
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(LIVE_ACCESS_LOG_FIELDS)),
      },
    });
    this.url = this.stage.url;

    this.publisher = new TributaryFunction(this, 'Publisher', {
      ...common,
      entry: 'src/handlers/live-publish.ts',
      description: 'Tributary live view: sends live events and heartbeats to matching subscriptions',
      serviceName: 'tributary-live-publish',
      memorySize: LIVE_PUBLISH_MEMORY_MB,
      timeout: Duration.seconds(30),
      environment: {
        TRIBUTARY_LIVE_TABLE: this.table.tableName,
        TRIBUTARY_LIVE_ENDPOINT: this.stage.callbackUrl,
      },
    });
    // A retried batch would reach subscribers twice, and a late one is no longer live.
    this.publisher.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: PUBLISH_MAX_EVENT_AGE });
    this.table.grant(
      this.publisher.function,
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
    );
    for (const fn of [this.socket, this.publisher]) this.grantManageConnections(fn);

    this.heartbeat = new events.Rule(this, 'HeartbeatSchedule', {
      description:
        'Sends every live subscription a heartbeat with what it dropped, and keeps connections open',
      schedule: events.Schedule.rate(LIVE_HEARTBEAT_SCHEDULE),
      targets: [
        new targets.LambdaFunction(this.publisher.function, {
          event: events.RuleTargetInput.fromObject({ kind: 'heartbeat' }),
          retryAttempts: 0,
        }),
      ],
    });

    // Acknowledged on the API so that it covers its routes (children).
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'graphql-ws authenticates in its first message (connection_init), not in the handshake: browsers cannot set headers on a WebSocket handshake. The socket function checks the key from connectionParams as the HTTP API does (bootstrap keys from Secrets Manager, other keys hashed in DynamoDB, origins, rate) and closes the connection unless the key holds LIVE_READ; nothing is sent to a connection before that.',
    });
  }

  /**
   * Lets `fn` hand live events to the publisher (an asynchronous invoke of that function only) and
   * look for subscribers (a Query of the connections table), and tells it where both are, and the
   * stage's endpoint (the console page names its wss URL).
   */
  grantPublish(fn: TributaryFunction): void {
    fn.function.addEnvironment('TRIBUTARY_LIVE_TABLE', this.table.tableName);
    fn.function.addEnvironment('TRIBUTARY_LIVE_PUBLISH_FUNCTION', this.publisher.function.functionName);
    fn.function.addEnvironment('TRIBUTARY_LIVE_ENDPOINT', this.stage.callbackUrl);
    // The unqualified ARN only: CDK's grantInvoke adds every version and alias (`<arn>:*`) too.
    iam.Grant.addToPrincipal({
      grantee: fn.role,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.publisher.function.functionArn],
    });
    this.table.grant(fn.function, 'dynamodb:Query');
  }

  /** PostToConnection and DeleteConnection on this stage's connections, and nothing else. */
  private grantManageConnections(fn: TributaryFunction): void {
    const connections = Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.api.apiId,
      resourceName: `${LIVE_STAGE_NAME}/*/@connections/*`,
    });
    iam.Grant.addToPrincipal({
      grantee: fn.role,
      actions: ['execute-api:ManageConnections'],
      resourceArns: [connections],
    });
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${Stack.of(this).getLogicalId(this.api.node.defaultChild as CfnElement)}>/${LIVE_STAGE_NAME}/*/@connections/*]`,
      reason:
        "Connection ids are API Gateway's, made per client at run time: the function may post to and close any connection of this one stage of the live view's WebSocket API, over either method.",
    });
  }
}

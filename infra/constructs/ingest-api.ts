import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PROJECT_ROOT, TributaryFunction, checkedSchemas } from './lambda-function';
import { playgroundBundledFiles } from './playground-assets';
import { consoleBuildCommands } from './console-assets';
import { suppressedEventsMetric } from './suppressed-events-metric';
import type { WarehouseAccess } from './warehouse';

export interface IngestApiProps {
  readonly stream: kinesis.IStream;
  readonly table: dynamodb.ITable;
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** Analytics queries go to this warehouse; without it they answer WAREHOUSE_UNAVAILABLE. */
  readonly warehouse?: WarehouseAccess;
  readonly logLevel: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** The graphql Lambda's memory: Apollo plus the Kinesis and DynamoDB clients (the cost model reads it too). */
export const GRAPHQL_MEMORY_MB = 1024;
export const GRAPHQL_TIMEOUT = Duration.seconds(15);
/**
 * How long an analytics statement may run in Redshift. Shorter than the function's timeout, so the Data API
 * adapter cancels a slow statement and answers WAREHOUSE_TIMEOUT before Lambda ends the invocation, which
 * would leave the statement running (and billed) with nobody waiting for it.
 */
export const ANALYTICS_STATEMENT_TIMEOUT = Duration.seconds(10);

/**
 * What the access log keeps of each request, one JSON object per line. API Gateway's default format
 * starts with the client's source IP, and a `$context` variable cannot be anonymised, so nothing
 * about the caller is logged: no source IP, no user agent (not personal data by itself, but a
 * fingerprint that operating the API does not need; events keep it where the product does), and
 * not the path as sent, only the route that matched. The graphql function's own log has the
 * details of its errors.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  // API Gateway's own error (throttled, no route, integration failed): fixed texts, no request data.
  error: '$context.error.message',
} as const;

/**
 * The GraphQL front door: HTTP API (payload v2) → graphql Lambda, which checks every request's key (the
 * bootstrap keys come from Secrets Manager, the others from the hot table) and answers CORS itself.
 */
export class IngestApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly handler: TributaryFunction;
  /** The bootstrap SECRET key (TRIBUTARY_API_KEY). */
  readonly apiKeySecret: secretsmanager.Secret;
  /** The bootstrap WRITE key (TRIBUTARY_WRITE_KEY): publishable. */
  readonly writeKeySecret: secretsmanager.Secret;
  /** The HS256 key user tokens are signed with (TRIBUTARY_USER_TOKEN_SECRET). */
  readonly userTokenSecret: secretsmanager.Secret;
  /** Full URL of the GraphQL endpoint. */
  readonly graphqlUrl: string;
  readonly playgroundUrl: string;
  /** Full URL of the console (live tail and charts). */
  readonly consoleUrl: string;
  /** Events the API answered SUPPRESSED (or refused and did not pass on) because they name a suppressed id. */
  readonly suppressedEvents: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);

    if (ANALYTICS_STATEMENT_TIMEOUT.toMilliseconds() >= GRAPHQL_TIMEOUT.toMilliseconds()) {
      throw new Error('The analytics statement timeout must be shorter than the graphql function timeout');
    }

    this.apiKeySecret = new secretsmanager.Secret(this, 'ApiKey', {
      description:
        'Tributary API key: clients send it as x-api-key; the graphql Lambda reads it at cold start',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.apiKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The API key is handed to client apps out of band and cached by the graphql Lambda at cold start; automatic rotation would lock clients out. It is rotated by hand (new secret version, then clients).',
    });
    this.writeKeySecret = new secretsmanager.Secret(this, 'WriteKey', {
      description:
        'Tributary bootstrap WRITE key (publishable: sends events, reads public recommendations); the graphql Lambda reads it at cold start',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.writeKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The WRITE key is embedded in web pages and apps, which no rotation can update; automatic rotation would stop their events. Replace it by hand: give the sites a key created through the API (revocable within a minute), then put a new secret version.',
    });
    this.userTokenSecret = new secretsmanager.Secret(this, 'UserTokenSecret', {
      description:
        'Tributary user-token signing key (HS256): the graphql Lambda and your own servers sign user tokens with it',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.userTokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Customer servers that sign user tokens hold a copy of this key, and there is no second key to verify with during a rollover: automatic rotation would reject every token until each signer and every warm graphql instance had the new value. Rotated by hand (new secret version, signers, then a function update so instances reload it).',
    });

    const schemas = checkedSchemas();
    this.handler = new TributaryFunction(this, 'Handler', {
      entry: 'src/handlers/graphql.ts',
      decorators: true,
      description: 'Tributary GraphQL API (Apollo Server)',
      serviceName: 'tributary-graphql',
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      memorySize: GRAPHQL_MEMORY_MB,
      timeout: GRAPHQL_TIMEOUT,
      environment: {
        TRIBUTARY_STREAM_NAME: props.stream.streamName,
        TRIBUTARY_TABLE_NAME: props.table.tableName,
        TRIBUTARY_API_KEY_SECRET_ARN: this.apiKeySecret.secretArn,
        TRIBUTARY_WRITE_KEY_SECRET_ARN: this.writeKeySecret.secretArn,
        TRIBUTARY_USER_TOKEN_SECRET_ARN: this.userTokenSecret.secretArn,
        // Every instance counts each key's requests in the table, so a key's limit holds across them.
        TRIBUTARY_RATE_LIMIT_STORE: 'dynamodb',
        ...schemas.environment,
        ...(props.warehouse && {
          ...props.warehouse.environment,
          [props.warehouse.queryTimeoutVariable]: String(ANALYTICS_STATEMENT_TIMEOUT.toMilliseconds()),
        }),
      },
      // The playground's assets, and the event schemas the edge validates against.
      bundledFiles: [...playgroundBundledFiles(PROJECT_ROOT), ...schemas.bundledFiles],
      // The console, built from source into the bundle.
      afterBundling: consoleBuildCommands,
    });
    const fn = this.handler.function;
    props.stream.grantWrite(fn);
    // Reads, and writes: keys (create, revoke, lastUsedAt), rate counters, edge dedupe marks when on,
    // deletion requests and the suppression list.
    props.table.grantReadWriteData(fn);
    this.suppressedEvents = suppressedEventsMetric(this, this.handler.logGroup, 'edge');
    this.apiKeySecret.grantRead(fn);
    this.writeKeySecret.grantRead(fn);
    this.userTokenSecret.grantRead(fn);
    props.warehouse?.grantRead(this.handler.role);

    // No corsPreflight: API Gateway would answer every OPTIONS itself, for one list of origins. Each key has
    // its own allowed origins, so the function answers preflights and adds CORS headers to every answer.
    this.api = new HttpApi(this, 'Api', {
      description: 'Tributary GraphQL API',
      createDefaultStage: false,
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    // Declared by hand (not createDefaultStage) because only an explicit stage takes throttling and access logs.
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const integration = new HttpLambdaIntegration('GraphqlIntegration', fn);
    this.api.addRoutes({
      path: '/graphql',
      methods: [HttpMethod.GET, HttpMethod.POST, HttpMethod.OPTIONS],
      integration,
    });
    this.api.addRoutes({ path: '/playground', methods: [HttpMethod.GET], integration });
    this.api.addRoutes({ path: '/playground/assets/{asset}', methods: [HttpMethod.GET], integration });
    this.api.addRoutes({ path: '/console', methods: [HttpMethod.GET], integration });
    this.api.addRoutes({ path: '/console/assets/{asset}', methods: [HttpMethod.GET], integration });
    // Segment's HTTP Tracking API (docs/api.md): analytics.js, analytics-node and the mobile SDKs.
    this.api.addRoutes({
      path: '/v1/{type}',
      methods: [HttpMethod.POST, HttpMethod.OPTIONS],
      integration,
    });
    this.api.addRoutes({
      path: '/v1/projects/{writeKey}/settings',
      methods: [HttpMethod.GET, HttpMethod.OPTIONS],
      integration,
    });

    // Acknowledged on the API so that it covers its routes (children).
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Clients authenticate with an API key (x-api-key) or a user token that the graphql Lambda checks (bootstrap keys from Secrets Manager, other keys hashed in DynamoDB, scopes per field): HTTP APIs have no native API keys, and a Lambda authorizer would add a second cold start per request for the same check. OPTIONS /graphql is a browser preflight, which carries no credentials by design and is answered with CORS headers only. GET /playground, /console and their /assets/* serve only static pages and their scripts (the pages call /graphql with the key the user types in). The Segment-compatible /v1/* routes carry the write key as HTTP Basic credentials or in the body, checked by the same Lambda; GET /v1/projects/{writeKey}/settings answers only for a key that may send events.',
    });

    this.graphqlUrl = `${this.api.apiEndpoint}/graphql`;
    this.playgroundUrl = `${this.api.apiEndpoint}/playground`;
    this.consoleUrl = `${this.api.apiEndpoint}/console`;
  }
}

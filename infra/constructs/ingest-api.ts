import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PROJECT_ROOT, TributaryFunction, directoryFiles } from './lambda-function';
import { playgroundBundledFiles } from './playground-assets';
import type { WarehouseAccess } from './warehouse';

export interface IngestApiProps {
  readonly stream: kinesis.IStream;
  readonly table: dynamodb.ITable;
  readonly corsOrigins: string[];
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** Analytics queries go to this warehouse; without it they answer WAREHOUSE_UNAVAILABLE. */
  readonly warehouse?: WarehouseAccess;
  readonly logLevel: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** Headers browsers may send: Apollo's CSRF guard wants `apollo-require-preflight` on GETs and non-JSON posts. */
export const CORS_ALLOWED_HEADERS = [
  'content-type',
  'x-api-key',
  'apollo-require-preflight',
  'authorization',
];

/** The graphql Lambda's memory: Apollo plus the Kinesis and DynamoDB clients (the cost model reads it too). */
export const GRAPHQL_MEMORY_MB = 1024;

/** The GraphQL front door: HTTP API (payload v2) → graphql Lambda, guarded by an API key kept in Secrets Manager. */
export class IngestApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly handler: TributaryFunction;
  readonly apiKeySecret: secretsmanager.Secret;
  /** Full URL of the GraphQL endpoint. */
  readonly graphqlUrl: string;
  readonly playgroundUrl: string;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);

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

    this.handler = new TributaryFunction(this, 'Handler', {
      entry: 'src/handlers/graphql.ts',
      description: 'Tributary GraphQL API (Apollo Server)',
      serviceName: 'tributary-graphql',
      logLevel: props.logLevel,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      memorySize: GRAPHQL_MEMORY_MB,
      timeout: Duration.seconds(15),
      environment: {
        TRIBUTARY_STREAM_NAME: props.stream.streamName,
        TRIBUTARY_TABLE_NAME: props.table.tableName,
        TRIBUTARY_API_KEY_SECRET_ARN: this.apiKeySecret.secretArn,
        ...props.warehouse?.environment,
      },
      // The playground's assets, and the event schemas the edge validates against.
      bundledFiles: [...playgroundBundledFiles(PROJECT_ROOT), ...directoryFiles('schemas')],
    });
    const fn = this.handler.function;
    props.stream.grantWrite(fn);
    props.table.grantReadData(fn);
    this.apiKeySecret.grantRead(fn);
    props.warehouse?.grantDataApi(this.handler.role);

    this.api = new HttpApi(this, 'Api', {
      description: 'Tributary GraphQL API',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: props.corsOrigins,
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.OPTIONS],
        allowHeaders: CORS_ALLOWED_HEADERS,
        maxAge: Duration.hours(1),
      },
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
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });

    const integration = new HttpLambdaIntegration('GraphqlIntegration', fn);
    this.api.addRoutes({ path: '/graphql', methods: [HttpMethod.GET, HttpMethod.POST], integration });
    this.api.addRoutes({ path: '/playground', methods: [HttpMethod.GET], integration });
    this.api.addRoutes({ path: '/playground/assets/{asset}', methods: [HttpMethod.GET], integration });

    // Acknowledged on the API so that it covers its routes (children).
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Clients authenticate with an API key (x-api-key) that the graphql Lambda checks against the Secrets Manager secret: HTTP APIs have no native API keys, and a Lambda authorizer would add a second cold start per request for the same check. GET /playground and /playground/assets/* serve only the static IDE page and its scripts.',
    });

    this.graphqlUrl = `${this.api.apiEndpoint}/graphql`;
    this.playgroundUrl = `${this.api.apiEndpoint}/playground`;
  }
}

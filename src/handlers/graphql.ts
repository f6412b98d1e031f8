import 'reflect-metadata';
import { handlers, startServerAndCreateLambdaHandler } from '@as-integrations/aws-lambda';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createApiServer, createRequestContext } from '../api/apollo-server';
import { hotResponseCachePlugin } from '../api/hot-response-cache';
import { loadConfig } from '../config';
import { schemaRegistryFromConfig } from '../events/from-config';
import { createDynamoDbDocumentClient, createKinesisClient } from '../aws/clients';
import { DynamoDbHotStore } from '../sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { KinesisProducer } from '../stream/kinesis/kinesis-producer';
import { createRedshiftDataApi } from '../sinks/warehouse/redshift/redshift-data-api';
import { RedshiftWarehouse } from '../sinks/warehouse/redshift/redshift-warehouse';
import { playgroundAsset, playgroundHtml } from '../api/playground';
import { CachedHotStore } from '../sinks/hot-tier/cached-hot-store';
import { createServices } from '../services/create-services';
import { secretLoader } from './secrets';

// Built once per execution environment, reused by every invocation.
const config = loadConfig();
const logger = new Logger({ serviceName: 'tributary-graphql' });
const dynamoDoc = createDynamoDbDocumentClient(config);
// The stream Lambda writes the table from elsewhere, so only TTLs bound how stale an answer is. An
// answer may be computed from reads already cached for a while, so reads and answers each get half
// of TRIBUTARY_HOT_CACHE_MS: together they are never older than it.
const halfTtl = { ...config.hotCache, ttlMs: config.hotCache.ttlMs / 2 };
const hotReads = new CachedHotStore(
  new DynamoDbHotStore({ client: dynamoDoc, tableName: config.tableName }),
  halfTtl,
);
const producer = new KinesisProducer({ client: createKinesisClient(config), streamName: config.streamName });
const services = createServices({
  config,
  producer,
  schemas: schemaRegistryFromConfig(config),
  hotReads,
  dynamoDoc,
  // Without a configured workgroup, analytics answer WAREHOUSE_UNAVAILABLE rather than failing start-up.
  warehouse: config.redshift
    ? new RedshiftWarehouse({ api: createRedshiftDataApi({ aws: config.aws, redshift: config.redshift }) })
    : undefined,
});
const apiKey = secretLoader({
  names: { value: 'TRIBUTARY_API_KEY', arn: 'TRIBUTARY_API_KEY_SECRET_ARN' },
  value: config.apiKey,
  secretArn: config.apiKeySecretArn,
  region: config.aws.region,
});
const server = createApiServer({
  maxQueryDepth: config.maxQueryDepth,
  logger,
  plugins: [hotResponseCachePlugin({ ...halfTtl, generation: () => hotReads.generation })],
});

const graphql = startServerAndCreateLambdaHandler(
  server,
  handlers.createAPIGatewayProxyEventV2RequestHandler(),
  {
    context: async ({ event }) =>
      createRequestContext({
        services,
        apiKey: await apiKey(),
        headers: event.headers,
        sourceIp: event.requestContext.http.sourceIp,
      }),
  },
);

// The CDK bundling copies the playground's assets here (infra/constructs/playground-assets.ts).
const PLAYGROUND_ASSETS_DIR = path.join(__dirname, 'playground', 'assets');
const ASSET_PREFIX = '/playground/assets/';

/**
 * API Gateway HTTP API (payload v2): the playground page and its assets, everything else to
 * Apollo Server. The deployed playground does not prefill the API key.
 */
export const handler = async (
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const { method } = event.requestContext.http;
  if (method === 'GET' && event.rawPath === '/playground') {
    return {
      statusCode: 200,
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
      body: playgroundHtml({ endpoint: '/graphql' }),
    };
  }
  if (method === 'GET' && event.rawPath.startsWith(ASSET_PREFIX)) {
    const asset = await playgroundAsset(event.rawPath.slice(ASSET_PREFIX.length), PLAYGROUND_ASSETS_DIR);
    if (!asset) return { statusCode: 404, body: 'not found' };
    return {
      statusCode: 200,
      headers: { 'content-type': asset.type, 'cache-control': 'public, max-age=3600' },
      body: asset.body.toString('base64'),
      isBase64Encoded: true,
    };
  }
  const response = await graphql(event, context, () => undefined);
  if (!response) throw new Error('the GraphQL handler returned no response');
  return response;
};

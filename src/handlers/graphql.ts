import 'reflect-metadata';
import { handlers, startServerAndCreateLambdaHandler } from '@as-integrations/aws-lambda';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createApiServer, createRequestContext } from '../api/apollo-server';
import { ByteBoundedCache } from '../api/byte-bounded-cache';
import { hotResponseCachePlugin } from '../api/hot-response-cache';
import { loadConfig } from '../config';
import { schemaRegistryFromConfig } from '../services/schema-files';
import { createDynamoDbDocumentClient, createKinesisClient } from '../aws/clients';
import { DynamoDbHotStore } from '../sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { KinesisProducer } from '../stream/kinesis/kinesis-producer';
import { createRedshiftDataApi } from '../sinks/warehouse/redshift/redshift-data-api';
import { RedshiftWarehouse } from '../sinks/warehouse/redshift/redshift-warehouse';
import { preflightHeaders, responseCorsHeaders } from '../api/cors';
import { SEGMENT_PATH_PREFIX, SegmentApi } from '../api/segment/segment-api';
import { loadSegmentEventNames } from '../services/segment-event-names';
import { playgroundAsset, playgroundHtml } from '../api/playground';
import { CachedHotStore } from '../sinks/hot-tier/cached-hot-store';
import { createServices } from '../services/create-services';
import { awsDeletionStores } from './deletion-stores';
import { LambdaDeletionWorker } from './lambda-deletion-worker';
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
// Each secret: its variable when set (tests, local runs), else Secrets Manager, read once.
const secret = (name: string, value: string | undefined, secretArn: string | undefined) =>
  secretLoader({
    names: { value: name, arn: `${name}_SECRET_ARN` },
    value,
    secretArn,
    region: config.aws.region,
  });
const secretKey = secret('TRIBUTARY_API_KEY', config.apiKey, config.apiKeySecretArn);
const writeKey = secret('TRIBUTARY_WRITE_KEY', config.writeKey, config.writeKeySecretArn);
const userTokenSecret = secret(
  'TRIBUTARY_USER_TOKEN_SECRET',
  config.userTokenSecret,
  config.userTokenSecretArn,
);
// deleteUser stores a request and wakes the deletion function, which runs it; without one deployed,
// deletions are refused (DELETIONS_UNAVAILABLE) rather than left to wait.
const deletionWorker =
  config.deletion.functionName === undefined
    ? undefined
    : new LambdaDeletionWorker({
        functionName: config.deletion.functionName,
        stores: awsDeletionStores(config),
        region: config.aws.region,
        logger,
      });
const services = createServices({
  config,
  bootstrapKeys: async () => ({
    secretKey: await secretKey(),
    writeKey: await writeKey(),
    userTokenSecret: await userTokenSecret(),
  }),
  logger,
  producer,
  schemas: schemaRegistryFromConfig(config),
  hotReads,
  dynamoDoc,
  // Without a configured workgroup, analytics answer WAREHOUSE_UNAVAILABLE rather than failing start-up.
  warehouse: config.redshift
    ? new RedshiftWarehouse({ api: createRedshiftDataApi({ aws: config.aws, redshift: config.redshift }) })
    : undefined,
  deletionRunner: deletionWorker,
});
const segment = new SegmentApi({
  access: services.access,
  ingest: services.ingest,
  names: loadSegmentEventNames(config),
});
const server = createApiServer({
  maxQueryDepth: config.maxQueryDepth,
  access: config.access,
  queries: config.queries,
  logger,
  plugins: [
    hotResponseCachePlugin({
      answers: new ByteBoundedCache({ maxBytes: config.queries.answerCacheBytes, ttlMs: halfTtl.ttlMs }),
      generation: () => hotReads.generation,
    }),
  ],
});

const graphql = startServerAndCreateLambdaHandler(
  server,
  handlers.createAPIGatewayProxyEventV2RequestHandler(),
  {
    context: async ({ event }) =>
      createRequestContext({
        services,
        headers: event.headers,
        sourceIp: event.requestContext.http.sourceIp,
      }),
  },
);

// The CDK bundling copies the playground's assets here (infra/constructs/playground-assets.ts).
const PLAYGROUND_ASSETS_DIR = path.join(__dirname, 'playground', 'assets');
const ASSET_PREFIX = '/playground/assets/';

/** Segment's HTTP Tracking API under /v1/, through the module the local server uses too. */
async function segmentResponse(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers)) headers[name.toLowerCase()] = value;
  const answer = await segment.handle({
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: new URLSearchParams(event.rawQueryString),
    headers,
    // API Gateway passes a gzip body base64-encoded, a text one as it came.
    body: Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8'),
    sourceIp: event.requestContext.http.sourceIp,
    publicBase: { protocol: 'https', host: headers.host ?? event.requestContext.domainName },
  });
  return { statusCode: answer.status, headers: answer.headers, body: answer.body };
}

/**
 * API Gateway HTTP API (payload v2): the playground page and its assets, Segment's API under /v1/,
 * everything else to Apollo Server. The deployed playground does not prefill the API key.
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
  if (event.rawPath.startsWith(SEGMENT_PATH_PREFIX)) return segmentResponse(event);
  // Browsers preflight cross-origin requests; the key each request carries is judged on the request.
  const origin = event.headers.origin;
  if (method === 'OPTIONS') return { statusCode: 204, headers: preflightHeaders(origin) };
  const response = await graphql(event, context, () => undefined);
  // A deleteUser's wake must leave before the environment freezes.
  await deletionWorker?.settled();
  if (!response) throw new Error('the GraphQL handler returned no response');
  return { ...response, headers: { ...response.headers, ...responseCorsHeaders(origin) } };
};

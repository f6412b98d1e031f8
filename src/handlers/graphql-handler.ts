import { handlers, startServerAndCreateLambdaHandler } from '@as-integrations/aws-lambda';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createApiServer, createRequestContext } from '../api/apollo-server';
import { ByteBoundedCache } from '../api/byte-bounded-cache';
import { hotResponseCachePlugin } from '../api/hot-response-cache';
import type { Config } from '../config';
import { schemaRegistryFromConfig } from '../services/schema-files';
import { createDynamoDbDocumentClient, createKinesisClient, type ClientTransport } from '../aws/clients';
import { hotStoreFromConfig } from '../sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { KinesisProducer } from '../stream/kinesis/kinesis-producer';
import { preflightHeaders, responseCorsHeaders } from '../api/cors';
import { SEGMENT_PATH_PREFIX, SegmentApi } from '../api/segment/segment-api';
import { loadSegmentEventNames } from '../services/segment-event-names';
import { playgroundAsset, playgroundHtml } from '../api/playground';
import {
  CONSOLE_ASSET_PREFIX,
  bundledConsoleAsset,
  consoleAssetHeaders,
  consoleHeaders,
  consoleHtml,
  isConsoleAsset,
  webSocketUrlOf,
} from '../api/console-page';
import { CachedHotStore } from '../sinks/hot-tier/cached-hot-store';
import { createServices } from '../services/create-services';
import { awsDeletionStores } from './deletion-stores';
import { LambdaDeletionWorker } from './lambda-deletion-worker';
import { awsLiveEdge, awsLivePublisher } from './live-publisher';
import { bootstrapKeysLoader } from './bootstrap-keys';
import { createWarehouse } from './warehouse-engine';

/** An API Gateway HTTP API (payload v2) handler. */
export type GraphqlHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface GraphqlHandlerOptions {
  config: Config;
  /** What the Kinesis and DynamoDB clients send through; the SDK's default unless given (benchmarks). */
  transport?: ClientTransport;
}

// The CDK bundling copies the playground's assets here (infra/constructs/playground-assets.ts).
const PLAYGROUND_ASSETS_DIR = path.join(__dirname, 'playground', 'assets');
const ASSET_PREFIX = '/playground/assets/';
// The CDK bundling builds the console's assets here (infra/constructs/console-assets.ts).
const CONSOLE_ASSETS_DIR = path.join(__dirname, 'console', 'assets');

/** Segment's HTTP Tracking API under /v1/, through the module the local server uses too. */
async function segmentResponse(
  segment: SegmentApi,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
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
 * The graphql function: API Gateway HTTP API (payload v2) requests for the playground and the console
 * pages and their assets, Segment's API under /v1/, everything else to Apollo Server. Deployed, neither
 * page prefills the API key. Built once per execution environment (graphql.ts), reused by every invocation.
 */
export function createGraphqlHandler({ config, transport = {} }: GraphqlHandlerOptions): GraphqlHandler {
  const logger = new Logger({ serviceName: 'tributary-graphql' });
  const dynamoDoc = createDynamoDbDocumentClient(config, transport);
  // The stream Lambda writes the table from elsewhere, so only TTLs bound how stale an answer is. An
  // answer may be computed from reads already cached for a while, so reads and answers each get half
  // of TRIBUTARY_HOT_CACHE_MS: together they are never older than it.
  const halfTtl = { ...config.hotCache, ttlMs: config.hotCache.ttlMs / 2 };
  const hotReads = new CachedHotStore(hotStoreFromConfig(dynamoDoc, config), halfTtl);
  const producer = new KinesisProducer({
    client: createKinesisClient(config, transport),
    streamName: config.streamName,
  });
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
  // The live view (docs/live.md#in-aws): the edge's answers go to the publisher function while anyone subscribes.
  const livePublisher = awsLivePublisher(config, dynamoDoc, logger);
  const services = createServices({
    config,
    bootstrapKeys: bootstrapKeysLoader(config),
    logger,
    producer,
    schemas: schemaRegistryFromConfig(config),
    hotReads,
    dynamoDoc,
    // Without a configured engine, analytics answer WAREHOUSE_UNAVAILABLE rather than failing start-up.
    warehouse: createWarehouse(config),
    deletionRunner: deletionWorker,
    live: livePublisher && awsLiveEdge({ config, publisher: livePublisher, logger }),
  });
  const segment = new SegmentApi({
    access: services.access,
    ingest: services.ingest,
    names: loadSegmentEventNames(config),
  });

  function graphqlHandler() {
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

    return startServerAndCreateLambdaHandler(server, handlers.createAPIGatewayProxyEventV2RequestHandler(), {
      context: async ({ event }) =>
        createRequestContext({
          services,
          headers: event.headers,
          sourceIp: event.requestContext.http.sourceIp,
        }),
    });
  }
  let graphql: ReturnType<typeof graphqlHandler> | undefined;

  return async (event, context) => {
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
    if (method === 'GET' && event.rawPath === '/console') {
      // The live tail's WebSocket API is beside this HTTP API; without one the page says so.
      const liveUrl = webSocketUrlOf(config.liveAws.managementEndpoint);
      return {
        statusCode: 200,
        headers: consoleHeaders(liveUrl),
        body: consoleHtml({ graphqlUrl: '/graphql', liveUrl, apiKey: null }),
      };
    }
    if (method === 'GET' && event.rawPath.startsWith(CONSOLE_ASSET_PREFIX)) {
      const name = event.rawPath.slice(CONSOLE_ASSET_PREFIX.length);
      if (!isConsoleAsset(name)) return { statusCode: 404, body: 'not found' };
      return {
        statusCode: 200,
        headers: consoleAssetHeaders(name),
        body: (await bundledConsoleAsset(name, CONSOLE_ASSETS_DIR)).toString('base64'),
        isBase64Encoded: true,
      };
    }
    if (event.rawPath.startsWith(SEGMENT_PATH_PREFIX)) return segmentResponse(segment, event);
    // Browsers preflight cross-origin requests; the key each request carries is judged on the request.
    const origin = event.headers.origin;
    if (method === 'OPTIONS') return { statusCode: 204, headers: preflightHeaders(origin) };
    // Built on the first GraphQL request: the playground, preflights and Segment's API never need the schema.
    graphql ??= graphqlHandler();
    const response = await graphql(event, context, () => undefined);
    // A deleteUser's wake must leave before the environment freezes.
    await deletionWorker?.settled();
    // As must live events on their way to the publisher, and a look for subscribers.
    await livePublisher?.settled();
    if (!response) throw new Error('the GraphQL handler returned no response');
    return { ...response, headers: { ...response.headers, ...responseCorsHeaders(origin) } };
  };
}

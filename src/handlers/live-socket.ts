import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { DynamoDbApiKeyStore } from '../access/dynamodb/dynamodb-api-key-store';
import { DynamoDbRateLimiter } from '../access/dynamodb/dynamodb-rate-limiter';
import { createDynamoDbDocumentClient } from '../aws/clients';
import { ConfigError, loadConfig } from '../config';
import { ApiGatewayConnections } from '../live/aws/api-gateway-connections';
import { LiveConnectionTable } from '../live/aws/connection-table';
import { LiveDocuments } from '../live/aws/live-documents';
import { LiveSocket } from '../live/aws/live-socket';
import { AccessService } from '../services/access-service';
import { bootstrapKeysLoader } from './bootstrap-keys';

/** A WebSocket route's event; `$connect` also carries the handshake's headers. */
export type LiveSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  headers?: Record<string, string | undefined>;
};

// Built once per execution environment, reused by every invocation.
const config = loadConfig();
const logger = new Logger({ serviceName: 'tributary-live-socket' });
const dynamoDoc = createDynamoDbDocumentClient(config);
const connectionsTable = config.liveAws.connectionsTable;
if (connectionsTable === undefined) throw new ConfigError('set TRIBUTARY_LIVE_TABLE');
const table = new LiveConnectionTable({ client: dynamoDoc, tableName: connectionsTable });
const hotTable = { client: dynamoDoc, tableName: config.tableName };
// The same checks as the HTTP API's: stored keys from the hot table, the bootstrap keys from
// Secrets Manager, each key's origins and its request rate across instances.
const access = new AccessService({
  store: new DynamoDbApiKeyStore(hotTable),
  limiter: new DynamoDbRateLimiter(hotTable),
  bootstrap: bootstrapKeysLoader(config),
  limits: config.access,
  logger,
});
// The CDK bundling copies the API's schema (schema.graphql) next to the bundle.
const documents = new LiveDocuments(readFileSync(path.join(__dirname, 'schema.graphql'), 'utf8'));
const sockets = new Map<string, LiveSocket>();

/** The socket for the stage an event came through: replies go to that stage's Management API. */
function socketFor(event: LiveSocketEvent): LiveSocket {
  const { domainName, stage } = event.requestContext;
  const endpoint = config.liveAws.managementEndpoint ?? `https://${domainName}/${stage}`;
  let socket = sockets.get(endpoint);
  if (socket === undefined) {
    socket = new LiveSocket({
      table,
      connections: ApiGatewayConnections.forEndpoint(endpoint, config.aws.region),
      documents,
      authenticate: (apiKey, origin) => access.authenticate({ apiKey, origin, authorization: undefined }),
      maxSubscriptions: config.liveAws.maxSubscriptions,
      logger,
    });
    sockets.set(endpoint, socket);
  }
  return socket;
}

function header(event: LiveSocketEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/** API Gateway WebSocket API: `$connect`, `$disconnect` and `$default`, speaking graphql-ws. */
export const handler = async (event: LiveSocketEvent): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, routeKey } = event.requestContext;
  const socket = socketFor(event);
  if (routeKey === '$connect') {
    return socket.connect({
      connectionId,
      protocols: header(event, 'sec-websocket-protocol'),
      origin: header(event, 'origin'),
    });
  }
  if (routeKey === '$disconnect') {
    await socket.disconnect(connectionId);
    return { statusCode: 200 };
  }
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8').toString('utf8');
  await socket.message(connectionId, body);
  return { statusCode: 200 };
};

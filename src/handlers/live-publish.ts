import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { createDynamoDbDocumentClient } from '../aws/clients';
import { ConfigError, loadConfig } from '../config';
import { ApiGatewayConnections } from '../live/aws/api-gateway-connections';
import type { LivePublishRequest } from '../live/aws/aws-live-publisher';
import { LiveConnectionTable } from '../live/aws/connection-table';
import { LiveDocuments } from '../live/aws/live-documents';
import { LiveFanOut, type FanOutSummary } from '../live/aws/live-fan-out';

// Built once per execution environment, reused by every invocation.
const config = loadConfig();
const logger = new Logger({ serviceName: 'tributary-live-publish' });
const { connectionsTable, managementEndpoint } = config.liveAws;
if (connectionsTable === undefined || managementEndpoint === undefined) {
  throw new ConfigError('set TRIBUTARY_LIVE_TABLE and TRIBUTARY_LIVE_ENDPOINT');
}
const fanOut = new LiveFanOut({
  table: new LiveConnectionTable({
    client: createDynamoDbDocumentClient(config),
    tableName: connectionsTable,
  }),
  connections: ApiGatewayConnections.forEndpoint(managementEndpoint, config.aws.region),
  // The CDK bundling copies the API's schema (schema.graphql) next to the bundle.
  documents: new LiveDocuments(readFileSync(path.join(__dirname, 'schema.graphql'), 'utf8')),
  logger,
});

/**
 * Invoked asynchronously by the graphql and stream functions with a batch of live events, and by a
 * schedule for the heartbeats; see LiveFanOut.
 */
export const handler = async (request: LivePublishRequest): Promise<FanOutSummary | undefined> => {
  if (request.kind === 'heartbeat') {
    const summary = await fanOut.heartbeats();
    logger.info('live heartbeats sent', { ...summary });
    return summary;
  }
  if (request.kind === 'publish' && Array.isArray(request.events)) {
    const summary = await fanOut.publish(request.events);
    logger.info('live events published', { ...summary });
    return summary;
  }
  // Only this stack's functions and schedule may invoke it; anything else is a bug, not a retry.
  logger.error('not a live publish request', { kind: (request as { kind?: unknown }).kind });
  return undefined;
};

import 'reflect-metadata';
import { handlers, startServerAndCreateLambdaHandler } from '@as-integrations/aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { createApiServer, createRequestContext } from '../api/apollo-server';
import { loadConfig } from '../config';
import type { Services } from '../resolvers/context';
import { AnalyticsService } from '../services/analytics-service';
import { IngestService } from '../services/ingest-service';
import { ProfileService } from '../services/profile-service';
import { createDynamoDbDocumentClient, createKinesisClient } from '../sinks/aws-clients';
import { DynamoDbHotStore } from '../sinks/dynamodb-hot-store';
import { KinesisProducer } from '../sinks/kinesis-producer';
import { apiKeyLoader } from './api-key';

// Built once per execution environment, reused by every invocation.
const config = loadConfig();
const logger = new Logger({ serviceName: 'tributary-graphql' });
const services: Services = {
  ingest: new IngestService({
    producer: new KinesisProducer({ client: createKinesisClient(config), streamName: config.streamName }),
  }),
  profiles: new ProfileService(
    new DynamoDbHotStore({ client: createDynamoDbDocumentClient(config), tableName: config.tableName }),
  ),
  // The Redshift warehouse is wired here once its adapter exists; until then analytics answer WAREHOUSE_UNAVAILABLE.
  analytics: new AnalyticsService(undefined),
};
const apiKey = apiKeyLoader(config);
const server = createApiServer({ maxQueryDepth: config.maxQueryDepth, logger });

/** API Gateway HTTP API (payload v2) → Apollo Server. */
export const handler = startServerAndCreateLambdaHandler(
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

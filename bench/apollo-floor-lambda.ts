import 'reflect-metadata';
import { ApolloServer } from '@apollo/server';
import { handlers, startServerAndCreateLambdaHandler } from '@as-integrations/aws-lambda';
import { buildFloorSchema } from './apollo-floor-schema';

/**
 * The framework floor as a Lambda handler: a stock Apollo Server 5 (default options) on the floor's
 * schema through @as-integrations/aws-lambda, taking API Gateway v2 events. `npm run bench -- lambda`
 * runs it in process and bundles it like a Tributary function.
 */
export const handler = startServerAndCreateLambdaHandler(
  new ApolloServer({ schema: buildFloorSchema() }),
  handlers.createAPIGatewayProxyEventV2RequestHandler(),
);

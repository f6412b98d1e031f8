import 'reflect-metadata';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../src/config';
import { createGraphqlHandler, type GraphqlHandler } from '../../src/handlers/graphql-handler';
import { LIVE_REDACTED } from '../../src/handlers/live-publisher';
import type { LivePublishRequest } from '../../src/live/aws/aws-live-publisher';
import { LiveConnectionTable } from '../../src/live/aws/connection-table';
import { ensureStream } from '../../src/local/emulators';
import { ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';

const WRITE_KEY = 'live-edge-test-write-key-0123';
const LIVE_TABLE = 'live';
const lambda = mockClient(LambdaClient);

function trackEvents(events: Array<Record<string, unknown>>): APIGatewayProxyEventV2 {
  const body = JSON.stringify({
    query: 'mutation($e: [TrackEventInput!]!) { trackEvents(events: $e) { accepted rejected } }',
    variables: { e: events },
  });
  return {
    version: '2.0',
    routeKey: 'POST /graphql',
    rawPath: '/graphql',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', host: 'api.example.com', 'x-api-key': WRITE_KEY },
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: {
        method: 'POST',
        path: '/graphql',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.9',
        userAgent: 'test',
      },
      requestId: 'test',
      routeKey: 'POST /graphql',
      stage: '$default',
      time: '02/Dec/2026:10:00:00 +0000',
      timeEpoch: 0,
    },
    body,
    isBase64Encoded: false,
  };
}

const handedOff = (): LivePublishRequest[] =>
  lambda
    .commandCalls(InvokeCommand)
    .map(
      (call) =>
        JSON.parse(
          Buffer.from(call.args[0].input.Payload as Uint8Array).toString('utf8'),
        ) as LivePublishRequest,
    );

describe('the graphql Lambda with the live view deployed', () => {
  let env: TestEmulators;
  let handler: GraphqlHandler;
  const context = { functionName: 'test', awsRequestId: 'test' } as Context;

  beforeAll(async () => {
    env = await startTestEmulators('tributary-live-edge-');
    await ensureStream(env.kinesis, 'tributary-events', 1);
    await ensureHotTable(env.dynamodb, 'tributary-hot');
    await env.dynamodb.send(
      new CreateTableCommand({
        TableName: LIVE_TABLE,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // A console subscribed to sign-ups only.
    const table = new LiveConnectionTable({ client: env.dynamodb, tableName: LIVE_TABLE });
    await table.addConnection('console=', null);
    await table.initialise('console=', 'bootstrap-secret');
    await table.addSubscription(
      {
        connectionId: 'console=',
        subscriptionId: '1',
        keyId: 'bootstrap-secret',
        request: { query: 'subscription { liveEvents { event } }', variables: null, operationName: null },
        filter: { events: ['signed_up'] },
      },
      { perConnection: 5, total: 10 },
    );
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    handler = createGraphqlHandler({
      config: loadConfig({
        TRIBUTARY_API_KEY: 'live-edge-test-secret-key-0123',
        TRIBUTARY_WRITE_KEY: WRITE_KEY,
        TRIBUTARY_USER_TOKEN_SECRET: 'live-edge-test-user-token-secret-0123456789',
        TRIBUTARY_KINESIS_ENDPOINT: env.kinesisEndpoint,
        TRIBUTARY_DYNAMODB_ENDPOINT: env.dynamodbEndpoint,
        TRIBUTARY_LIVE_TABLE: LIVE_TABLE,
        TRIBUTARY_LIVE_PUBLISH_FUNCTION: 'tributary-live-publish',
      }),
    });
  }, 120_000);

  afterAll(async () => {
    lambda.restore();
    await env?.stop();
  });

  it('hands the publisher the accepted events a subscription matches, personal values redacted', async () => {
    // The first request finds the table's subscriptions (the handler waits for that look before it answers).
    await handler(trackEvents([{ messageId: 'warm-up', event: 'page_viewed', userId: 'u0' }]), context);
    lambda.resetHistory();
    const answer = await handler(
      trackEvents([
        {
          messageId: 'e-1',
          event: 'signed_up',
          userId: 'u1',
          properties: { email: 'ann@example.com', plan: 'pro' },
        },
        { messageId: 'e-2', event: 'page_viewed', userId: 'u1' },
      ]),
      context,
    );
    expect(JSON.parse(String(answer.body))).toEqual({ data: { trackEvents: { accepted: 2, rejected: 0 } } });
    expect(lambda.commandCalls(InvokeCommand)[0]?.args[0].input).toMatchObject({
      FunctionName: 'tributary-live-publish',
      InvocationType: 'Event',
    });
    expect(handedOff()).toEqual([
      {
        kind: 'publish',
        events: [
          expect.objectContaining({
            messageId: 'e-1',
            event: 'signed_up',
            status: 'ACCEPTED',
            properties: { email: LIVE_REDACTED, plan: 'pro' },
          }),
        ],
      },
    ]);
  }, 60_000);

  it('invokes nothing for events no subscription matches', async () => {
    lambda.resetHistory();
    await handler(trackEvents([{ messageId: 'e-3', event: 'page_viewed', userId: 'u2' }]), context);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  }, 60_000);
});

import 'reflect-metadata';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { loadConfig } from '../../src/config';
import { createGraphqlHandler, type GraphqlHandler } from '../../src/handlers/graphql-handler';
import { ensureStream } from '../../src/local/emulators';
import { ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';

const WRITE_KEY = 'handler-test-write-key-0123';
const STREAM = 'tributary-events';
const TABLE = 'tributary-hot';

/** An API Gateway HTTP API (payload v2) event. */
function apiEvent(
  method: string,
  rawPath: string,
  body?: string,
  headers: Record<string, string> = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} ${rawPath}`,
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', host: 'api.example.com', ...headers },
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'test' },
      requestId: 'test',
      routeKey: `${method} ${rawPath}`,
      stage: '$default',
      time: '02/Dec/2026:10:00:00 +0000',
      timeEpoch: 0,
    },
    body,
    isBase64Encoded: false,
  };
}

/** The messageIds of every record on the stream. */
async function streamMessageIds(env: TestEmulators): Promise<string[]> {
  const { Shards = [] } = await env.kinesis.send(new ListShardsCommand({ StreamName: STREAM }));
  const ids: string[] = [];
  for (const shard of Shards) {
    const { ShardIterator } = await env.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: STREAM,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const { Records = [] } = await env.kinesis.send(new GetRecordsCommand({ ShardIterator }));
    for (const record of Records) {
      ids.push(
        (JSON.parse(Buffer.from(record.Data ?? []).toString('utf8')) as { messageId: string }).messageId,
      );
    }
  }
  return ids.sort();
}

describe('the graphql Lambda handler', () => {
  let env: TestEmulators;
  let handler: GraphqlHandler;
  const context = { functionName: 'test', awsRequestId: 'test' } as Context;

  beforeAll(async () => {
    env = await startTestEmulators('tributary-graphql-handler-');
    await ensureStream(env.kinesis, STREAM, 1);
    await ensureHotTable(env.dynamodb, TABLE);
    handler = createGraphqlHandler({
      config: loadConfig({
        TRIBUTARY_API_KEY: 'handler-test-secret-key-0123',
        TRIBUTARY_WRITE_KEY: WRITE_KEY,
        TRIBUTARY_USER_TOKEN_SECRET: 'handler-test-user-token-secret-0123456789',
        TRIBUTARY_KINESIS_ENDPOINT: env.kinesisEndpoint,
        TRIBUTARY_DYNAMODB_ENDPOINT: env.dynamodbEndpoint,
        TRIBUTARY_STREAM_NAME: STREAM,
        TRIBUTARY_TABLE_NAME: TABLE,
        // As deployed: each key's rate counted in the table.
        TRIBUTARY_RATE_LIMIT_STORE: 'dynamodb',
      }),
    });
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
  });

  it('answers a preflight without a key', async () => {
    const answer = await handler(
      apiEvent('OPTIONS', '/graphql', undefined, { origin: 'https://shop.example' }),
      context,
    );
    expect(answer.statusCode).toBe(204);
  });

  it('puts trackEvents on the stream and answers ACCEPTED for each', async () => {
    const events = ['a', 'b', 'c'].map((id) => ({
      messageId: `handler-${id}`,
      event: 'page_viewed',
      userId: 'u1',
    }));
    const body = JSON.stringify({
      query: 'mutation($e: [TrackEventInput!]!) { trackEvents(events: $e) { accepted rejected } }',
      variables: { e: events },
    });
    const answer = await handler(apiEvent('POST', '/graphql', body, { 'x-api-key': WRITE_KEY }), context);
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(String(answer.body))).toEqual({ data: { trackEvents: { accepted: 3, rejected: 0 } } });
    expect(await streamMessageIds(env)).toEqual(['handler-a', 'handler-b', 'handler-c']);
  }, 60_000);

  it('refuses a request without a key', async () => {
    const body = JSON.stringify({ query: '{ __typename }' });
    const answer = await handler(apiEvent('POST', '/graphql', body), context);
    expect(answer.statusCode).not.toBe(200);
    expect(String(answer.body)).toContain('UNAUTHENTICATED');
  }, 60_000);
});

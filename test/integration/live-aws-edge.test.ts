import 'reflect-metadata';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig, type Config } from '../../src/config';
import { enricherFromConfig } from '../../src/events/from-config';
import type { FailedEvent, StoredEvent } from '../../src/events/types';
import { createGraphqlHandler, type GraphqlHandler } from '../../src/handlers/graphql-handler';
import { LIVE_REDACTED } from '../../src/handlers/live-publisher';
import { piiSecretLoader } from '../../src/handlers/pii-secret';
import type { LivePublishRequest } from '../../src/live/aws/aws-live-publisher';
import { LiveConnectionTable } from '../../src/live/aws/connection-table';
import type { LiveEvent } from '../../src/live/live-event';
import { ensureStream } from '../../src/local/emulators';
import { schemaRegistryFromConfig } from '../../src/services/schema-files';
import { ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { createStreamProcessor } from '../../src/stream/process-batch';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';
import { MemoryDelivery, RecordingHotStore } from '../helpers/in-memory-sinks';
import { kinesisEvent, kinesisRecord } from '../helpers/kinesis-events';

const WRITE_KEY = 'live-edge-test-write-key-0123';
const STREAM = 'tributary-events';
const LIVE_TABLE = 'live';
const PII_KEY = 'live-edge-test-pii-key-0123456789';
const PII_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:tributary-pii-AbCdEf';
const UNREADABLE_PII_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:tributary-pii-denied';
const EMAIL = 'ann@example.com';
const lambda = mockClient(LambdaClient);
const secrets = mockClient(SecretsManagerClient);

/** An API Gateway HTTP API (payload v2) request. */
function request(path: string, headers: Record<string, string>, body: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', host: 'api.example.com', ...headers },
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'test' },
      requestId: 'test',
      routeKey: `POST ${path}`,
      stage: '$default',
      time: '02/Dec/2026:10:00:00 +0000',
      timeEpoch: 0,
    },
    body,
    isBase64Encoded: false,
  };
}

const trackEvents = (events: Array<Record<string, unknown>>): APIGatewayProxyEventV2 =>
  request(
    '/graphql',
    { 'x-api-key': WRITE_KEY },
    JSON.stringify({
      query: 'mutation($e: [TrackEventInput!]!) { trackEvents(events: $e) { accepted rejected } }',
      variables: { e: events },
    }),
  );

/** Segment's identify, as analytics.js sends it: the write key as the Basic user. */
const segmentIdentify = (message: Record<string, unknown>): APIGatewayProxyEventV2 =>
  request(
    '/v1/identify',
    { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` },
    JSON.stringify(message),
  );

const handedOff = (): LiveEvent[] =>
  lambda.commandCalls(InvokeCommand).flatMap((call) => {
    const sent = JSON.parse(
      Buffer.from(call.args[0].input.Payload as Uint8Array).toString('utf8'),
    ) as LivePublishRequest;
    return sent.kind === 'publish' ? sent.events : [];
  });

const piiKeyReads = (secretArn: string): number =>
  secrets.commandCalls(GetSecretValueCommand).filter((call) => call.args[0].input.SecretId === secretArn)
    .length;

describe('the graphql Lambda with the live view deployed', () => {
  let env: TestEmulators;
  let table: LiveConnectionTable;
  const context = { functionName: 'test', awsRequestId: 'test' } as Context;

  /** The graphql function as deployed, its PII key in Secrets Manager. */
  const configWith = (piiSecretArn: string): Config =>
    loadConfig({
      TRIBUTARY_API_KEY: 'live-edge-test-secret-key-0123',
      TRIBUTARY_WRITE_KEY: WRITE_KEY,
      TRIBUTARY_USER_TOKEN_SECRET: 'live-edge-test-user-token-secret-0123456789',
      TRIBUTARY_KINESIS_ENDPOINT: env.kinesisEndpoint,
      TRIBUTARY_DYNAMODB_ENDPOINT: env.dynamodbEndpoint,
      TRIBUTARY_LIVE_TABLE: LIVE_TABLE,
      TRIBUTARY_LIVE_PUBLISH_FUNCTION: 'tributary-live-publish',
      // Every request looks again, so a subscription shows from the request after the one that saw it.
      TRIBUTARY_LIVE_SUBSCRIBER_CHECK_MS: '0',
      TRIBUTARY_PII_SECRET_ARN: piiSecretArn,
    });

  /** A request that lets the handler's look at the table catch up with a change to it. */
  const lookAgain = (handler: GraphqlHandler) =>
    handler(trackEvents([{ event: 'page_viewed', anonymousId: 'look' }]), context);

  /** The record the edge put on the stream for `messageId`. */
  async function onTheStream(messageId: string): Promise<Buffer> {
    const { Shards = [] } = await env.kinesis.send(new ListShardsCommand({ StreamName: STREAM }));
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
        const data = Buffer.from(record.Data ?? []);
        if ((JSON.parse(data.toString('utf8')) as { messageId: string }).messageId === messageId) return data;
      }
    }
    throw new Error(`${messageId} is not on the stream`);
  }

  /** The properties the stream function stores for a record, enriched with its PII key from Secrets Manager. */
  async function storedByTheStream(config: Config, data: Buffer): Promise<Record<string, unknown>> {
    const events = new MemoryDelivery<StoredEvent>();
    const process = createStreamProcessor({
      events,
      failed: new MemoryDelivery<FailedEvent>(),
      hotStore: new RecordingHotStore(),
      processorVersion: 'tributary@test',
      schemas: schemaRegistryFromConfig(config),
      enrich: enricherFromConfig(config, await piiSecretLoader(config)()),
      logger: { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
    });
    await process(kinesisEvent([kinesisRecord(data, '1')]));
    expect(events.records).toHaveLength(1);
    return events.records[0]!.properties;
  }

  beforeAll(async () => {
    env = await startTestEmulators('tributary-live-edge-');
    await ensureStream(env.kinesis, STREAM, 1);
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
    table = new LiveConnectionTable({ client: env.dynamodb, tableName: LIVE_TABLE });
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    secrets.on(GetSecretValueCommand, { SecretId: PII_SECRET_ARN }).resolves({ SecretString: PII_KEY });
    secrets
      .on(GetSecretValueCommand, { SecretId: UNREADABLE_PII_SECRET_ARN })
      .rejects(Object.assign(new Error('not authorised'), { name: 'AccessDeniedException' }));
  }, 120_000);

  afterAll(async () => {
    lambda.restore();
    secrets.restore();
    await env?.stop();
  });

  describe('with its PII key readable', () => {
    let config: Config;
    let handler: GraphqlHandler;

    beforeAll(() => {
      config = configWith(PII_SECRET_ARN);
      handler = createGraphqlHandler({ config });
    });

    it('reads no PII key and hands off nothing while nobody subscribes, from its cold start on', async () => {
      const answer = await handler(
        trackEvents([
          { messageId: 'unwatched', event: 'identify', userId: 'u0', properties: { email: EMAIL } },
        ]),
        context,
      );
      expect(JSON.parse(String(answer.body))).toEqual({
        data: { trackEvents: { accepted: 1, rejected: 0 } },
      });
      await lookAgain(handler);
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    }, 60_000);

    it('once someone subscribes, shows an x-pii value hashed as the stream stores it, reading the key once', async () => {
      // A console subscribed to identify events only.
      await table.addConnection('console=', null);
      await table.initialise('console=', 'bootstrap-secret');
      await table.addSubscription(
        {
          connectionId: 'console=',
          subscriptionId: '1',
          keyId: 'bootstrap-secret',
          request: { query: 'subscription { liveEvents { event } }', variables: null, operationName: null },
          filter: { events: ['identify'] },
        },
        { perConnection: 5, total: 10 },
      );
      await lookAgain(handler);
      lambda.resetHistory();

      const answer = await handler(
        trackEvents([
          { messageId: 'e-1', event: 'identify', userId: 'u1', properties: { email: EMAIL, plan: 'pro' } },
          { messageId: 'e-2', event: 'page_viewed', userId: 'u1' },
        ]),
        context,
      );
      expect(JSON.parse(String(answer.body))).toEqual({
        data: { trackEvents: { accepted: 2, rejected: 0 } },
      });
      // Segment's routes run in the same function, through the same edge.
      const segment = await handler(
        segmentIdentify({ messageId: 'e-3', userId: 'u1', traits: { email: EMAIL } }),
        context,
      );
      expect(segment.statusCode).toBe(200);

      expect(lambda.commandCalls(InvokeCommand)[0]?.args[0].input).toMatchObject({
        FunctionName: 'tributary-live-publish',
        InvocationType: 'Event',
      });
      const live = handedOff();
      expect(live.map((event) => [event.messageId, event.status])).toEqual([
        ['e-1', 'ACCEPTED'],
        ['e-3', 'ACCEPTED'],
      ]);
      expect(piiKeyReads(PII_SECRET_ARN)).toBe(1);

      const stored = await storedByTheStream(config, await onTheStream('e-1'));
      expect(stored.email).toMatch(/^[0-9a-f]{64}$/);
      expect(live[0]?.properties).toEqual({ email: stored.email, plan: 'pro' });
      expect(live[1]?.properties).toEqual({ email: stored.email });
    }, 60_000);

    it('invokes nothing for events no subscription matches', async () => {
      lambda.resetHistory();
      await handler(trackEvents([{ messageId: 'e-4', event: 'page_viewed', userId: 'u2' }]), context);
      expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    }, 60_000);
  });

  describe('when its PII key cannot be read', () => {
    it('shows personal values redacted, warns, and still takes the events', async () => {
      // Powertools logs through the global console in its dev mode, where a spy can read it.
      process.env.POWERTOOLS_DEV = 'true';
      const handler = createGraphqlHandler({ config: configWith(UNREADABLE_PII_SECRET_ARN) });
      delete process.env.POWERTOOLS_DEV;
      const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        await lookAgain(handler);
        lambda.resetHistory();
        const answer = await handler(
          trackEvents([{ messageId: 'e-5', event: 'identify', userId: 'u3', properties: { email: EMAIL } }]),
          context,
        );
        expect(JSON.parse(String(answer.body))).toEqual({
          data: { trackEvents: { accepted: 1, rejected: 0 } },
        });
        expect(piiKeyReads(UNREADABLE_PII_SECRET_ARN)).toBe(1);
        expect(handedOff()).toEqual([
          expect.objectContaining({
            messageId: 'e-5',
            status: 'ACCEPTED',
            properties: { email: LIVE_REDACTED },
          }),
        ]);
        const warnings = warn.mock.calls.map(([text]) => String(text));
        expect(warnings).toEqual([expect.stringContaining('could not read the PII key')]);
        expect(warnings[0]).not.toContain(EMAIL);
      } finally {
        warn.mockRestore();
      }
    }, 60_000);
  });
});

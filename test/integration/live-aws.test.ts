import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbApiKeyStore } from '../../src/access/dynamodb/dynamodb-api-key-store';
import { InMemoryRateLimiter } from '../../src/access/memory/in-memory-rate-limiter';
import { ApiGatewayConnections } from '../../src/live/aws/api-gateway-connections';
import { LiveConnectionTable } from '../../src/live/aws/connection-table';
import { GRAPHQL_WS_PROTOCOL, MAX_CLIENT_MESSAGE_BYTES } from '../../src/live/aws/graphql-ws-messages';
import { LiveDocuments } from '../../src/live/aws/live-documents';
import { LiveFanOut } from '../../src/live/aws/live-fan-out';
import { LiveSocket } from '../../src/live/aws/live-socket';
import {
  LIVE_FILTER_LIMITS,
  LIVE_SUBSCRIPTIONS_PER_CONNECTION,
  type LiveEvent,
} from '../../src/live/live-event';
import { ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { AccessService } from '../../src/services/access-service';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';

jest.setTimeout(30_000);

const BOOTSTRAP = {
  secretKey: 'bootstrap-secret-key',
  writeKey: 'bootstrap-write-key',
  userTokenSecret: 'a-user-token-signing-secret-of-32-chars!',
};
const LIVE_TABLE = 'live';
const MAX_SUBSCRIPTIONS = 8;
const SUBSCRIBE_QUERY = `subscription Tail($filter: LiveEventFilter) {
  liveEvents(filter: $filter) { messageId event status failureType receivedAt errors { code } }
}`;

/** The API's schema as the Lambdas bundle it. */
const SCHEMA_SDL = readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
const management = mockClient(ApiGatewayManagementApiClient);

function liveEvent(overrides: Partial<LiveEvent> = {}): LiveEvent {
  return {
    messageId: 'm-1',
    event: 'Order Completed',
    userId: 'u-1',
    anonymousId: null,
    status: 'ACCEPTED',
    failureType: null,
    errors: [],
    receivedAt: '2026-05-04T12:00:00.000Z',
    properties: { price: 12 },
    context: null,
    ...overrides,
  };
}

describe('live view in AWS (graphql-ws over API Gateway, connections on dynalite)', () => {
  let emulators: TestEmulators;
  let table: LiveConnectionTable;
  let socket: LiveSocket;
  let documents: LiveDocuments;
  let liveKey: string;
  let writeKey: string;
  let analyticsKey: string;
  let clock = Date.parse('2026-05-04T12:00:00Z');
  let connectionSeq = 0;

  /** Messages posted to each connection, parsed. */
  const posted = (connectionId: string): Array<Record<string, unknown>> =>
    management
      .commandCalls(PostToConnectionCommand)
      .filter((call) => call.args[0].input.ConnectionId === connectionId)
      .map(
        (call) =>
          JSON.parse(Buffer.from(call.args[0].input.Data as Uint8Array).toString('utf8')) as Record<
            string,
            unknown
          >,
      );
  const closed = (connectionId: string): boolean =>
    management
      .commandCalls(DeleteConnectionCommand)
      .some((call) => call.args[0].input.ConnectionId === connectionId);
  const itemsOf = async (connectionId: string) => {
    const scan = await emulators.dynamodb.send(new ScanCommand({ TableName: LIVE_TABLE }));
    return (scan.Items ?? []).filter((item) => JSON.stringify(item).includes(connectionId));
  };

  async function connect(): Promise<string> {
    const connectionId = `conn-${++connectionSeq}=`;
    const answer = await socket.connect({ connectionId, protocols: GRAPHQL_WS_PROTOCOL, origin: undefined });
    expect(answer.statusCode).toBe(200);
    return connectionId;
  }

  async function initialised(key = liveKey): Promise<string> {
    const connectionId = await connect();
    await socket.message(
      connectionId,
      JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }),
    );
    expect(posted(connectionId)).toEqual([{ type: 'connection_ack' }]);
    return connectionId;
  }

  const subscribe = (
    connectionId: string,
    id: string,
    variables: Record<string, unknown> | null = null,
    query = SUBSCRIBE_QUERY,
  ) => socket.message(connectionId, JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));

  beforeAll(async () => {
    emulators = await startTestEmulators('tributary-live-aws-');
    await ensureHotTable(emulators.dynamodb, 'hot');
    await emulators.dynamodb.send(
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
    const access = new AccessService({
      store: new DynamoDbApiKeyStore({ client: emulators.dynamodb, tableName: 'hot' }),
      limiter: new InMemoryRateLimiter(() => clock),
      bootstrap: () => Promise.resolve(BOOTSTRAP),
      limits: {
        defaultRatePerSecond: { WRITE: 1000, SECRET: 1000 },
        bootstrapRatePerSecond: { WRITE: 1000, SECRET: 1000 },
        keyCacheMs: 60_000,
      },
    });
    liveKey = (await access.createKey({ name: 'console', kind: 'SECRET', scopes: ['LIVE_READ'] })).secret;
    writeKey = (await access.createKey({ name: 'shop', kind: 'WRITE', scopes: ['INGEST'] })).secret;
    analyticsKey = (await access.createKey({ name: 'bi', kind: 'SECRET', scopes: ['ANALYTICS_READ'] }))
      .secret;
    table = new LiveConnectionTable({ client: emulators.dynamodb, tableName: LIVE_TABLE, now: () => clock });
    documents = new LiveDocuments(SCHEMA_SDL);
    socket = new LiveSocket({
      table,
      connections: new ApiGatewayConnections(
        new ApiGatewayManagementApiClient({ region: 'us-east-1', endpoint: 'https://ws.example/dev' }),
      ),
      documents,
      authenticate: (apiKey, origin) => access.authenticate({ apiKey, origin, authorization: undefined }),
      maxSubscriptions: MAX_SUBSCRIPTIONS,
      logger: { warn: () => undefined, error: () => undefined },
    });
  });

  beforeEach(() => {
    management.reset();
    management.on(PostToConnectionCommand).resolves({});
    management.on(DeleteConnectionCommand).resolves({});
  });

  afterAll(async () => {
    management.restore();
    await emulators?.stop();
  });

  describe('$connect', () => {
    it('agrees on graphql-transport-ws and records the connection', async () => {
      const answer = await socket.connect({
        connectionId: 'c-proto=',
        protocols: `graphql-ws, ${GRAPHQL_WS_PROTOCOL}`,
        origin: 'https://shop.example',
      });
      expect(answer).toEqual({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': GRAPHQL_WS_PROTOCOL } });
      expect(await table.connection('c-proto=')).toMatchObject({
        origin: 'https://shop.example',
        keyId: null,
        subscriptions: 0,
      });
    });

    it('refuses a handshake without the subprotocol and records nothing', async () => {
      expect(
        await socket.connect({ connectionId: 'c-none=', protocols: undefined, origin: undefined }),
      ).toEqual({ statusCode: 400 });
      expect(
        await socket.connect({ connectionId: 'c-old=', protocols: 'graphql-ws', origin: undefined }),
      ).toEqual({ statusCode: 400 });
      expect(await itemsOf('c-none=')).toEqual([]);
      expect(await itemsOf('c-old=')).toEqual([]);
    });
  });

  describe('connection_init', () => {
    it('acknowledges a key with LIVE_READ, sent as a Bearer or as x-api-key', async () => {
      await initialised();
      const other = await connect();
      await socket.message(
        other,
        JSON.stringify({ type: 'connection_init', payload: { 'x-api-key': BOOTSTRAP.secretKey } }),
      );
      expect(posted(other)).toEqual([{ type: 'connection_ack' }]);
      expect((await table.connection(other))?.keyId).toBe('bootstrap-secret');
    });

    it.each([
      ['a WRITE key', () => writeKey, 'FORBIDDEN'],
      ['a SECRET key without LIVE_READ', () => analyticsKey, 'FORBIDDEN'],
      ['an unknown key', () => 'trbs_not-a-key', 'UNAUTHENTICATED'],
      ['no key', () => '', 'UNAUTHENTICATED'],
    ])(
      'refuses %s: says 4403 in an error message, closes and forgets the connection',
      async (_name, key, code) => {
        const connectionId = await connect();
        await socket.message(
          connectionId,
          JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key()}` } }),
        );
        expect(posted(connectionId)).toEqual([
          {
            type: 'error',
            id: 'connection',
            payload: [{ message: expect.any(String), extensions: { code, closeCode: 4403 } }],
          },
        ]);
        expect(closed(connectionId)).toBe(true);
        expect(await itemsOf(connectionId)).toEqual([]);
      },
    );

    it('closes on a second connection_init (4429)', async () => {
      const connectionId = await initialised();
      await socket.message(
        connectionId,
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${liveKey}` } }),
      );
      expect(posted(connectionId)[1]).toMatchObject({
        type: 'error',
        payload: [{ extensions: { closeCode: 4429 } }],
      });
      expect(closed(connectionId)).toBe(true);
    });

    it('answers ping with pong, and closes on a message that is not graphql-ws (4400)', async () => {
      const connectionId = await initialised();
      await socket.message(connectionId, JSON.stringify({ type: 'ping' }));
      expect(posted(connectionId)[1]).toEqual({ type: 'pong' });
      await socket.message(connectionId, 'x'.repeat(MAX_CLIENT_MESSAGE_BYTES + 1));
      expect(posted(connectionId)[2]).toMatchObject({
        type: 'error',
        payload: [{ extensions: { closeCode: 4400 } }],
      });
      expect(closed(connectionId)).toBe(true);
    });
  });

  describe('subscribe', () => {
    it('closes a connection that subscribes before its init was acknowledged (4401)', async () => {
      const connectionId = await connect();
      await subscribe(connectionId, 's1');
      expect(posted(connectionId)).toMatchObject([
        { type: 'error', payload: [{ extensions: { closeCode: 4401 } }] },
      ]);
      expect(closed(connectionId)).toBe(true);
    });

    it('stores a subscription with its filter, from variables or inline', async () => {
      const connectionId = await initialised();
      await subscribe(connectionId, 'vars', {
        filter: { events: ['Order Completed'], statuses: ['ACCEPTED'] },
      });
      await subscribe(
        connectionId,
        'inline',
        null,
        'subscription { liveEvents(filter: { userId: "u-9" }) { messageId } }',
      );
      expect(posted(connectionId)).toHaveLength(1); // the ack only: a stored subscription is silent
      const mine = (await table.subscriptions()).filter((s) => s.connectionId === connectionId);
      expect(mine.map((s) => [s.subscriptionId, s.filter])).toEqual([
        ['inline', { userId: 'u-9' }],
        ['vars', { events: ['Order Completed'], statuses: ['ACCEPTED'] }],
      ]);
      expect((await table.connection(connectionId))?.subscriptions).toBe(2);
      // What the edge filters its hand-offs with.
      expect(await table.subscriptionFilters()).toEqual(
        expect.arrayContaining([{ userId: 'u-9' }, { events: ['Order Completed'], statuses: ['ACCEPTED'] }]),
      );
    });

    it('answers an error for a filter past its bounds, and stores nothing', async () => {
      const connectionId = await initialised();
      const events = Array.from({ length: LIVE_FILTER_LIMITS.events + 1 }, (_, i) => `e${i}`);
      await subscribe(connectionId, 'wide', { filter: { events } });
      expect(posted(connectionId)[1]).toEqual({
        type: 'error',
        id: 'wide',
        payload: [{ message: expect.stringContaining('at most 50'), extensions: { code: 'BAD_USER_INPUT' } }],
      });
      expect((await table.subscriptions()).some((s) => s.connectionId === connectionId)).toBe(false);
      expect(closed(connectionId)).toBe(false);
    });

    it.each([
      ['a query', '{ __typename }'],
      ['another subscription field', 'subscription { nothing }'],
      ['a document that does not parse', 'subscription {'],
      ['an unknown field of LiveEvent', 'subscription { liveEvents { password } }'],
    ])('answers an error for %s', async (_name, query) => {
      const connectionId = await initialised();
      await subscribe(connectionId, 'bad', null, query);
      expect(posted(connectionId)[1]).toMatchObject({
        type: 'error',
        id: 'bad',
        payload: [{ message: expect.any(String) }],
      });
      expect((await table.subscriptions()).some((s) => s.connectionId === connectionId)).toBe(false);
    });

    it(`refuses a subscription past ${LIVE_SUBSCRIPTIONS_PER_CONNECTION} on one connection, and closes on a duplicate id (4409)`, async () => {
      const connectionId = await initialised();
      for (let i = 0; i <= LIVE_SUBSCRIPTIONS_PER_CONNECTION; i += 1) await subscribe(connectionId, `s${i}`);
      expect(posted(connectionId)[1]).toMatchObject({
        type: 'error',
        id: `s${LIVE_SUBSCRIPTIONS_PER_CONNECTION}`,
        payload: [{ extensions: { code: 'LIVE_LIMIT' } }],
      });
      expect((await table.connection(connectionId))?.subscriptions).toBe(LIVE_SUBSCRIPTIONS_PER_CONNECTION);
      await subscribe(connectionId, 's0');
      expect(posted(connectionId)[2]).toMatchObject({
        type: 'error',
        payload: [{ extensions: { closeCode: 4409 } }],
      });
      expect(closed(connectionId)).toBe(true);
      expect(await itemsOf(connectionId)).toEqual([]);
    });

    it('refuses subscriptions past the table-wide cap', async () => {
      // Earlier tests leave some; fill up to the cap, then one more.
      const connections = [await initialised(), await initialised()];
      let refused: Record<string, unknown> | undefined;
      for (let i = 0; i < MAX_SUBSCRIPTIONS && refused === undefined; i += 1) {
        const connectionId = connections[i % 2]!;
        await subscribe(connectionId, `cap${i}`);
        refused = posted(connectionId).find((message) => message.type === 'error');
      }
      expect(refused).toMatchObject({
        payload: [{ message: expect.stringContaining('cap'), extensions: { code: 'LIVE_LIMIT' } }],
      });
      expect((await table.subscriptions()).length).toBe(MAX_SUBSCRIPTIONS);
      for (const connectionId of connections) await socket.disconnect(connectionId);
    });

    it('stores variables DynamoDB could not hold as a map (an empty key), and runs them back', async () => {
      const connectionId = await initialised();
      await subscribe(
        connectionId,
        'odd',
        { filter: null, '': 'unused' },
        'subscription ($filter: LiveEventFilter) { liveEvents(filter: $filter) { event } }',
      );
      expect(posted(connectionId)).toHaveLength(1);
      const stored = (await table.subscriptions()).find((s) => s.connectionId === connectionId);
      expect(stored?.request.variables).toEqual({ filter: null, '': 'unused' });
      await socket.disconnect(connectionId);
    });

    it('closes with 4500 when a reply cannot be sent, and forgets the connection', async () => {
      const connectionId = await connect();
      management.on(PostToConnectionCommand, { ConnectionId: connectionId }).rejects(new Error('throttled'));
      await socket.message(
        connectionId,
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${liveKey}` } }),
      );
      // The ack, then the close notice (4500): neither went out, the close did.
      expect(management.commandCalls(PostToConnectionCommand, { ConnectionId: connectionId })).toHaveLength(
        2,
      );
      expect(posted(connectionId)[1]).toMatchObject({
        type: 'error',
        payload: [{ extensions: { closeCode: 4500 } }],
      });
      expect(closed(connectionId)).toBe(true);
      expect(await itemsOf(connectionId)).toEqual([]);
    });

    it('removes a subscription on complete, so the connection may subscribe again', async () => {
      await cleanTable();
      const connectionId = await initialised();
      await subscribe(connectionId, 'once');
      await socket.message(connectionId, JSON.stringify({ id: 'once', type: 'complete' }));
      expect(await table.subscriptions()).toEqual([]);
      expect((await table.connection(connectionId))?.subscriptions).toBe(0);
      await socket.message(connectionId, JSON.stringify({ id: 'unknown', type: 'complete' }));
      expect((await table.connection(connectionId))?.subscriptions).toBe(0);
    });
  });

  describe('$disconnect', () => {
    it('removes the connection, its subscriptions and their counters', async () => {
      const connectionId = await initialised();
      await subscribe(connectionId, 'a');
      await new LiveFanOut({ table, connections: connectionsClient(), documents, now: () => clock }).publish([
        liveEvent(),
      ]);
      expect((await itemsOf(connectionId)).length).toBe(3); // connection, subscription, rate counter
      await socket.disconnect(connectionId);
      expect(await itemsOf(connectionId)).toEqual([]);
    });

    /**
     * DynamoDB takes only the first `taken` deletes of each BatchWriteItem (of the first `times`
     * ones) and hands the rest back; returns how many BatchWriteItems were sent.
     */
    async function disconnectWithUnprocessed(connectionId: string, taken: number, times: number) {
      const client = emulators.dynamodb;
      const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
      let writes = 0;
      const spy = jest.spyOn(client, 'send').mockImplementation(((command: unknown) => {
        if (!(command instanceof BatchWriteCommand)) return send(command);
        writes += 1;
        if (writes > times) return send(command);
        const requests = command.input.RequestItems?.[LIVE_TABLE] ?? [];
        const left = { UnprocessedItems: { [LIVE_TABLE]: requests.slice(taken) } };
        if (taken === 0) return Promise.resolve(left);
        const sent = new BatchWriteCommand({ RequestItems: { [LIVE_TABLE]: requests.slice(0, taken) } });
        return send(sent).then(() => left);
      }) as typeof client.send);
      try {
        await socket.disconnect(connectionId);
      } finally {
        spy.mockRestore();
      }
      return writes;
    }

    it('sends again the deletes DynamoDB left unprocessed', async () => {
      const connectionId = await initialised();
      await subscribe(connectionId, 'a');
      expect((await itemsOf(connectionId)).length).toBe(2); // connection, subscription
      expect(await disconnectWithUnprocessed(connectionId, 1, 1)).toBe(2);
      expect(await itemsOf(connectionId)).toEqual([]);
    });

    it('leaves to the TTL what DynamoDB never takes, rather than failing the disconnect', async () => {
      const connectionId = await initialised();
      await subscribe(connectionId, 'a');
      // Three attempts, each taking nothing: both items stay, and expire with their TTL.
      expect(await disconnectWithUnprocessed(connectionId, 0, Number.POSITIVE_INFINITY)).toBe(3);
      expect((await itemsOf(connectionId)).map((item) => Number(item.expiresAt) > clock / 1000)).toEqual([
        true,
        true,
      ]);
      await socket.disconnect(connectionId);
      expect(await itemsOf(connectionId)).toEqual([]);
    });
  });

  describe('publish (the publisher function)', () => {
    const fanOut = (eventsPerSecond = 100) =>
      new LiveFanOut({
        table,
        connections: connectionsClient(),
        documents,
        eventsPerSecond,
        heartbeatMs: 10_000,
        now: () => clock,
        logger: { warn: () => undefined, error: () => undefined },
      });
    const nexts = (connectionId: string, id: string) =>
      posted(connectionId).filter((message) => message.type === 'next' && message.id === id);

    beforeEach(cleanTable);

    it('sends each subscription only the events its filter matches, shaped by its selection', async () => {
      const connectionId = await initialised();
      await subscribe(connectionId, 'orders', { filter: { events: ['Order Completed'] } });
      await subscribe(
        connectionId,
        'failed',
        null,
        'subscription { liveEvents(filter: { statuses: [FAILED] }) { id: messageId failureType } }',
      );
      const events = [
        liveEvent({ messageId: 'a' }),
        liveEvent({ messageId: 'b', event: 'Page Viewed' }),
        liveEvent({ messageId: null, event: null, status: 'FAILED', failureType: 'malformed' }),
      ];
      const summary = await fanOut().publish(events);
      expect(summary).toMatchObject({ subscriptions: 2, sent: 2, dropped: 0, gone: 0, failed: 0 });
      expect(nexts(connectionId, 'orders')).toEqual([
        {
          type: 'next',
          id: 'orders',
          payload: {
            data: {
              liveEvents: {
                messageId: 'a',
                event: 'Order Completed',
                status: 'ACCEPTED',
                failureType: null,
                receivedAt: '2026-05-04T12:00:00.000Z',
                errors: [],
              },
            },
          },
        },
      ]);
      expect(nexts(connectionId, 'failed')).toEqual([
        {
          type: 'next',
          id: 'failed',
          payload: {
            data: { liveEvents: { id: expect.stringMatching(/^unknown-/), failureType: 'MALFORMED' } },
          },
        },
      ]);
    });

    it('sends a subscription at most its rate a second, and reports what it dropped in a heartbeat', async () => {
      const connectionId = await initialised();
      await subscribe(connectionId, 'all');
      const events = Array.from({ length: 30 }, (_, i) => liveEvent({ messageId: `m${i}` }));
      // Two publishes in one second (two concurrent invocations share the counter), then the next second.
      const first = await fanOut(40).publish(events.slice(0, 25));
      const second = await fanOut(40).publish(events);
      expect([first.sent, first.dropped, second.sent, second.dropped]).toEqual([25, 0, 15, 15]);
      const all = nexts(connectionId, 'all');
      expect(all.filter((m) => (m.payload as { data?: unknown }).data !== undefined)).toHaveLength(40);
      expect(all.filter((m) => (m.payload as { data?: unknown }).data === undefined)).toEqual([
        {
          type: 'next',
          id: 'all',
          payload: { extensions: { liveHeartbeat: { dropped: 15, at: new Date(clock).toISOString() } } },
        },
      ]);
      clock += 1000;
      // A new second: up to the rate again; the drops' heartbeat waits out the heartbeat interval.
      const third = await fanOut(40).publish([...events, ...events]);
      expect([third.sent, third.dropped, third.heartbeats]).toEqual([40, 20, 0]);
      clock += 10_000;
      const fourth = await fanOut(40).publish([...events, ...events]);
      expect([fourth.sent, fourth.dropped, fourth.heartbeats]).toEqual([40, 20, 1]);
      expect(nexts(connectionId, 'all').at(-1)).toMatchObject({
        payload: { extensions: { liveHeartbeat: { dropped: 40 } } },
      });
    });

    it('sends every subscription a heartbeat on the schedule, with what it dropped since its last', async () => {
      const connectionId = await initialised();
      await subscribe(connectionId, 'quiet', { filter: { events: ['Nothing Happened'] } });
      await subscribe(connectionId, 'busy');
      const three = [
        liveEvent({ messageId: 'x' }),
        liveEvent({ messageId: 'y' }),
        liveEvent({ messageId: 'z' }),
      ];
      // 1 sent, 2 dropped and reported at once (its first heartbeat); then 3 dropped, reported by the schedule.
      await fanOut(1).publish(three);
      await fanOut(1).publish(three);
      clock += 60_000;
      management.reset();
      management.on(PostToConnectionCommand).resolves({});
      const summary = await fanOut(1).heartbeats();
      expect(summary).toMatchObject({ subscriptions: 2, heartbeats: 2, sent: 0 });
      const beats = Object.fromEntries(
        posted(connectionId).map((m) => [
          m.id,
          (m.payload as { extensions: { liveHeartbeat: { dropped: number } } }).extensions.liveHeartbeat
            .dropped,
        ]),
      );
      expect(beats).toEqual({ quiet: 0, busy: 3 });
    });

    it('removes a connection it finds gone (410) with everything it holds, and still serves the others', async () => {
      const gone = await initialised();
      const alive = await initialised();
      await subscribe(gone, 'g1');
      await subscribe(gone, 'g2');
      await subscribe(alive, 'a1');
      management
        .on(PostToConnectionCommand, { ConnectionId: gone })
        .rejects(new GoneException({ message: 'gone', $metadata: { httpStatusCode: 410 } }));
      const summary = await fanOut().publish([liveEvent(), liveEvent({ messageId: 'm-2' })]);
      expect(summary).toMatchObject({ gone: 1, sent: 2, failed: 0 });
      expect(await itemsOf(gone)).toEqual([]);
      expect(nexts(alive, 'a1')).toHaveLength(2);
      // One attempt per subscription at most (they run in parallel), none for the second event.
      expect(management.commandCalls(PostToConnectionCommand, { ConnectionId: gone })).toHaveLength(2);
    });
  });

  function connectionsClient(): ApiGatewayConnections {
    return new ApiGatewayConnections(
      new ApiGatewayManagementApiClient({ region: 'us-east-1', endpoint: 'https://ws.example/dev' }),
    );
  }

  async function cleanTable(): Promise<void> {
    const scan = await emulators.dynamodb.send(new ScanCommand({ TableName: LIVE_TABLE }));
    const connectionIds = new Set(
      (scan.Items ?? []).map((item) => String(item.connectionId)).filter((id) => id !== 'undefined'),
    );
    for (const connectionId of connectionIds) await table.removeConnection(connectionId);
  }
});

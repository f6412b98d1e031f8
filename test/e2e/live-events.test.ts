import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createKinesisClient } from '../../src/aws/clients';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { gql } from '../helpers/graphql-client';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(90_000);

const API_KEY = 'e2e-live-secret-key';
const WRITE_KEY = 'e2e-live-write-key';
/** Low, so the per-subscription limit shows with a small batch; heartbeats often, so tests wait little. */
const RATE = 20;
const HEARTBEAT_MS = 300;

const LIVE = `subscription($filter: LiveEventFilter) {
  liveEvents(filter: $filter) {
    messageId event userId anonymousId status failureType errors { code path message } receivedAt properties context
  }
}`;
const TRACK = `mutation($events: [TrackEventInput!]!) { trackEvents(events: $events) { results { messageId status } } }`;

interface LiveEvent {
  messageId: string;
  event: string | null;
  userId: string | null;
  anonymousId: string | null;
  status: string;
  failureType: string | null;
  errors: Array<{ code: string; path: string | null; message: string }>;
  receivedAt: string;
  properties: Record<string, unknown> | null;
  context: Record<string, unknown> | null;
}

interface Heartbeat {
  dropped: number;
  at: string;
}

interface Watch {
  events: LiveEvent[];
  heartbeats: Heartbeat[];
  errors: unknown[];
  /** Resolves at the next heartbeat: the subscription is open on the server. */
  heartbeat(): Promise<void>;
  until(check: (events: LiveEvent[]) => boolean, what: string): Promise<LiveEvent[]>;
}

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('liveEvents over graphql-ws on the embedded stack', () => {
  let dataDir: string;
  let stack: LocalStack;
  const clients: Client[] = [];

  const connect = (connectionParams: Record<string, unknown>, onClosed?: (code: number) => void): Client => {
    const client = createClient({
      url: stack.graphqlUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      on: { closed: (event) => onClosed?.((event as { code: number }).code) },
    });
    clients.push(client);
    return client;
  };

  const watch = (
    filter: Record<string, unknown> | null,
    client = connect({ authorization: `Bearer ${API_KEY}` }),
  ): Watch => {
    const state: Watch = {
      events: [],
      heartbeats: [],
      errors: [],
      heartbeat: async () => {
        const seen = state.heartbeats.length;
        await eventually(() => state.heartbeats.length > seen || state.errors.length > 0, 'a heartbeat');
      },
      until: async (check, what) => {
        await eventually(() => check(state.events), what);
        return state.events;
      },
    };
    client.subscribe<{ liveEvents: LiveEvent }, { liveHeartbeat?: Heartbeat }>(
      { query: LIVE, variables: { filter } },
      {
        next: (result) => {
          if (result.data) state.events.push(result.data.liveEvents);
          else if (result.extensions?.liveHeartbeat) state.heartbeats.push(result.extensions.liveHeartbeat);
          else state.errors.push(result.errors);
        },
        error: (error) => state.errors.push(error),
        complete: () => undefined,
      },
    );
    return state;
  };

  const track = async (events: Array<Record<string, unknown>>, key = API_KEY) => {
    const answer = await gql<{ trackEvents: { results: Array<{ messageId: string; status: string }> } }>(
      stack.graphqlUrl,
      TRACK,
      { events },
      key,
    );
    if (!answer.data) throw new Error(JSON.stringify(answer.errors));
    return answer.data.trackEvents.results;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-live-'));
    stack = await startLocalStack(
      testConfig(dataDir, API_KEY, {
        TRIBUTARY_WRITE_KEY: WRITE_KEY,
        TRIBUTARY_LIVE_EVENTS_PER_SECOND: String(RATE),
        TRIBUTARY_LIVE_HEARTBEAT_MS: String(HEARTBEAT_MS),
        TRIBUTARY_SUPPRESSION_CACHE_MS: '0',
      }),
    );
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('shows an accepted event with its x-pii properties hashed and its IP anonymised', async () => {
    const live = watch({ userId: 'live-pii' });
    await live.heartbeat();
    const [result] = await track([
      {
        event: 'identify',
        userId: 'live-pii',
        messageId: 'live-pii-1',
        properties: { email: 'ada@example.com', plan: 'pro' },
        context: { ip: '203.0.113.77', locale: 'en-GB' },
      },
    ]);
    expect(result?.status).toBe('ACCEPTED');
    const [event] = await live.until((events) => events.length > 0, 'the accepted event');
    expect(event).toMatchObject({
      messageId: 'live-pii-1',
      event: 'identify',
      userId: 'live-pii',
      status: 'ACCEPTED',
      failureType: null,
      errors: [],
    });
    expect(event?.properties?.plan).toBe('pro');
    expect(event?.properties?.email).toMatch(/^[0-9a-f]{64}$/);
    expect(event?.context).toEqual({ ip: '203.0.113.0', locale: 'en-GB' });
    expect(JSON.stringify(event)).not.toContain('ada@example.com');
    expect(JSON.stringify(event)).not.toContain('203.0.113.77');
  });

  it('shows events that come through the Segment API the same way', async () => {
    const live = watch({ userId: 'live-segment' });
    await live.heartbeat();
    const response = await fetch(`${stack.url}/v1/track`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
      },
      body: JSON.stringify({
        userId: 'live-segment',
        event: 'Products Searched',
        messageId: 'live-seg-1',
        properties: { query: 'socks' },
      }),
    });
    expect(response.status).toBe(200);
    const [event] = await live.until((events) => events.length > 0, 'the Segment event');
    expect(event).toMatchObject({ messageId: 'live-seg-1', userId: 'live-segment', status: 'ACCEPTED' });
  });

  it('shows an edge rejection once, with its errors, though the stream stores it as failed too', async () => {
    const live = watch({ userId: 'live-bad' });
    await live.heartbeat();
    const [result] = await track([
      {
        event: 'checkout_started',
        userId: 'live-bad',
        messageId: 'live-bad-1',
        properties: { value: -5, currency: 'EUR' },
      },
    ]);
    expect(result?.status).toBe('REJECTED');
    await live.until((all) => all.length >= 1, 'the rejection');
    // The record has gone through the stream into failed events by now; it is not shown again.
    await stack.settle();
    const stored = await gql<{ failedEvents: Array<{ messageId: string | null }> }>(
      stack.graphqlUrl,
      `query($from: DateTimeISO!, $to: DateTimeISO!) {
        failedEvents(from: $from, to: $to, type: SCHEMA_VIOLATION, limit: 100) { messageId }
      }`,
      {
        from: new Date(Date.now() - 3_600_000).toISOString(),
        to: new Date(Date.now() + 60_000).toISOString(),
      },
      API_KEY,
    );
    expect(stored.data?.failedEvents.map((failed) => failed.messageId)).toContain('live-bad-1');
    expect(live.events.map((e) => [e.messageId, e.status])).toEqual([['live-bad-1', 'REJECTED']]);
    expect(live.events[0]?.errors[0]?.path).toBe('/properties/value');
    expect(live.events[0]?.properties).toEqual({ value: -5, currency: 'EUR' });
  });

  it('shows a record put straight on Kinesis that violates its schema as FAILED', async () => {
    const live = watch({ statuses: ['FAILED'], events: ['checkout_started'] });
    await live.heartbeat();
    const kinesis = createKinesisClient({
      aws: { region: 'us-east-1', kinesisEndpoint: stack.kinesisEndpoint },
    });
    try {
      await kinesis.send(
        new PutRecordCommand({
          StreamName: 'tributary-events',
          PartitionKey: 'direct',
          Data: Buffer.from(
            JSON.stringify({
              messageId: 'live-direct-1',
              event: 'checkout_started',
              anonymousId: 'anon-direct',
              properties: { value: 'lots', coupon: 'write to ada@example.com' },
              context: { ip: '198.51.100.23' },
            }),
          ),
        }),
      );
    } finally {
      kinesis.destroy();
    }
    const [event] = await live.until((events) => events.length > 0, 'the failed record');
    expect(event).toMatchObject({
      messageId: 'live-direct-1',
      event: 'checkout_started',
      anonymousId: 'anon-direct',
      userId: null,
      status: 'FAILED',
      failureType: 'SCHEMA_VIOLATION',
    });
    expect(event?.errors.map((e) => e.path)).toContain('/properties/value');
    expect(event?.context).toEqual({ ip: '198.51.100.0' });
  });

  it('shows an event of a suppressed id as SUPPRESSED, without its payload', async () => {
    const deletion = await gql(
      stack.graphqlUrl,
      'mutation { deleteUser(id: "live-gone") { id } }',
      {},
      API_KEY,
    );
    expect(deletion.errors).toBeUndefined();
    const live = watch({ userId: 'live-gone' });
    await live.heartbeat();
    const [result] = await track([
      { event: 'page_viewed', userId: 'live-gone', messageId: 'live-gone-1', properties: { path: '/x' } },
    ]);
    expect(result?.status).toBe('SUPPRESSED');
    const [event] = await live.until((events) => events.length > 0, 'the suppressed event');
    expect(event).toMatchObject({
      messageId: 'live-gone-1',
      status: 'SUPPRESSED',
      userId: 'live-gone',
      properties: null,
      context: null,
    });
  });

  it('sends each subscription only what its filter matches', async () => {
    const byEvent = watch({ events: ['search_performed'] });
    const byStatus = watch({ statuses: ['REJECTED'], userId: 'live-f-1' });
    const byUser = watch({ userId: 'live-f-2' });
    await Promise.all([byEvent.heartbeat(), byStatus.heartbeat(), byUser.heartbeat()]);
    await track([
      { event: 'search_performed', userId: 'live-f-1', messageId: 'f-1', properties: { query: 'socks' } },
      { event: 'page_viewed', userId: 'live-f-2', messageId: 'f-2' },
      { event: 'checkout_started', userId: 'live-f-1', messageId: 'f-3', properties: { value: -1 } },
      { event: 'page_viewed', userId: 'live-f-1', messageId: 'f-4' },
    ]);
    await byEvent.until((events) => events.length >= 1, 'the search');
    await byStatus.until((events) => events.length >= 1, 'the rejection');
    await byUser.until((events) => events.length >= 1, "live-f-2's event");
    // The FAILED record of f-3 comes through the stream; by then anything wrongly sent has arrived.
    const failed = watch({ statuses: ['FAILED'], userId: 'live-f-1' });
    await failed.heartbeat();
    await stack.settle();
    const ids = (watched: Watch) => watched.events.map((e) => `${e.messageId}:${e.status}`);
    expect(ids(byEvent)).toEqual(['f-1:ACCEPTED']);
    expect(ids(byStatus)).toEqual(['f-3:REJECTED']);
    expect(ids(byUser)).toEqual(['f-2:ACCEPTED']);
  });

  it('sends a subscription at most its rate and reports the rest as dropped in heartbeats', async () => {
    const flooded = watch({ userId: 'live-flood' });
    const quiet = watch({ userId: 'live-quiet' });
    await Promise.all([flooded.heartbeat(), quiet.heartbeat()]);
    const sent = 5 * RATE;
    const results = await track(
      Array.from({ length: sent }, (_, i) => ({
        event: 'page_viewed',
        userId: 'live-flood',
        messageId: `flood-${i}`,
      })),
    );
    expect(results.every((r) => r.status === 'ACCEPTED')).toBe(true);
    await eventually(
      () => flooded.events.length + flooded.heartbeats.reduce((sum, h) => sum + h.dropped, 0) >= sent,
      'every event delivered or counted',
    );
    expect(flooded.events.length).toBeGreaterThan(0);
    // One second's burst at most: the batch arrives within a few milliseconds.
    expect(flooded.events.length).toBeLessThanOrEqual(RATE + 1);
    expect(flooded.heartbeats.some((h) => h.dropped > 0)).toBe(true);
    expect(quiet.heartbeats.every((h) => h.dropped === 0)).toBe(true);
    expect(flooded.heartbeats.every((h) => !Number.isNaN(Date.parse(h.at)))).toBe(true);
  });

  it('refuses at connection_init no key, a WRITE key and a SECRET key without LIVE_READ (4403)', async () => {
    const created = await gql<{ createApiKey: { secret: string } }>(
      stack.graphqlUrl,
      'mutation { createApiKey(input: {name: "no live", kind: SECRET, scopes: [FAILED_EVENTS_READ]}) { secret } }',
      {},
      API_KEY,
    );
    const noLive = created.data?.createApiKey.secret;
    expect(noLive).toBeDefined();
    for (const params of [
      {},
      { authorization: `Bearer ${WRITE_KEY}` },
      { authorization: `Bearer ${noLive}` },
      { authorization: 'Bearer trbs_unknown' },
    ]) {
      let code: number | undefined;
      const refused = watch(
        null,
        connect(params, (closed) => (code = closed)),
      );
      await eventually(() => code !== undefined, 'the connection to close');
      expect(code).toBe(4403);
      expect(refused.events).toEqual([]);
    }
  });

  it('lets a key created with LIVE_READ watch, and opens nothing new once it is revoked', async () => {
    const created = await gql<{ createApiKey: { apiKey: { id: string }; secret: string } }>(
      stack.graphqlUrl,
      'mutation { createApiKey(input: {name: "watcher", kind: SECRET, scopes: [LIVE_READ]}) { apiKey { id } secret } }',
      {},
      API_KEY,
    );
    const key = created.data?.createApiKey;
    if (!key) throw new Error(JSON.stringify(created.errors));
    const client = connect({ authorization: `Bearer ${key.secret}` });
    const before = watch({ userId: 'live-watcher' }, client);
    await before.heartbeat();
    expect(before.errors).toEqual([]);

    const revoked = await gql(
      stack.graphqlUrl,
      `mutation { revokeApiKey(id: "${key.apiKey.id}") { id } }`,
      {},
      API_KEY,
    );
    expect(revoked.errors).toBeUndefined();
    const after = watch({ userId: 'live-watcher' }, client);
    await eventually(() => after.errors.length > 0, 'the subscription refused');
    expect(JSON.stringify(after.errors)).toContain('UNAUTHENTICATED');
  });

  it('takes the key in x-api-key too, and bounds filters, operations and subscriptions per connection', async () => {
    const client = connect({ 'x-api-key': API_KEY });
    const ok = watch(null, client);
    await ok.heartbeat();
    expect(ok.errors).toEqual([]);

    const tooMany = watch({ events: Array.from({ length: 51 }, (_, i) => `e${i}`) }, client);
    await eventually(() => tooMany.errors.length > 0, 'the filter refused');
    expect(JSON.stringify(tooMany.errors)).toContain('BAD_USER_INPUT');

    const query: unknown[] = [];
    client.subscribe(
      { query: '{ trending { itemId } }' },
      {
        next: () => undefined,
        error: (error) => query.push(error),
        complete: () => undefined,
      },
    );
    await eventually(() => query.length > 0, 'the query refused');
    expect(JSON.stringify(query)).toContain('only subscriptions');

    const more = Array.from({ length: 5 }, () => watch({ userId: 'x' }, client));
    await eventually(() => more.some((w) => w.errors.length > 0), 'a subscription past the limit refused');
    expect(JSON.stringify(more.flatMap((w) => w.errors))).toContain('LIVE_LIMIT');
  });
});

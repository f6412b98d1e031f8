import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../src/aws/clients';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { gql } from '../helpers/graphql-client';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(60_000);

const API_KEY = 'e2e-test-key-0123';
const TRACK = `mutation($events: [TrackEventInput!]!) {
  trackEvents(events: $events) { accepted rejected results { messageId status errors { code path message } } }
}`;
const USER = `query($id: ID!) { user(id: $id) { id eventCount firstSeen lastSeen lastEvent } }`;
const COUNTS = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  eventCounts(from: $from, to: $to, granularity: HOUR) { bucket event count users }
}`;

describe('the embedded stack, end to end', () => {
  let dataDir: string;
  let stack: LocalStack;
  const start = () => startLocalStack(testConfig(dataDir, API_KEY));

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-e2e-'));
    stack = await start();
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const hour = new Date('2026-05-04T10:00:00.000Z');
  const range = { from: '2026-05-04T00:00:00.000Z', to: '2026-05-05T00:00:00.000Z' };

  it('refuses requests without the API key and writes nothing', async () => {
    const events = [{ event: 'page_viewed', userId: 'intruder', timestamp: hour.toISOString() }];
    const missing = await gql(stack.graphqlUrl, TRACK, { events });
    const wrong = await gql(stack.graphqlUrl, TRACK, { events }, 'not-the-key');
    for (const response of [missing, wrong]) {
      expect(response.status).toBe(401);
      expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(response.data).toBeUndefined();
    }
    await stack.settle();
    const user = await gql<{ user: unknown }>(stack.graphqlUrl, USER, { id: 'intruder' }, API_KEY);
    expect(user.data?.user).toBeNull();
  });

  it('takes 50 events in one call and shows them in user and eventCounts', async () => {
    const events = Array.from({ length: 50 }, (_, i) => ({
      event: i % 5 === 0 ? 'product_added_to_cart' : 'product_viewed',
      userId: `user-${i % 4}`,
      messageId: `e2e-${i}`,
      timestamp: new Date(hour.getTime() + i * 1000).toISOString(),
      properties: { product_id: `sku-${i % 7}` },
    }));
    const response = await gql<{
      trackEvents: { accepted: number; rejected: number; results: Array<{ status: string }> };
    }>(stack.graphqlUrl, TRACK, { events }, API_KEY);
    expect(response.errors).toBeUndefined();
    expect(response.data?.trackEvents.accepted).toBe(50);
    expect(response.data?.trackEvents.results.every((r) => r.status === 'ACCEPTED')).toBe(true);

    await stack.settle();
    const user = await gql<{ user: Record<string, unknown> }>(
      stack.graphqlUrl,
      USER,
      { id: 'user-1' },
      API_KEY,
    );
    expect(user.data?.user).toEqual({
      id: 'user-1',
      eventCount: 13,
      firstSeen: new Date(hour.getTime() + 1000).toISOString(),
      lastSeen: new Date(hour.getTime() + 49_000).toISOString(),
      lastEvent: 'product_viewed',
    });
    const counts = await gql<{ eventCounts: unknown[] }>(stack.graphqlUrl, COUNTS, range, API_KEY);
    expect(counts.data?.eventCounts).toEqual([
      { bucket: hour.toISOString(), event: 'product_added_to_cart', count: 10, users: 4 },
      { bucket: hour.toISOString(), event: 'product_viewed', count: 40, users: 4 },
    ]);
  });

  it('rejects an invalid event in a batch and lets its neighbours through', async () => {
    const response = await gql<{
      trackEvents: {
        accepted: number;
        rejected: number;
        results: Array<{ status: string; errors: Array<{ path: string }> }>;
      };
    }>(
      stack.graphqlUrl,
      TRACK,
      {
        events: [
          { event: 'search_performed', userId: 'user-9', timestamp: hour.toISOString() },
          { event: 'Not Valid', userId: 'user-9' },
          { event: 'search_performed', timestamp: hour.toISOString() },
        ],
      },
      API_KEY,
    );
    const result = response.data?.trackEvents;
    expect(result?.accepted).toBe(1);
    expect(result?.rejected).toBe(2);
    expect(result?.results.map((r) => r.status)).toEqual(['ACCEPTED', 'REJECTED', 'REJECTED']);
    expect(result?.results[1]?.errors[0]?.path).toBe('/event');
    expect(result?.results[2]?.errors[0]?.path).toBe('/userId');
  });

  it('polices records written straight to the Kinesis stream the same way', async () => {
    const kinesis = createKinesisClient({
      aws: { region: 'us-east-1', kinesisEndpoint: stack.kinesisEndpoint },
    });
    const put = (data: string) =>
      kinesis.send(
        new PutRecordCommand({
          StreamName: 'tributary-events',
          PartitionKey: 'direct',
          Data: Buffer.from(data),
        }),
      );
    await put(
      JSON.stringify({ event: 'checkout_started', userId: 'direct-1', timestamp: hour.toISOString() }),
    );
    await put('this is not json');
    kinesis.destroy();
    await stack.settle();
    const user = await gql<{ user: { eventCount: number; lastEvent: string } }>(
      stack.graphqlUrl,
      USER,
      { id: 'direct-1' },
      API_KEY,
    );
    expect(user.data?.user).toMatchObject({ eventCount: 1, lastEvent: 'checkout_started' });
  });

  it('keeps every count across a restart', async () => {
    const before = await gql(stack.graphqlUrl, COUNTS, range, API_KEY);
    const userBefore = await gql(stack.graphqlUrl, USER, { id: 'user-1' }, API_KEY);
    await stack.close();
    stack = await start();
    await stack.settle();
    expect(await gql(stack.graphqlUrl, COUNTS, range, API_KEY)).toEqual(before);
    expect(await gql(stack.graphqlUrl, USER, { id: 'user-1' }, API_KEY)).toEqual(userBefore);
  });

  it('stores a resent messageId once in the warehouse', async () => {
    const events = [
      { event: 'order_completed', userId: 'user-1', messageId: 'e2e-0', timestamp: hour.toISOString() },
    ];
    await gql(stack.graphqlUrl, TRACK, { events }, API_KEY);
    await stack.settle();
    const counts = await gql<{ eventCounts: Array<{ event: string }> }>(
      stack.graphqlUrl,
      COUNTS,
      range,
      API_KEY,
    );
    expect(counts.data?.eventCounts.find((c) => c.event === 'order_completed')).toBeUndefined();
  });
});

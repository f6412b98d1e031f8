import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MemoryStore, Tracker } from '../../src/client';
import { signUserToken } from '../../src/client/node';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(90_000);

const API_KEY = 'identity-e2e-key-0123';
const WRITE_KEY = 'identity-e2e-write-key';
const TOKEN_SECRET = 'identity-e2e-user-token-secret-0123456789';
const TRACK = `mutation($events: [TrackEventInput!]!) { trackEvents(events: $events) { accepted results { status } } }`;
const USER = `query($id: ID!) {
  user(id: $id) {
    id personId eventCount traits
    ids { id kind linkedAt }
    counts { event count }
    recentEvents(limit: 10) { messageId }
  }
}`;
const IDENTITY = `query($id: ID!) { identity(id: $id) { personId ids { id kind } } }`;
const UNLINK = `mutation($id: ID!) { unlinkIdentity(id: $id) { personId ids { id kind } } }`;
const FAILED = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  failedEvents(from: $from, to: $to, type: IDENTITY_CONFLICT, limit: 100) { messageId failureType errors { code } }
}`;

interface Answer<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

describe('identity stitching on the embedded stack', () => {
  let dataDir: string;
  let stack: LocalStack;
  const t0 = Date.now() - 3_600_000;
  let n = 0;
  const at = () => new Date(t0 + ++n * 1000).toISOString();

  const post = async <T>(query: string, variables: Record<string, unknown>, key: string, token?: string) => {
    const response = await fetch(stack.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': key,
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as Answer<T>;
  };
  const send = async (key: string, events: Array<Record<string, unknown>>) => {
    const answer = await post<{ trackEvents: { accepted: number } }>(
      TRACK,
      { events: events.map((e) => ({ timestamp: at(), ...e })) },
      key,
    );
    expect(answer.data?.trackEvents.accepted).toBe(events.length);
    await stack.settle();
  };
  type User = {
    user: {
      personId: string;
      eventCount: number;
      traits: Record<string, unknown>;
      ids: Array<{ id: string; kind: string }>;
      counts: Array<{ event: string; count: number }>;
    } | null;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-identity-'));
    stack = await startLocalStack(
      testConfig(dataDir, API_KEY, {
        TRIBUTARY_WRITE_KEY: WRITE_KEY,
        TRIBUTARY_USER_TOKEN_SECRET: TOKEN_SECRET,
      }),
    );
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers the signed-in person for the anonymous id browsed before, and the other way round', async () => {
    await send(WRITE_KEY, [
      { event: 'product_viewed', anonymousId: 'device-a', properties: { product_id: 'sku-1' } },
      { event: 'product_viewed', anonymousId: 'device-a', properties: { product_id: 'sku-2' } },
    ]);
    await send(WRITE_KEY, [
      { event: 'identify', userId: 'alice', anonymousId: 'device-a', properties: { plan: 'pro' } },
      {
        event: 'product_viewed',
        userId: 'alice',
        anonymousId: 'device-a',
        properties: { product_id: 'sku-3' },
      },
    ]);
    for (const id of ['device-a', 'alice']) {
      const answer = await post<User>(USER, { id }, API_KEY);
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.user).toMatchObject({
        personId: 'alice',
        eventCount: 4,
        traits: { plan: 'pro' },
        ids: [
          { id: 'alice', kind: 'USER' },
          { id: 'device-a', kind: 'ANONYMOUS' },
        ],
      });
      expect(answer.data?.user?.counts).toContainEqual({ event: 'product_viewed', count: 3 });
    }
    const identity = await post<{ identity: unknown }>(IDENTITY, { id: 'device-a' }, API_KEY);
    expect(identity.data?.identity).toEqual({
      personId: 'alice',
      ids: [
        { id: 'alice', kind: 'USER' },
        { id: 'device-a', kind: 'ANONYMOUS' },
      ],
    });
    expect(
      (await post<{ identity: unknown }>(IDENTITY, { id: 'never-seen' }, API_KEY)).data?.identity,
    ).toBeNull();
  });

  it('lets a user token read every id of its own person, and no one else', async () => {
    const alice = await signUserToken(TOKEN_SECRET, 'alice', 300);
    const own = await post<User>(USER, { id: 'device-a' }, WRITE_KEY, alice);
    expect(own.errors).toBeUndefined();
    expect(own.data?.user?.personId).toBe('alice');
    await send(WRITE_KEY, [{ event: 'page_viewed', anonymousId: 'device-b' }]);
    const other = await post<User>(USER, { id: 'device-b' }, WRITE_KEY, alice);
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const stranger = await signUserToken(TOKEN_SECRET, 'mallory', 300);
    const refused = await post<{ identity: unknown }>(IDENTITY, { id: 'alice' }, WRITE_KEY, stranger);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('keeps a shared device with its first person and records the later sign-in as IDENTITY_CONFLICT', async () => {
    await send(WRITE_KEY, [
      { event: 'page_viewed', userId: 'bob', anonymousId: 'device-a', messageId: 'bob-on-a' },
    ]);
    const bob = await post<User>(USER, { id: 'bob' }, API_KEY);
    expect(bob.data?.user).toMatchObject({
      personId: 'bob',
      eventCount: 1,
      ids: [{ id: 'bob', kind: 'USER' }],
    });
    const range = {
      from: new Date(t0 - 86_400_000).toISOString(),
      to: new Date(Date.now() + 60_000).toISOString(),
    };
    const failed = await post<{
      failedEvents: Array<{ messageId: string; errors: Array<{ code: string }> }>;
    }>(FAILED, range, API_KEY);
    expect(failed.errors).toBeUndefined();
    expect(failed.data?.failedEvents).toEqual([
      { messageId: 'bob-on-a', failureType: 'IDENTITY_CONFLICT', errors: [{ code: 'ID_TAKEN' }] },
    ]);
  });

  it('unlinks a wrongly linked id with an ADMIN key only, and refuses an id that is its own person', async () => {
    const refused = await post<{ unlinkIdentity: unknown }>(UNLINK, { id: 'device-a' }, WRITE_KEY);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const unlinked = await post<{ unlinkIdentity: unknown }>(UNLINK, { id: 'device-a' }, API_KEY);
    expect(unlinked.errors).toBeUndefined();
    expect(unlinked.data?.unlinkIdentity).toEqual({
      personId: 'device-a',
      ids: [{ id: 'device-a', kind: 'ANONYMOUS' }],
    });
    const alice = await post<User>(USER, { id: 'alice' }, API_KEY);
    expect(alice.data?.user).toMatchObject({
      personId: 'alice',
      eventCount: 2,
      ids: [{ id: 'alice', kind: 'USER' }],
    });
    const notLinked = await post<{ unlinkIdentity: unknown }>(UNLINK, { id: 'alice' }, API_KEY);
    expect(notLinked.errors?.[0]?.extensions?.code).toBe('NOT_LINKED');
  });

  it('links the tracker’s anonymous id on identify, and starts a new visitor on reset', async () => {
    const tracker = await Tracker.create({
      endpoint: stack.graphqlUrl,
      apiKey: WRITE_KEY,
      store: new MemoryStore(),
    });
    try {
      const before = tracker.anonymousId;
      tracker.track('product_viewed', { product_id: 'sku-9' });
      tracker.identify('carol', { plan: 'team' });
      tracker.track('product_viewed', { product_id: 'sku-8' });
      expect((await tracker.flush()).delivered).toBe(3);
      expect(tracker.anonymousId).toBe(before);
      tracker.reset();
      expect(tracker.anonymousId).not.toBe(before);
      tracker.track('page_viewed');
      expect((await tracker.flush()).delivered).toBe(1);
      await stack.settle();

      const carol = await post<User>(USER, { id: before }, API_KEY);
      expect(carol.data?.user).toMatchObject({
        personId: 'carol',
        eventCount: 3,
        ids: [
          { id: 'carol', kind: 'USER' },
          { id: before, kind: 'ANONYMOUS' },
        ],
      });
      const next = await post<User>(USER, { id: tracker.anonymousId }, API_KEY);
      expect(next.data?.user).toMatchObject({ personId: tracker.anonymousId, eventCount: 1 });
    } finally {
      await tracker.close();
    }
  });
});

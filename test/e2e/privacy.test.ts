import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../src/aws/clients';
import { pseudonym } from '../../src/events/enrich/pii';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { gql } from '../helpers/graphql-client';
import { readLakeEvents } from '../helpers/lake-events';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(120_000);

const API_KEY = 'privacy-e2e-key-0123';
const PII_SECRET = 'privacy-e2e-pii-secret';
const TRACK = `mutation($events: [TrackEventInput!]!) {
  trackEvents(events: $events) { accepted rejected results { messageId status errors { code path message } } }
}`;
const FAILED = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  failedEvents(from: $from, to: $to, limit: 1000) {
    messageId failureType event errors { code path message } payload
  }
}`;
const TRAITS = `query($id: ID!) { user(id: $id) { id eventCount traits } }`;

interface Outcome {
  messageId: string;
  status: string;
  errors: Array<{ code: string; path: string | null; message: string }>;
}
interface FailedRow {
  messageId: string | null;
  failureType: string;
  event: string | null;
  errors: Array<{ code: string; path: string | null; message: string }>;
  payload: string;
}

const now = Date.now();
const range = {
  from: new Date(now - 86_400_000).toISOString(),
  to: new Date(now + 86_400_000).toISOString(),
};
const timestamp = new Date(now - 60_000).toISOString();
const hashed = (value: string) => pseudonym(value, PII_SECRET);

/**
 * The JSON of an object nested `depth` levels deep, `{"a":{"a":…{"a":1}}}`, written as text:
 * JSON.stringify recurses and overflows the stack at such depths.
 */
const nestedJson = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('privacy and hardening on the embedded stack, end to end', () => {
  let dataDir: string;
  let stack: LocalStack;
  let kinesis: ReturnType<typeof createKinesisClient>;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-privacy-'));
    stack = await startLocalStack(testConfig(dataDir, API_KEY, { TRIBUTARY_PII_SECRET: PII_SECRET }));
    kinesis = createKinesisClient({ aws: { region: 'us-east-1', kinesisEndpoint: stack.kinesisEndpoint } });
  });

  afterAll(async () => {
    kinesis?.destroy();
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const track = async (events: unknown[]): Promise<Outcome[]> => {
    const response = await gql<{ trackEvents: { results: Outcome[] } }>(
      stack.graphqlUrl,
      TRACK,
      { events },
      API_KEY,
    );
    expect(response.errors).toBeUndefined();
    return response.data?.trackEvents.results ?? [];
  };

  const putDirect = async (records: Array<string | object>) => {
    const put = await kinesis.send(
      new PutRecordsCommand({
        StreamName: 'tributary-events',
        Records: records.map((data, i) => ({
          PartitionKey: `direct-${i}`,
          Data: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)),
        })),
      }),
    );
    expect(put.FailedRecordCount ?? 0).toBe(0);
  };

  const failedEvents = async (): Promise<FailedRow[]> => {
    const response = await gql<{ failedEvents: FailedRow[] }>(stack.graphqlUrl, FAILED, range, API_KEY);
    expect(response.errors).toBeUndefined();
    return response.data?.failedEvents ?? [];
  };

  it('keeps no full IP and no clear x-pii value in an oversize record, and never stores it whole', async () => {
    const big = 'x'.repeat(900 * 1024);
    const outcomes = await track([
      {
        messageId: 'priv-big-api',
        event: 'identify',
        userId: 'priv-big',
        timestamp,
        properties: { email: 'big-api@example.com', bio: big },
        context: { ip: '203.0.113.71' },
      },
    ]);
    expect(outcomes.map((o) => [o.status, o.errors[0]?.code])).toEqual([['REJECTED', 'SIZE_EXCEEDED']]);
    // A direct producer may put the IP and the email first, where a kept head would hold them.
    const direct = JSON.stringify({
      messageId: 'priv-big-direct',
      context: { ip: '203.0.113.72' },
      sourceIp: '198.51.100.72',
      event: 'identify',
      userId: 'priv-big',
      properties: { email: 'big-direct@example.com', phone: '+44 20 7946 0958', bio: big },
    });
    await putDirect([direct]);
    await stack.settle();

    const rows = (await failedEvents()).filter((r) => r.failureType === 'SIZE_EXCEEDED');
    const api = rows.find((r) => r.messageId === 'priv-big-api');
    const fromStream = rows.find((r) => r.messageId === 'priv-big-direct');
    for (const row of [api, fromStream]) {
      expect(row).toBeDefined();
      // The head only: never the record whole, however many such records a query returns.
      expect(Buffer.byteLength(row?.payload ?? '', 'utf8')).toBeLessThanOrEqual(4096);
      for (const secret of ['203.0.113.71', '203.0.113.72', '198.51.100.72', 'big-api@', 'big-direct@'])
        expect(row?.payload).not.toContain(secret);
      expect(row?.payload).not.toContain('7946');
    }
    const sha256 = createHash('sha256').update(direct).digest('hex');
    expect(fromStream?.errors).toContainEqual(
      expect.objectContaining({
        code: 'PAYLOAD_TRUNCATED',
        message: expect.stringContaining(`${Buffer.byteLength(direct)} bytes (SHA-256 ${sha256})`),
      }),
    );
    expect(fromStream?.payload).toContain(hashed('big-direct@example.com'));
    expect(fromStream?.payload).toContain('203.0.113.0');
  });

  it('hashes x-pii fields, nested traits included, in the payload of a schema violation', async () => {
    const outcomes = await track([
      {
        messageId: 'priv-violation-api',
        event: 'identify',
        userId: 'priv-violation',
        timestamp,
        properties: { email: 'violation-api@example.com', age: -5, traits: { phone: '+1 (555) 010-7788' } },
        context: { ip: '203.0.113.73' },
      },
    ]);
    expect(outcomes.map((o) => [o.status, o.errors[0]?.code])).toEqual([['REJECTED', 'SCHEMA_VIOLATION']]);
    await putDirect([
      {
        messageId: 'priv-violation-direct',
        event: 'identify',
        userId: 'priv-violation',
        timestamp,
        properties: { traits: { email: 'violation-direct@example.com' }, age: 'old' },
        context: { ip: '203.0.113.74' },
      },
    ]);
    await stack.settle();

    const rows = (await failedEvents()).filter((r) => r.messageId?.startsWith('priv-violation-'));
    expect(rows.map((r) => r.failureType).sort()).toEqual(['SCHEMA_VIOLATION', 'SCHEMA_VIOLATION']);
    const payloads = rows.map((r) => JSON.parse(r.payload) as Record<string, Record<string, unknown>>);
    const api = payloads.find((p) => p.messageId === ('priv-violation-api' as unknown));
    const direct = payloads.find((p) => p.messageId === ('priv-violation-direct' as unknown));
    expect(api?.properties).toEqual({
      email: hashed('violation-api@example.com'),
      age: -5,
      traits: { phone: hashed('+1 (555) 010-7788') },
    });
    expect(api?.context?.ip).toBe('203.0.113.0');
    expect(direct?.properties).toEqual({
      traits: { email: hashed('violation-direct@example.com') },
      age: 'old',
    });
    expect(direct?.context?.ip).toBe('203.0.113.0');
  });

  it('stores identify traits sent as properties.traits hashed, in the profile and in the lake', async () => {
    const outcomes = await track([
      {
        messageId: 'priv-traits-api',
        event: 'identify',
        userId: 'priv-traits',
        timestamp,
        properties: { traits: { email: 'traits-api@example.com', plan: 'pro' } },
      },
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['ACCEPTED']);
    await putDirect([
      {
        messageId: 'priv-traits-direct',
        event: 'identify',
        userId: 'priv-traits-direct',
        timestamp,
        properties: { traits: { first_name: 'Ada', email: 'traits-direct@example.com' } },
      },
    ]);
    await stack.settle();

    const user = async (id: string) =>
      (await gql<{ user: { traits: Record<string, unknown> } }>(stack.graphqlUrl, TRAITS, { id }, API_KEY))
        .data?.user.traits;
    expect(await user('priv-traits')).toEqual({ email: hashed('traits-api@example.com'), plan: 'pro' });
    expect(await user('priv-traits-direct')).toEqual({
      first_name: hashed('Ada'),
      email: hashed('traits-direct@example.com'),
    });
    const lake = (await readLakeEvents(dataDir)).filter((e) => e.messageId.startsWith('priv-traits-'));
    expect(lake).toHaveLength(2);
    const stored = JSON.stringify(lake);
    expect(stored).not.toContain('traits-api@');
    expect(stored).not.toContain('traits-direct@');
    expect(stored).toContain(hashed('traits-api@example.com'));
  });

  it('refuses __proto__, constructor and prototype keys per event, with the pointer of the key', async () => {
    // Sent as text: JSON.stringify of an object literal would drop a __proto__ key.
    const body = `{"query":${JSON.stringify(TRACK)},"variables":{"events":[
      {"messageId":"priv-proto-api","event":"identify","userId":"priv-proto","properties":{"traits":{"__proto__":{"admin":true},"plan":"pro"}}},
      {"messageId":"priv-proto-ok","event":"identify","userId":"priv-proto","properties":{"plan":"basic"}},
      {"messageId":"priv-ctor-api","event":"page_viewed","userId":"priv-proto","properties":{"list":[{"constructor":"x"}]}}
    ]}}`;
    const response = await fetch(stack.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body,
    });
    const answer = (await response.json()) as { data?: { trackEvents: { results: Outcome[] } } };
    const results = answer.data?.trackEvents.results ?? [];
    expect(results.map((r) => [r.messageId, r.status, r.errors[0]?.code, r.errors[0]?.path])).toEqual([
      ['priv-proto-api', 'REJECTED', 'ENVELOPE_INVALID', '/properties/traits/__proto__'],
      ['priv-proto-ok', 'ACCEPTED', undefined, undefined],
      ['priv-ctor-api', 'REJECTED', 'ENVELOPE_INVALID', '/properties/list/0/constructor'],
    ]);
    await putDirect([
      '{"messageId":"priv-proto-direct","event":"page_viewed","userId":"priv-proto","context":{"custom":{"prototype":1}}}',
    ]);
    await stack.settle();

    const rows = (await failedEvents()).filter((r) =>
      ['priv-proto-api', 'priv-ctor-api', 'priv-proto-direct'].includes(r.messageId ?? ''),
    );
    expect(rows.map((r) => [r.messageId, r.failureType, r.errors[0]?.path]).sort()).toEqual([
      ['priv-ctor-api', 'ENVELOPE_INVALID', '/properties/list/0/constructor'],
      ['priv-proto-api', 'ENVELOPE_INVALID', '/properties/traits/__proto__'],
      ['priv-proto-direct', 'ENVELOPE_INVALID', '/context/custom/prototype'],
    ]);
    const profile = await gql<{ user: { eventCount: number; traits: Record<string, unknown> } }>(
      stack.graphqlUrl,
      TRAITS,
      { id: 'priv-proto' },
      API_KEY,
    );
    expect(profile.data?.user).toMatchObject({ eventCount: 1, traits: { plan: 'basic' } });
  });

  it('refuses an event nested 5,000 levels deep on its own, and takes its neighbours', async () => {
    const deep = nestedJson(5_000);
    expect(deep.length).toBeLessThan(32 * 1024);
    const event = (messageId: string, userId: string, properties = '{}') =>
      `{"messageId":"${messageId}","event":"page_viewed","userId":"${userId}","timestamp":"${timestamp}","properties":${properties}}`;
    const response = await fetch(stack.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: `{"query":${JSON.stringify(TRACK)},"variables":{"events":[${[
        event('priv-deep-before', 'priv-deep'),
        event('priv-deep-api', 'priv-deep', deep),
        event('priv-deep-after', 'priv-deep'),
      ].join(',')}]}}`,
    });
    const answer = (await response.json()) as {
      data?: { trackEvents: { results: Outcome[] } };
      errors?: Array<{ extensions?: { code?: string } }>;
    };
    // The whole call once failed here with INTERNAL_SERVER_ERROR.
    expect(answer.errors).toBeUndefined();
    const outcomes = answer.data?.trackEvents.results ?? [];
    expect(outcomes.map((o) => [o.messageId, o.status])).toEqual([
      ['priv-deep-before', 'ACCEPTED'],
      ['priv-deep-api', 'REJECTED'],
      ['priv-deep-after', 'ACCEPTED'],
    ]);
    expect(outcomes[1]?.errors[0]).toMatchObject({
      code: 'ENVELOPE_INVALID',
      path: `/properties${'/a'.repeat(32)}`,
    });
    await putDirect([
      event('priv-deep-direct', 'priv-deep-direct', deep),
      event('priv-deep-direct-ok', 'priv-deep-direct'),
    ]);
    await stack.settle();

    const rows = (await failedEvents()).filter((r) => r.messageId?.startsWith('priv-deep-'));
    expect(rows.map((r) => [r.messageId, r.failureType, r.errors[0]?.path]).sort()).toEqual([
      ['priv-deep-api', 'ENVELOPE_INVALID', `/properties${'/a'.repeat(32)}`],
      ['priv-deep-direct', 'ENVELOPE_INVALID', `/properties${'/a'.repeat(32)}`],
    ]);
    for (const row of rows) expect(Buffer.byteLength(row.payload, 'utf8')).toBeLessThanOrEqual(4096);
    const count = async (id: string) =>
      (await gql<{ user: { eventCount: number } }>(stack.graphqlUrl, TRAITS, { id }, API_KEY)).data?.user
        .eventCount;
    expect(await count('priv-deep')).toBe(2);
    expect(await count('priv-deep-direct')).toBe(1);
  });

  it('scrubs the payload of every other failure type the same way', async () => {
    const ip = { ip: '203.0.113.75' };
    await putDirect([
      // MALFORMED: cut-off JSON; its head is scrubbed by pattern, since it cannot be read.
      '{"messageId":"priv-malformed","event":"identify","context":{"ip":"203.0.113.75"},"properties":{"email":"malformed@example.com"',
      // ENVELOPE_INVALID: a userId that is not text.
      {
        messageId: 'priv-envelope',
        event: 'identify',
        userId: 7,
        properties: { email: 'envelope@example.com' },
        context: ip,
      },
      // SCHEMA_UNKNOWN: a pinned version that does not exist; the newest version's marks apply.
      {
        messageId: 'priv-unknown-version',
        event: 'identify',
        userId: 'priv-other',
        schemaVersion: '9-0-0',
        properties: { email: 'unknown@example.com' },
        context: ip,
      },
      // ENRICHMENT_FAILED: two addresses where one was expected; both lose their last octet.
      {
        messageId: 'priv-enrichment',
        event: 'identify',
        userId: 'priv-other',
        properties: { email: 'enrichment@example.com' },
        context: { ip: '203.0.113.75, 198.51.100.76' },
      },
    ]);
    await stack.settle();

    const rows = await failedEvents();
    const row = (messageId: string) => rows.find((r) => r.messageId === messageId);
    const malformed = rows.find((r) => r.failureType === 'MALFORMED' && r.payload.includes('priv-malformed'));
    expect(malformed?.payload).toContain(hashed('malformed@example.com'));
    expect(row('priv-envelope')?.failureType).toBe('ENVELOPE_INVALID');
    expect(row('priv-unknown-version')?.failureType).toBe('SCHEMA_UNKNOWN');
    expect(row('priv-enrichment')?.failureType).toBe('ENRICHMENT_FAILED');
    for (const [kept, email] of [
      [malformed, 'malformed@example.com'],
      [row('priv-envelope'), 'envelope@example.com'],
      [row('priv-unknown-version'), 'unknown@example.com'],
      [row('priv-enrichment'), 'enrichment@example.com'],
    ] as const) {
      expect(kept?.payload).not.toContain(email);
      expect(kept?.payload).not.toContain('203.0.113.75');
      expect(kept?.payload).not.toContain('198.51.100.76');
    }
    expect(JSON.parse(row('priv-enrichment')?.payload ?? '{}')).toMatchObject({
      properties: { email: hashed('enrichment@example.com') },
      context: { ip: '203.0.113.0, 198.51.100.0' },
    });
  });

  it('hashes what looks like an email or a phone number in events without a schema', async () => {
    const outcomes = await track([
      {
        messageId: 'priv-unschemed',
        event: 'newsletter_signup',
        userId: 'priv-unschemed',
        timestamp,
        properties: {
          contact: { email: 'Signup@Example.com', phones: ['+49 30 901820', '(555) 010-4477'] },
          order_id: '20260504123456',
          day: '2026-05-04',
          source: 'footer',
        },
      },
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['ACCEPTED']);
    await stack.settle();
    const [stored] = (await readLakeEvents(dataDir)).filter((e) => e.messageId === 'priv-unschemed');
    expect(stored?.properties).toEqual({
      contact: {
        email: hashed('Signup@Example.com'),
        phones: [hashed('+49 30 901820'), hashed('(555) 010-4477')],
      },
      order_id: '20260504123456',
      day: '2026-05-04',
      source: 'footer',
    });
  });
});

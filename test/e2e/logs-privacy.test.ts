import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatWithOptions } from 'node:util';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../src/aws/clients';
import { MAX_EVENT_BYTES } from '../../src/events/envelope';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { gql } from '../helpers/graphql-client';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(120_000);

const API_KEY = 'logs-e2e-secret-key-0123';
const EMAIL = 'planted.person@example.com';
const PHONE = '+1 415 555 0134';
const IP = '203.0.113.77';
/** What no log line and no error message may hold: each planted value, the phone number as bare digits too. */
const PLANTED = [EMAIL, PHONE, PHONE.replace(/\D/g, ''), IP];

const TRACK = `mutation($events: [TrackEventInput!]!) {
  trackEvents(events: $events) { results { messageId status errors { code } } }
}`;
const FAILED = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  failedEvents(from: $from, to: $to, limit: 1000) { messageId failureType errors { code path message } payload }
}`;
const USER = `query($id: ID!) { user(id: $id) { traits } }`;

interface FailedRow {
  messageId: string | null;
  failureType: string;
  errors: Array<{ code: string; path: string | null; message: string }>;
  payload: string;
}

const now = Date.now();
const timestamp = new Date(now - 60_000).toISOString();
const range = {
  from: new Date(now - 86_400_000).toISOString(),
  to: new Date(now + 86_400_000).toISOString(),
};
const padding = 'x'.repeat(MAX_EVENT_BYTES);

/** The planted values a text holds, to name them when an assertion fails. */
const plantedIn = (text: string): string[] => PLANTED.filter((value) => text.includes(value));

/**
 * Everything the process writes while the stack runs: console calls, formatted as Node prints them
 * (errors with their causes), and raw writes to stdout and stderr (Powertools, worker threads).
 * Installed before the stack starts, because loggers such as Apollo's bind the console methods
 * when they are created.
 */
function captureOutput(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const spies: jest.SpyInstance[] = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    spies.push(
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(formatWithOptions({ depth: Infinity }, ...args));
      }),
    );
  }
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    spies.push(
      jest.spyOn(stream, 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
        lines.push(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
        return write(chunk, ...rest);
      }),
    );
  }
  return { lines, restore: () => spies.forEach((spy) => spy.mockRestore()) };
}

describe('logs and error messages on the embedded stack hold no client IP and no personal data', () => {
  let dataDir: string;
  let stack: LocalStack;
  let kinesis: ReturnType<typeof createKinesisClient>;
  let output: ReturnType<typeof captureOutput>;

  beforeAll(async () => {
    output = captureOutput();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-logs-'));
    stack = await startLocalStack(testConfig(dataDir, API_KEY));
    kinesis = createKinesisClient({ aws: { region: 'us-east-1', kinesisEndpoint: stack.kinesisEndpoint } });
  });

  afterAll(async () => {
    kinesis?.destroy();
    await stack?.close();
    output?.restore();
    await rm(dataDir, { recursive: true, force: true });
  });

  const post = (events: unknown[], apiKey: string) =>
    fetch(stack.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': apiKey,
        // The local server takes the socket's address as the source IP; a proxy in front would send this.
        'x-forwarded-for': IP,
      },
      body: JSON.stringify({ query: TRACK, variables: { events } }),
    });

  const putDirect = async (records: Array<string | object>) => {
    const put = await kinesis.send(
      new PutRecordsCommand({
        StreamName: 'tributary-events',
        Records: records.map((data, i) => ({
          PartitionKey: `logs-direct-${i}`,
          Data: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)),
        })),
      }),
    );
    expect(put.FailedRecordCount ?? 0).toBe(0);
  };

  it('sends good and failing events carrying an email, a phone number and an IP, and logs none of them', async () => {
    const person = { email: EMAIL, phone: PHONE };
    const context = { ip: IP };
    const events = [
      // Accepted: the identify schema marks email and phone x-pii.
      {
        messageId: 'logs-valid',
        event: 'identify',
        userId: 'logs-person',
        timestamp,
        properties: person,
        context,
      },
      // Accepted: Segment's shape, traits under properties.traits.
      {
        messageId: 'logs-traits',
        event: 'identify',
        userId: 'logs-traits',
        timestamp,
        properties: { traits: person },
        context,
      },
      // SCHEMA_VIOLATION at the edge and in the stream.
      {
        messageId: 'logs-violation',
        event: 'identify',
        userId: 'logs-person',
        timestamp,
        properties: { ...person, age: -1 },
        context,
      },
      // ENRICHMENT_FAILED in the stream: not one address.
      {
        messageId: 'logs-bad-ip',
        event: 'identify',
        userId: 'logs-person',
        timestamp,
        properties: person,
        context: { ip: `${IP} via proxy` },
      },
      // SIZE_EXCEEDED at the edge and in the stream.
      {
        messageId: 'logs-oversize',
        event: 'identify',
        userId: 'logs-person',
        timestamp,
        properties: { ...person, bio: padding },
        context,
      },
    ];
    const answer = await post(events, API_KEY);
    const body = (await answer.json()) as {
      data?: { trackEvents: { results: Array<{ messageId: string; status: string }> } };
    };
    expect(body.data?.trackEvents.results.map((r) => [r.messageId, r.status])).toEqual([
      ['logs-valid', 'ACCEPTED'],
      ['logs-traits', 'ACCEPTED'],
      ['logs-violation', 'REJECTED'],
      ['logs-bad-ip', 'ACCEPTED'],
      ['logs-oversize', 'REJECTED'],
    ]);

    const refused = await post(events, 'not-a-key');
    expect(refused.status).toBe(401);

    await putDirect([
      {
        messageId: 'logs-direct-valid',
        event: 'identify',
        userId: 'logs-direct',
        timestamp,
        properties: person,
        sourceIp: IP,
      },
      {
        messageId: 'logs-direct-violation',
        event: 'identify',
        userId: 'logs-direct',
        properties: { ...person, age: 'old' },
        context,
      },
      {
        messageId: 'logs-direct-bad-ip',
        event: 'identify',
        userId: 'logs-direct',
        properties: person,
        context: { ip: `x${IP}` },
      },
      {
        messageId: 'logs-direct-oversize',
        event: 'identify',
        context,
        properties: { ...person, bio: padding },
      },
      // MALFORMED: cut-off JSON, and a short text the JSON parser would quote whole in its error.
      `{"messageId":"logs-direct-malformed","context":{"ip":"${IP}"},"properties":{"email":"${EMAIL}","phone":"${PHONE}"`,
      `ip ${IP}`,
    ]);
    await stack.settle();

    const failed = await gql<{ failedEvents: FailedRow[] }>(stack.graphqlUrl, FAILED, range, API_KEY);
    expect(failed.errors).toBeUndefined();
    const rows = failed.data?.failedEvents ?? [];
    // Every path this test is about was taken.
    const types = (prefix: string) =>
      rows
        .filter((r) => r.messageId?.startsWith(prefix))
        .map((r) => [r.messageId, r.failureType])
        .sort();
    expect(types('logs-')).toEqual([
      ['logs-bad-ip', 'ENRICHMENT_FAILED'],
      ['logs-direct-bad-ip', 'ENRICHMENT_FAILED'],
      ['logs-direct-oversize', 'SIZE_EXCEEDED'],
      ['logs-direct-violation', 'SCHEMA_VIOLATION'],
      ['logs-oversize', 'SIZE_EXCEEDED'],
      ['logs-violation', 'SCHEMA_VIOLATION'],
    ]);
    expect(rows.filter((r) => r.failureType === 'MALFORMED')).toHaveLength(2);

    const messages = rows.flatMap((r) =>
      r.errors.map((e) => `${r.failureType} ${r.messageId}: ${e.message}`),
    );
    expect(messages.filter((m) => plantedIn(m).length > 0)).toEqual([]);
    const payloads = rows.filter((r) => plantedIn(r.payload).length > 0);
    expect(payloads.map((r) => [r.messageId, r.failureType, plantedIn(r.payload)])).toEqual([]);

    // The accepted events became profiles; read back, their traits hold the values hashed only.
    for (const id of ['logs-person', 'logs-traits', 'logs-direct']) {
      const user = await gql<{ user: { traits: Record<string, unknown> } | null }>(
        stack.graphqlUrl,
        USER,
        { id },
        API_KEY,
      );
      expect(Object.keys(user.data?.user?.traits ?? {}).sort()).toEqual(['email', 'phone']);
      expect(plantedIn(JSON.stringify(user.data))).toEqual([]);
    }

    expect(output.lines.filter((line) => plantedIn(line).length > 0)).toEqual([]);
    // The capture is live: an error logged as the stack's loggers do it, cause included, lands in it.
    console.error('probe', new Error('outer', { cause: new Error('capture-probe') }));
    expect(output.lines.some((line) => line.includes('capture-probe'))).toBe(true);
  });
});

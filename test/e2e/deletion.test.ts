import 'reflect-metadata';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient } from '../../src/aws/clients';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { readLakeEvents } from '../helpers/lake-events';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(180_000);

const API_KEY = 'deletion-e2e-key-0123';
const WRITE_KEY = 'deletion-e2e-write-key';
// Distinctive ids, so a search of every byte stored finds them only where they are.
const PERSON = { userId: 'pat-5c1e9d', device: 'pat-device-77a0f3' };
const OTHERS = ['olga-2b7c', 'sam-91de'];
/** Someone who arrives during the deletion: their events go on being stored. */
const NEWCOMER = 'newcomer-4e2a';
const PERSON_EVENTS = 10_000;

const TRACK = `mutation($events: [TrackEventInput!]!) { trackEvents(events: $events) { accepted results { status } } }`;
const DELETE = `mutation($id: ID!) { deleteUser(id: $id) { id subjectIds status } }`;
const REQUEST = `query($id: ID!) { deletionRequest(id: $id) { status completedAt steps { store status removed detail } } }`;
const USER = `query($id: ID!) { user(id: $id) { personId eventCount } }`;
const COUNTS = `query($from: DateTimeISO!, $to: DateTimeISO!) {
  eventCounts(from: $from, to: $to, granularity: DAY, identity: RAW_ID) { event count users }
}`;
const FAILED = `query($from: DateTimeISO!, $to: DateTimeISO!) { failedEvents(from: $from, to: $to, limit: 1000) { messageId payload } }`;

interface Answer<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** Every byte the lake holds, file by file, as text (gzip NDJSON unzipped; Parquet as its bytes). */
async function lakeTexts(dataDir: string): Promise<Map<string, string>> {
  const root = path.join(dataDir, 'lake');
  const texts = new Map<string, string>();
  for (const file of await readdir(root, { recursive: true })) {
    if (!/\.(parquet|json\.gz)$/.test(file)) continue;
    const bytes = await readFile(path.join(root, file));
    texts.set(file, file.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('latin1'));
  }
  return texts;
}

describe('deleteUser on the embedded stack', () => {
  let dataDir: string;
  let stack: LocalStack;
  const t0 = Date.now() - 2 * 3_600_000;
  let n = 0;
  const at = () => new Date(t0 + ++n * 100).toISOString();

  const post = async <T>(query: string, variables: Record<string, unknown>, key = API_KEY) => {
    const response = await fetch(stack.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as Answer<T>;
  };
  const track = async (events: Array<Record<string, unknown>>) => {
    const answer = await post<{ trackEvents: { results: Array<{ status: string }> } }>(
      TRACK,
      { events: events.map((e) => ({ timestamp: at(), ...e })) },
      WRITE_KEY,
    );
    expect(answer.errors).toBeUndefined();
    return answer.data?.trackEvents.results.map((r) => r.status) ?? [];
  };
  const segmentBatch = async (batch: Array<Record<string, unknown>>) => {
    const response = await fetch(`${stack.url}/v1/batch`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
      },
      body: JSON.stringify({ batch }),
    });
    expect(response.status).toBe(200);
  };
  const range = () => ({
    from: new Date(t0 - 86_400_000).toISOString(),
    to: new Date(Date.now() + 86_400_000).toISOString(),
  });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-deletion-'));
    stack = await startLocalStack(
      testConfig(dataDir, API_KEY, {
        TRIBUTARY_WRITE_KEY: WRITE_KEY,
        TRIBUTARY_LAKE_FLUSH_INTERVAL_MS: '50',
      }),
    );
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('erases a person from every store, leaves everyone else as they were, and suppresses their new events', async () => {
    // The person browses anonymously, signs in, and goes on through GraphQL and the Segment API,
    // some events invalid; the others do the same, in the same lake files.
    const others = (k: number) =>
      OTHERS.map((userId) => ({
        event: 'product_viewed',
        userId,
        properties: { product_id: `sku-${k % 7}` },
      }));
    await track([{ event: 'page_viewed', anonymousId: PERSON.device }, ...others(0)]);
    await track([
      { event: 'identify', userId: PERSON.userId, anonymousId: PERSON.device, properties: { plan: 'pro' } },
    ]);
    for (let sent = 0; sent < PERSON_EVENTS; sent += 100) {
      await track([
        ...Array.from({ length: 98 }, (_, i) => ({
          event: 'product_viewed',
          userId: PERSON.userId,
          anonymousId: PERSON.device,
          properties: { product_id: `sku-${(sent + i) % 23}` },
        })),
        ...others(sent),
      ]);
    }
    // Invalid: product_viewed needs a product_id; it lands in failed events.
    await track([{ event: 'product_viewed', userId: PERSON.userId, properties: { colour: 'red' } }]);
    await segmentBatch([
      { type: 'track', event: 'Product Viewed', userId: PERSON.userId, properties: { product_id: 'sku-1' } },
      { type: 'page', anonymousId: PERSON.device, name: 'home' },
      { type: 'track', event: 'Product Viewed', userId: OTHERS[0], properties: { product_id: 'sku-2' } },
    ]);
    await stack.settle();

    const lakeBefore = await lakeTexts(dataDir);
    const othersRows = async () =>
      (await readLakeEvents(dataDir))
        .filter((e) => e.userId !== PERSON.userId && e.anonymousId !== PERSON.device && e.userId !== NEWCOMER)
        .map((e) => JSON.stringify(e))
        .sort();
    const othersBefore = await othersRows();
    const countsOf = async () => (await post<{ eventCounts: unknown[] }>(COUNTS, range())).data?.eventCounts;
    // A page view, the identify, 98 views a round, and two Segment calls; the invalid view failed.
    expect(
      (await post<{ user: { eventCount: number } }>(USER, { id: PERSON.device })).data?.user?.eventCount,
    ).toBe(2 + (PERSON_EVENTS / 100) * 98 + 2);
    const othersUsers = await Promise.all(OTHERS.map((id) => post(USER, { id })));
    expect([...lakeBefore.values()].some((text) => text.includes(PERSON.userId))).toBe(true);

    const started = Date.now();
    const asked = await post<{ deleteUser: { id: string; subjectIds: string[] } }>(DELETE, {
      id: PERSON.device,
    });
    expect(asked.errors).toBeUndefined();
    expect(asked.data?.deleteUser.subjectIds.sort()).toEqual([PERSON.device, PERSON.userId].sort());
    // New events of the person are dropped from the answer on; the others' are not.
    expect(
      await track([
        { event: 'page_viewed', userId: PERSON.userId },
        { event: 'page_viewed', userId: NEWCOMER },
      ]),
    ).toEqual(['SUPPRESSED', 'ACCEPTED']);

    let status = '';
    let steps: unknown;
    while (Date.now() - started < 60_000) {
      const request = await post<{ deletionRequest: { status: string; steps: unknown } }>(REQUEST, {
        id: asked.data?.deleteUser.id,
      });
      status = request.data?.deletionRequest.status ?? '';
      steps = request.data?.deletionRequest.steps;
      if (status === 'COMPLETED') break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect({ status, steps }).toMatchObject({ status: 'COMPLETED' });
    await stack.settle();

    // No trace left: the hot tier (every item), the lake (every byte of every file), the warehouse,
    // failed events.
    const doc = createDynamoDbDocumentClient({
      aws: { region: 'us-east-1', dynamodbEndpoint: stack.dynamodbEndpoint },
    });
    try {
      const items = (await doc.send(new ScanCommand({ TableName: 'tributary-hot' }))).Items ?? [];
      const traces = items.filter((item) => {
        const text = JSON.stringify(item);
        // The deletion request and the suppression keep the ids on purpose (docs/privacy.md).
        return (
          (text.includes('pat-') || text.includes(PERSON.device)) &&
          !/^(DELETION|SUPPRESS)/.test(String(item.pk))
        );
      });
      expect(traces).toEqual([]);
    } finally {
      doc.destroy();
    }
    const lakeAfter = await lakeTexts(dataDir);
    for (const [file, text] of lakeAfter) {
      expect({ file, hasPerson: text.includes(PERSON.userId) || text.includes(PERSON.device) }).toEqual({
        file,
        hasPerson: false,
      });
    }
    // Files that never held the person are the same bytes; the others' rows are all still there.
    for (const [file, text] of lakeBefore) {
      if (!text.includes(PERSON.userId) && !text.includes(PERSON.device))
        expect(lakeAfter.get(file)).toBe(text);
    }
    expect(await othersRows()).toEqual(othersBefore);
    const personRows = (await readLakeEvents(dataDir)).filter(
      (e) => e.userId === PERSON.userId || e.anonymousId === PERSON.device,
    );
    expect(personRows).toEqual([]);
    expect((await post(USER, { id: PERSON.userId })).data).toEqual({ user: null });
    expect((await post(USER, { id: PERSON.device })).data).toEqual({ user: null });
    expect(await Promise.all(OTHERS.map((id) => post(USER, { id })))).toEqual(othersUsers);
    const failed = await post<{ failedEvents: Array<{ payload: string }> }>(FAILED, range());
    expect(failed.data?.failedEvents.filter((f) => f.payload.includes('pat-'))).toEqual([]);
    const counts = (await countsOf()) as Array<{ event: string; count: number; users: number }>;
    const viewed = counts.find((c) => c.event === 'product_viewed');
    // The others' views only: 2 people a round and before the rounds, and Olga's Segment view.
    expect(viewed).toMatchObject({
      count: OTHERS.length * (PERSON_EVENTS / 100 + 1) + 1,
      users: OTHERS.length,
    });
  });
});

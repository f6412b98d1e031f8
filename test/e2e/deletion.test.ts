import 'reflect-metadata';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient, createKinesisClient } from '../../src/aws/clients';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { batchPut } from '../../src/sinks/hot-tier/dynamodb/dynamodb-batch';
import { messageClaimKey } from '../../src/sinks/hot-tier/dynamodb/hot-store-keys';
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
/**
 * trackEvents calls of 98 of the person's views and one of each other's. Few: the edge's dedupe
 * claims them one conditional put each, which the emulated table takes slowly; the direct
 * producer brings the bulk.
 */
const ROUNDS = 5;
/** Hours before now that a direct producer's records were received in: each its own lake files. */
const DIRECT_HOURS = [5, 4, 3, 2];
/** The person's views a direct producer puts on the stream per hour; the others send one in 100 each. */
const DIRECT_PER_HOUR = 2_400;
/** The person's valid events: a page view, the identify, the rounds, two Segment calls, the direct ones. */
const PERSON_EVENTS = 2 + ROUNDS * 98 + 2 + DIRECT_HOURS.length * DIRECT_PER_HOUR;

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

/** Every item of the hot table, page by page. */
async function hotItems(dynamodbEndpoint: string): Promise<Array<Record<string, unknown>>> {
  const doc = createDynamoDbDocumentClient({ aws: { region: 'us-east-1', dynamodbEndpoint } });
  try {
    const items: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new ScanCommand({ TableName: 'tributary-hot', ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  } finally {
    doc.destroy();
  }
}

/**
 * Claims of messageIds as the hot tier wrote them before its profiles remembered their own
 * (`MSG#<messageId>` / `HOT`, kept a week): a table upgraded within that week still holds some.
 */
async function putLegacyClaims(dynamodbEndpoint: string, messageIds: readonly string[]): Promise<void> {
  const doc = createDynamoDbDocumentClient({ aws: { region: 'us-east-1', dynamodbEndpoint } });
  try {
    const ttl = Math.floor(Date.now() / 1000) + 7 * 86_400;
    const claims = messageIds.map((id) => ({ ...messageClaimKey(id), owner: 'shardId-000000000000/1', ttl }));
    await batchPut(doc, 'tributary-hot', claims, { attempts: 5, baseDelayMs: 10 });
  } finally {
    doc.destroy();
  }
}

/** The messageId markers among `items`, as `<messageId> <DEDUPE|HOT>`. */
const markersOf = (items: ReadonlyArray<Record<string, unknown>>): string[] =>
  items
    .filter((item) => String(item.pk).startsWith('MSG#'))
    .map((item) => `${String(item.pk).slice('MSG#'.length)} ${String(item.sk)}`);

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
  /**
   * Records a direct producer puts on the stream, received hours ago (as after an outage): the
   * person's, some invalid, and the others', in lake files of their own hours.
   */
  const putDirect = async (thisHour: number) => {
    const kinesis = createKinesisClient({
      aws: { region: 'us-east-1', kinesisEndpoint: stack.kinesisEndpoint },
    });
    try {
      for (const hoursAgo of DIRECT_HOURS) {
        // A minute into the hour, a second apart: all within the hour.
        const receivedAt = (i: number) =>
          new Date(thisHour - hoursAgo * 3_600_000 + 60_000 + i * 1000).toISOString();
        const viewed = (userId: string, i: number, properties: Record<string, unknown>) => ({
          messageId: `direct-${userId}-${hoursAgo}-${i}`,
          event: 'product_viewed',
          userId,
          timestamp: receivedAt(i),
          receivedAt: receivedAt(i),
          properties,
        });
        const records = Array.from({ length: DIRECT_PER_HOUR }, (_, i) => [
          viewed(PERSON.userId, i, { product_id: `sku-${i % 5}` }),
          ...(i % 100 === 0 ? OTHERS.map((userId) => viewed(userId, i, { product_id: 'sku-3' })) : []),
        ]).flat();
        // Invalid: product_viewed needs a product_id.
        records.push(viewed(PERSON.userId, DIRECT_PER_HOUR, { colour: 'blue' }));
        // PutRecords takes 500 at most.
        for (let start = 0; start < records.length; start += 500) {
          const put = await kinesis.send(
            new PutRecordsCommand({
              StreamName: 'tributary-events',
              Records: records.slice(start, start + 500).map((record) => ({
                PartitionKey: record.userId,
                Data: Buffer.from(JSON.stringify(record)),
              })),
            }),
          );
          expect(put.FailedRecordCount ?? 0).toBe(0);
        }
      }
    } finally {
      kinesis.destroy();
    }
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
        // The edge's dedupe markers are a store the deletion erases too.
        TRIBUTARY_EDGE_DEDUPE: 'on',
      }),
    );
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('erases a person from every store, leaves everyone else as they were, and suppresses their new events', async () => {
    const thisHour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    // The person browses anonymously, signs in, and goes on through GraphQL and the Segment API,
    // some events invalid; the others do the same, in the same lake files. Most of their events
    // come from a direct producer, received in earlier hours (putDirect).
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
    for (let sent = 0; sent < ROUNDS * 100; sent += 100) {
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
    await putDirect(thisHour);
    await stack.settle();

    const lakeBefore = await lakeTexts(dataDir);
    const othersRows = async () =>
      (await readLakeEvents(dataDir))
        .filter((e) => e.userId !== PERSON.userId && e.anonymousId !== PERSON.device && e.userId !== NEWCOMER)
        .map((e) => JSON.stringify(e))
        .sort();
    const othersBefore = await othersRows();
    const countsOf = async () => (await post<{ eventCounts: unknown[] }>(COUNTS, range())).data?.eventCounts;
    // A page view, the identify, 98 views a round, two Segment calls and the direct producer's
    // views; the invalid views failed.
    expect(
      (await post<{ user: { eventCount: number } }>(USER, { id: PERSON.device })).data?.user?.eventCount,
    ).toBe(PERSON_EVENTS);
    const othersUsers = await Promise.all(OTHERS.map((id) => post(USER, { id })));
    // The person is in the lake files of the direct producer's hours too, events and failed events.
    for (const hoursAgo of DIRECT_HOURS) {
      const at = new Date(thisHour - hoursAgo * 3_600_000).toISOString();
      const partition = `day=${at.slice(8, 10)}/hour=${at.slice(11, 13)}`;
      for (const kind of ['events', 'failed']) {
        const files = [...lakeBefore].filter(
          ([file, text]) => file.startsWith(kind) && file.includes(partition) && text.includes(PERSON.userId),
        );
        expect({ kind, partition, files: files.length > 0 }).toEqual({ kind, partition, files: true });
      }
    }

    // The messageIds of the person's events and failed events, and the markers kept for them: the
    // edge's for what came through the API, and claims left from before the hot tier's profiles
    // remembered their messageIds, here for the direct producer's events (and one of someone else's).
    const personMessageIds = new Set([
      ...(await readLakeEvents(dataDir))
        .filter((e) => e.userId === PERSON.userId || e.anonymousId === PERSON.device)
        .map((e) => e.messageId),
      ...(
        (await post<{ failedEvents: Array<{ messageId: string | null; payload: string }> }>(FAILED, range()))
          .data?.failedEvents ?? []
      )
        .filter((f) => f.payload.includes('pat-') && f.messageId !== null)
        .map((f) => f.messageId as string),
    ]);
    const isPersonMarker = (marker: string) => personMessageIds.has(marker.slice(0, marker.lastIndexOf(' ')));
    // The hot tier itself writes no claim any more.
    expect(markersOf(await hotItems(stack.dynamodbEndpoint)).filter((m) => m.endsWith(' HOT'))).toEqual([]);
    const legacyClaims = [...personMessageIds].filter((id) => id.startsWith('direct-'));
    expect(legacyClaims.length).toBeGreaterThanOrEqual(DIRECT_HOURS.length * DIRECT_PER_HOUR);
    await putLegacyClaims(stack.dynamodbEndpoint, [...legacyClaims, 'someone-elses-message']);
    const markersBefore = markersOf(await hotItems(stack.dynamodbEndpoint));
    const personMarkers = markersBefore.filter(isPersonMarker);
    expect(personMarkers.filter((m) => m.endsWith(' DEDUPE')).length).toBeGreaterThanOrEqual(2 + ROUNDS * 98);
    expect(personMarkers.filter((m) => m.endsWith(' HOT'))).toHaveLength(legacyClaims.length);

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

    // No trace left: the hot tier (every item) with the edge's dedupe markers, the lake (every
    // byte of every file), the warehouse, failed events.
    const items = await hotItems(stack.dynamodbEndpoint);
    const traces = items.filter((item) => {
      const text = JSON.stringify(item);
      // The deletion request and the suppression keep the ids on purpose (docs/privacy.md).
      return (
        (text.includes('pat-') || text.includes(PERSON.device)) &&
        !/^(DELETION|SUPPRESS)/.test(String(item.pk))
      );
    });
    expect(traces).toEqual([]);
    const markersAfter = markersOf(items);
    expect(markersAfter.filter(isPersonMarker)).toEqual([]);
    // Everyone else's markers are all still there.
    const left = new Set(markersAfter);
    expect(markersBefore.filter((m) => !isPersonMarker(m) && !left.has(m))).toEqual([]);
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
    // Per day: the direct producer's hours may fall on the day before.
    const viewed = counts.filter((c) => c.event === 'product_viewed');
    // The others' views only: 2 people a round and before the rounds, Olga's Segment view, and
    // theirs from the direct producer.
    expect(viewed.reduce((sum, c) => sum + c.count, 0)).toBe(
      OTHERS.length * (ROUNDS + 1 + DIRECT_HOURS.length * (DIRECT_PER_HOUR / 100)) + 1,
    );
    expect(Math.max(...viewed.map((c) => c.users))).toBe(OTHERS.length);
  });
});

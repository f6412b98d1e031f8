import { promises as fsPromises } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { FailedEvent, StoredEvent } from '../../src/events/types';
import type { MessageMarkers } from '../../src/privacy/port';
import { dedupeKey } from '../../src/sinks/hot-tier/dynamodb/dynamodb-dedupe-store';
import { ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { DynamoDbMessageMarkers } from '../../src/privacy/dynamodb/dynamodb-message-markers';
import { messageClaimKey } from '../../src/sinks/hot-tier/dynamodb/hot-store-keys';
import { LakeEraseError } from '../../src/sinks/lake/errors';
import { EventsParquetFormat } from '../../src/sinks/lake/file-format';
import type { LakeFileFormat } from '../../src/sinks/lake/file-format';
import { LocalLakeDelivery } from '../../src/sinks/lake/local/local-lake-delivery';
import { LocalLakeEraser } from '../../src/sinks/lake/local/local-lake-eraser';
import { MESSAGE_ID_PAGE } from '../../src/sinks/lake/person-file-eraser';
import { readLakeEvents } from '../helpers/lake-events';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';

jest.setTimeout(60_000);

const ADA = ['u-ada', 'anon-ada'];
const hour = (h: number): string => `2024-03-05T${String(h).padStart(2, '0')}:10:00.000Z`;

function event(messageId: string, h: number, ids: Partial<StoredEvent>): StoredEvent {
  return {
    messageId,
    event: 'page_viewed',
    userId: null,
    anonymousId: null,
    sessionId: 's1',
    timestamp: hour(h),
    sentAt: null,
    receivedAt: hour(h),
    source: 'graphql',
    properties: { path: '/home' },
    context: { locale: 'en-GB' },
    processorVersion: '1.0.0',
    ...ids,
  };
}

function failed(messageId: string | null, body: Record<string, unknown>, h: number): FailedEvent {
  return {
    messageId,
    failureType: 'schema_violation',
    event: null,
    errors: [{ code: 'SCHEMA_VIOLATION', path: '/properties', message: 'is not allowed' }],
    payload: JSON.stringify(body),
    payloadEncoding: 'utf8',
    schema: null,
    receivedAt: hour(h),
    processorVersion: '1.0.0',
  };
}

describe('messageId markers', () => {
  let emulators: TestEmulators;
  let table = '';
  let tables = 0;
  let dataDir: string;
  let lakeDir: string;

  beforeAll(async () => {
    emulators = await startTestEmulators('tributary-markers-');
  });

  afterAll(async () => {
    await emulators?.stop();
  });

  beforeEach(async () => {
    table = `hot-${(tables += 1)}`;
    await ensureHotTable(emulators.dynamodb, table);
    dataDir = await mkdtemp(path.join(tmpdir(), 'tributary-markers-lake-'));
    lakeDir = path.join(dataDir, 'lake');
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Both markers of each messageId, as the edge and the hot tier write them. */
  async function putMarkers(messageIds: readonly string[]): Promise<void> {
    const puts = messageIds.flatMap((id) =>
      [dedupeKey(id), messageClaimKey(id)].map((key) => ({ PutRequest: { Item: { ...key, id, ttl: 1 } } })),
    );
    for (let start = 0; start < puts.length; start += 25) {
      const output = await emulators.dynamodb.send(
        new BatchWriteCommand({ RequestItems: { [table]: puts.slice(start, start + 25) } }),
      );
      expect(output.UnprocessedItems?.[table] ?? []).toEqual([]);
    }
  }

  /** Every marker in the table, as `<messageId> <DEDUPE|HOT>`, sorted. */
  async function markersLeft(): Promise<string[]> {
    const left: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await emulators.dynamodb.send(
        new ScanCommand({ TableName: table, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? [])
        left.push(`${String(item.pk).replace(/^MSG#/, '')} ${String(item.sk)}`);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return left.sort();
  }

  const bothOf = (ids: readonly string[]): string[] =>
    ids.flatMap((id) => [`${id} DEDUPE`, `${id} HOT`]).sort();

  const markers = () => new DynamoDbMessageMarkers({ client: emulators.dynamodb, tableName: table });

  /** Markers that remember the size of every page they are given. */
  function recording(inner: MessageMarkers): MessageMarkers & { pages: number[] } {
    const pages: number[] = [];
    return {
      pages,
      erase: (ids) => {
        pages.push(ids.length);
        return inner.erase(ids);
      },
    };
  }

  async function writeFiles<T extends { receivedAt: string }>(
    prefix: 'events' | 'failed',
    groups: T[][],
    format?: LakeFileFormat,
  ): Promise<void> {
    const delivery = new LocalLakeDelivery<T>({
      rootDir: lakeDir,
      prefix,
      format,
      flushBytes: 1,
      flushIntervalMs: 60_000,
      timeOf: (record) => new Date(record.receivedAt),
    });
    try {
      for (const group of groups) expect((await delivery.deliver(group)).failed).toEqual([]);
    } finally {
      await delivery.close();
    }
  }

  describe('DynamoDbMessageMarkers (dynalite)', () => {
    it("deletes both markers of each messageId, counts what was there, and leaves other messages' markers", async () => {
      await putMarkers(['m1', 'm2', 'other']);
      // m3 has none, m1 is asked twice: neither is an error nor counted.
      expect(await markers().erase(['m1', 'm2', 'm3', 'm1'])).toBe(4);
      expect(await markersLeft()).toEqual(bothOf(['other']));
      expect(await markers().erase(['m1', 'm2', 'm3'])).toBe(0);
      expect(await markers().erase([])).toBe(0);
    });

    it('reads and deletes in batches within DynamoDB limits', async () => {
      const ids = Array.from({ length: 180 }, (_, i) => `p-${i}`);
      await putMarkers(ids);
      const send = jest.spyOn(emulators.dynamodb, 'send');
      expect(await markers().erase(ids)).toBe(360);
      expect(await markersLeft()).toEqual([]);
      const writes = send.mock.calls.flatMap(([command]) =>
        command instanceof BatchWriteCommand ? [command.input.RequestItems?.[table]?.length ?? 0] : [],
      );
      expect(writes.reduce((sum, n) => sum + n, 0)).toBe(360);
      expect(Math.max(...writes)).toBeLessThanOrEqual(25);
    });

    it('sends again what a BatchWriteItem left unprocessed', async () => {
      const ids = Array.from({ length: 20 }, (_, i) => `u-${i}`);
      await putMarkers(ids);
      const client = emulators.dynamodb;
      const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
      let leftOnce = false;
      jest.spyOn(client, 'send').mockImplementation(((command: unknown) => {
        if (!leftOnce && command instanceof BatchWriteCommand) {
          leftOnce = true;
          // DynamoDB takes the first ten deletes and hands the rest back.
          const requests = command.input.RequestItems?.[table] ?? [];
          return send(new BatchWriteCommand({ RequestItems: { [table]: requests.slice(0, 10) } })).then(
            () => ({
              UnprocessedItems: { [table]: requests.slice(10) },
            }),
          );
        }
        return send(command);
      }) as typeof client.send);
      expect(await markers().erase(ids)).toBe(40);
      expect(leftOnce).toBe(true);
      expect(await markersLeft()).toEqual([]);
    });
  });

  describe('lake erasers with markers', () => {
    /** Ada over three hours of Parquet files and one gzip NDJSON file; returns everyone's messageIds. */
    async function writeEvents(): Promise<{ hers: string[]; others: string[] }> {
      await writeFiles(
        'events',
        [
          [event('a1', 10, { userId: 'u-ada' }), event('b1', 10, { userId: 'u-bob' })],
          [event('a2', 11, { anonymousId: 'anon-ada' }), event('a3', 11, { userId: 'u-ada' })],
          [event('b2', 12, { userId: 'u-bob' })],
        ],
        new EventsParquetFormat(),
      );
      await writeFiles('events', [[event('a4', 9, { userId: 'u-ada' }), event('b3', 9, { userId: 'u-cy' })]]);
      return { hers: ['a1', 'a2', 'a3', 'a4'], others: ['b1', 'b2', 'b3'] };
    }

    it("deletes the markers of every record it removes, events and failed events, and no one else's", async () => {
      const { hers, others } = await writeEvents();
      await writeFiles('failed', [
        [
          failed('fa1', { userId: 'u-ada' }, 10),
          failed('fb1', { userId: 'u-bob' }, 10),
          // A record without a messageId has no marker to look for.
          failed(null, { anonymousId: 'anon-ada' }, 10),
        ],
      ]);
      await putMarkers([...hers, ...others, 'fa1', 'fb1']);

      const events = await new LocalLakeEraser({
        rootDir: lakeDir,
        records: 'events',
        markers: markers(),
      }).erase(ADA);
      expect(events).toMatchObject({ removed: 4, markersRemoved: 8 });
      expect(events.detail).toMatch(/, 8 messageId marker\(s\) deleted$/);
      const failedErased = await new LocalLakeEraser({
        rootDir: lakeDir,
        records: 'failed',
        markers: markers(),
      }).erase(ADA);
      expect(failedErased).toMatchObject({ removed: 2, markersRemoved: 2 });
      expect(await markersLeft()).toEqual(bothOf([...others, 'fb1']));

      const rerun = await new LocalLakeEraser({
        rootDir: lakeDir,
        records: 'events',
        markers: markers(),
      }).erase(ADA);
      expect(rerun).toMatchObject({ removed: 0, markersRemoved: 0 });
    });

    it('deletes the markers before the file is replaced, so a crash in between loses none, and the rerun finishes', async () => {
      const { others } = await writeEvents();
      await putMarkers(['a1', 'a2', 'a3', 'a4', ...others]);
      // The process dies as it renames the first rewritten file (hour 9: a4) over the old one.
      const rename = jest.spyOn(fsPromises, 'rename').mockRejectedValueOnce(new Error('power cut'));
      const eraser = () => new LocalLakeEraser({ rootDir: lakeDir, records: 'events', markers: markers() });

      const failure = await eraser()
        .erase(ADA)
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(LakeEraseError);
      expect(rename).toHaveBeenCalled();
      // The file that was not replaced still holds a4, whose markers are gone all the same.
      expect((await readLakeEvents(dataDir)).map((e) => e.messageId).sort()).toEqual(['a4', ...others]);
      expect(await markersLeft()).toEqual(bothOf(others));

      const rerun = await eraser().erase(ADA);
      expect(rerun).toMatchObject({ removed: 1, markersRemoved: 0 });
      expect((await readLakeEvents(dataDir)).map((e) => e.messageId).sort()).toEqual(others);
    });

    it('leaves a file whole when its markers cannot be deleted, and the rerun deletes both', async () => {
      const { others } = await writeEvents();
      await putMarkers(['a1', 'a2', 'a3', 'a4', ...others]);
      const real = markers();
      let calls = 0;
      const flaky: MessageMarkers = {
        erase: (ids) => {
          calls += 1;
          return calls === 2 ? Promise.reject(new Error('hot table unreachable')) : real.erase(ids);
        },
      };

      const failure = await new LocalLakeEraser({ rootDir: lakeDir, records: 'events', markers: flaky })
        .erase(ADA)
        .catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: 'LAKE_ERASE_INCOMPLETE', removed: 3 });
      // The second file (hour 10: a1) kept its records, as its markers were not deleted.
      expect((await readLakeEvents(dataDir)).map((e) => e.messageId).sort()).toEqual(['a1', ...others]);
      expect(await markersLeft()).toEqual(bothOf(['a1', ...others]));

      const rerun = await new LocalLakeEraser({ rootDir: lakeDir, records: 'events', markers: real }).erase(
        ADA,
      );
      expect(rerun).toMatchObject({ removed: 1, markersRemoved: 2 });
      expect(await markersLeft()).toEqual(bothOf(others));
    });

    it('hands the markers over a page at a time, for a person with many records in one file', async () => {
      const many = 2 * MESSAGE_ID_PAGE + 37;
      const ids = (prefix: string) => Array.from({ length: many }, (_, i) => `${prefix}-${i}`);
      await writeFiles(
        'events',
        [
          [
            ...ids('pq').map((id) => event(id, 10, { userId: 'u-ada' })),
            event('b1', 10, { userId: 'u-bob' }),
          ],
        ],
        new EventsParquetFormat(),
      );
      await writeFiles('events', [ids('nd').map((id) => event(id, 11, { anonymousId: 'anon-ada' }))]);
      await putMarkers([...ids('pq').slice(0, 100), ...ids('nd').slice(-100), 'b1']);
      const pages = recording(markers());

      const result = await new LocalLakeEraser({ rootDir: lakeDir, records: 'events', markers: pages }).erase(
        ADA,
      );
      expect(result).toMatchObject({ removed: 2 * many, markersRemoved: 400 });
      expect(pages.pages.reduce((sum, n) => sum + n, 0)).toBe(2 * many);
      expect(Math.max(...pages.pages)).toBe(MESSAGE_ID_PAGE);
      expect(pages.pages.length).toBe(6);
      expect(await markersLeft()).toEqual(bothOf(['b1']));
    });
  });
});

import { createHash } from 'node:crypto';
import { promises as fsPromises } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FailedEvent, StoredEvent } from '../../src/events/types';
import { LakeEraseError } from '../../src/sinks/lake/errors';
import { EventsParquetFormat } from '../../src/sinks/lake/file-format';
import type { LakeFileFormat } from '../../src/sinks/lake/file-format';
import { LocalLakeDelivery } from '../../src/sinks/lake/local/local-lake-delivery';
import { LocalLakeEraser } from '../../src/sinks/lake/local/local-lake-eraser';
import { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb/duckdb-warehouse';
import { readLakeEvents } from '../helpers/lake-events';

// DuckDB loads and Parquet rewrites take seconds on a busy machine.
jest.setTimeout(30_000);

/** Ada's ids: her userId, the anonymous id she browsed with, and one she was aliased from. */
const ADA = ['u-ada', 'anon-ada', 'anon-ada-old'];

const hour = (h: number): string => `2024-03-05T${String(h).padStart(2, '0')}:10:00.000Z`;

function event(messageId: string, h: number, ids: Partial<StoredEvent> = {}): StoredEvent {
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

function failed(
  payload: string,
  h: number,
  payloadEncoding: FailedEvent['payloadEncoding'] = 'utf8',
): FailedEvent {
  return {
    messageId: null,
    failureType: 'schema_violation',
    event: null,
    errors: [{ code: 'SCHEMA_VIOLATION', path: '/properties', message: 'is not allowed' }],
    payload,
    payloadEncoding,
    schema: null,
    receivedAt: hour(h),
    processorVersion: '1.0.0',
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Each file's SHA-256 and modification time: a file left alone keeps both. */
async function fingerprints(dir: string): Promise<Map<string, string>> {
  const prints = new Map<string, string>();
  for (const file of await filesUnder(dir)) {
    const hash = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
    prints.set(file, `${hash} ${(await stat(file)).mtimeMs}`);
  }
  return prints;
}

/** A Parquet file's columns and their types, as DuckDB reads them. */
async function parquetColumns(file: string): Promise<string[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `DESCRIBE SELECT * FROM read_parquet('${file.replace(/'/g, "''")}', hive_partitioning = false)`,
    );
    return reader.getRowObjectsJS().map((c) => `${String(c.column_name)} ${String(c.column_type)}`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function readFailed(lakeDir: string): Promise<FailedEvent[]> {
  const records: FailedEvent[] = [];
  for (const file of await filesUnder(path.join(lakeDir, 'failed'))) {
    if (path.basename(file).startsWith('.')) continue;
    const text = gunzipSync(await readFile(file)).toString('utf8');
    for (const line of text.split('\n')) if (line !== '') records.push(JSON.parse(line) as FailedEvent);
  }
  return records;
}

describe('LocalLakeEraser', () => {
  let dataDir: string;
  let lakeDir: string;

  /** Writes each group as its own file (one flush per deliver call), partitioned by receivedAt. */
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

  /**
   * Ada spread over four Parquet files in four hours and one gzip NDJSON file from before Parquet;
   * two files without her. Returns the messageIds of everyone else's events.
   */
  async function writeEvents(): Promise<string[]> {
    const groups: StoredEvent[][] = [
      // hour 10: Ada signed in, beside others
      [
        event('e1', 10, { userId: 'u-ada', anonymousId: 'anon-ada' }),
        event('e2', 10, { anonymousId: 'anon-bob' }),
        event('e3', 10, { anonymousId: 'anon-ada' }),
        event('e4', 10, { userId: 'u-cy' }),
      ],
      // hour 11: nobody of hers
      [event('e5', 11, { userId: 'u-bob', anonymousId: 'anon-bob' }), event('e6', 11, { userId: 'u-cy' })],
      // hour 12: only her
      [event('e7', 12, { anonymousId: 'anon-ada' }), event('e8', 12, { userId: 'u-ada' })],
      // hour 13: her alias (previous_id names her), and events that only mention her id elsewhere
      [
        event('e9', 13, { event: 'alias', userId: 'u-ada', properties: { previous_id: 'anon-ada-old' } }),
        event('e10', 13, { event: 'alias', userId: 'u-bob', properties: { previous_id: 'anon-bob-old' } }),
        event('e11', 13, { userId: 'u-dee', properties: { previous_id: 'anon-ada' } }),
        event('e12', 13, { userId: 'u-dee', sessionId: 'u-ada' }),
      ],
      // hour 14: nobody of hers
      [event('e13', 14, { anonymousId: 'anon-eve' })],
    ];
    await writeFiles('events', groups, new EventsParquetFormat());
    // The lake held gzip NDJSON events before Parquet; they are erased the same way.
    await writeFiles('events', [
      [
        event('e14', 9, { userId: 'u-ada' }),
        event('e15', 9, { event: 'alias', userId: 'u-bob', properties: { previous_id: 'anon-ada-old' } }),
        event('e16', 9, { userId: 'u-bob' }),
      ],
    ]);
    return ['e2', 'e4', 'e5', 'e6', 'e10', 'e11', 'e12', 'e13', 'e16'];
  }

  const messageIds = async (): Promise<string[]> =>
    (await readLakeEvents(dataDir)).map((e) => e.messageId).sort();

  const eventsEraser = () => new LocalLakeEraser({ rootDir: lakeDir, records: 'events' });

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tributary-erase-'));
    lakeDir = path.join(dataDir, 'lake');
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('removes every event naming the person from every file, leaves the others byte for byte', async () => {
    const others = await writeEvents();
    const before = await fingerprints(path.join(lakeDir, 'events'));
    expect(before.size).toBe(6);

    const eraser = eventsEraser();
    expect(eraser.store).toBe('lake-events');
    const result = await eraser.erase(ADA);

    // e1 e3 (hour 10), e7 e8 (12), e9 (13), e14 e15 (NDJSON)
    expect(result).toMatchObject({ removed: 7, filesScanned: 6, filesRewritten: 3, filesDeleted: 1 });
    expect(result.detail).toBe(
      `scanned 6 file(s): 3 rewritten, 1 deleted (${result.bytesRewritten} bytes before)`,
    );
    expect(await messageIds()).toEqual([...others].sort());

    const after = await fingerprints(path.join(lakeDir, 'events'));
    const untouched = [...before].filter(([file, print]) => after.get(file) === print).map(([f]) => f);
    expect(untouched.map((f) => f.match(/hour=(\d\d)/)?.[1])).toEqual(['11', '14']);
    // The rewritten files keep their names; the file holding only her is gone.
    expect([...after.keys()]).toEqual([...before.keys()].filter((f) => !f.includes('hour=12')));
    expect((await filesUnder(lakeDir)).filter((f) => path.basename(f).startsWith('.'))).toEqual([]);
  });

  it('keeps a rewritten Parquet file readable with its columns, its rows in order', async () => {
    await writeEvents();
    const [file] = (await filesUnder(path.join(lakeDir, 'events'))).filter((f) => f.includes('hour=13'));
    const columnsBefore = await parquetColumns(file!);
    const atHour13 = async () => (await readLakeEvents(dataDir)).filter((e) => e.receivedAt === hour(13));
    const rowsBefore = await atHour13();
    expect(await eventsEraser().erase(['u-dee'])).toMatchObject({ removed: 2, filesRewritten: 1 });
    expect(await parquetColumns(file!)).toEqual(columnsBefore);
    const rows = await atHour13();
    expect(rows.map((e) => e.messageId)).toEqual(['e9', 'e10']);
    expect(rows).toEqual(rowsBefore.filter((e) => e.userId !== 'u-dee'));
  });

  it('is idempotent: run again, it removes nothing and writes nothing', async () => {
    await writeEvents();
    const eraser = eventsEraser();
    expect((await eraser.erase(ADA)).removed).toBe(7);
    const before = await fingerprints(lakeDir);
    expect(await eraser.erase(ADA)).toMatchObject({ removed: 0, filesRewritten: 0, filesDeleted: 0 });
    expect(await fingerprints(lakeDir)).toEqual(before);
  });

  it('runs erasures of one folder one after another, so neither puts back what the other removed', async () => {
    await writeEvents();
    // Both rewrite the hour 10 file: Ada's e1 e3 and Bob's e2 are in it.
    const [ada, bob] = await Promise.all([
      eventsEraser().erase(ADA),
      eventsEraser().erase(['u-bob', 'anon-bob', 'anon-bob-old']),
    ]);
    expect(ada.removed).toBe(7);
    expect(bob.removed).toBe(4);
    expect(await messageIds()).toEqual(['e11', 'e12', 'e13', 'e4', 'e6']);
  });

  it('erases nothing for ids that are empty or blank', async () => {
    await writeEvents();
    const before = await fingerprints(lakeDir);
    expect(await eventsEraser().erase(['', '  '])).toMatchObject({ removed: 0, detail: 'no id to erase' });
    expect(await fingerprints(lakeDir)).toEqual(before);
  });

  it('leaves the old file whole when it fails before the rename, and a rerun finishes', async () => {
    const others = await writeEvents();
    const before = await fingerprints(path.join(lakeDir, 'events'));
    // The process dies between writing the temp file and renaming it over the old one.
    const rename = jest.spyOn(fsPromises, 'rename').mockRejectedValueOnce(new Error('power cut'));

    const failure = await eventsEraser()
      .erase(ADA)
      .catch((error: unknown) => error);
    expect(rename).toHaveBeenCalled();
    expect(failure).toBeInstanceOf(LakeEraseError);
    expect(failure).toMatchObject({ code: 'LAKE_ERASE_INCOMPLETE' });
    const renamedOver = rename.mock.calls[0]![1] as string;
    // The file the rename was to replace is the old one, byte for byte; every file is readable.
    expect((await fingerprints(path.join(lakeDir, 'events'))).get(renamedOver)).toBe(before.get(renamedOver));
    expect((await readLakeEvents(dataDir)).map((e) => e.messageId)).toContain('e14');
    expect((await filesUnder(lakeDir)).filter((f) => path.basename(f).startsWith('.'))).toEqual([]);

    const rerun = await eventsEraser().erase(ADA);
    expect(rerun.removed).toBe(2);
    expect(await messageIds()).toEqual([...others].sort());
  });

  it('removes a temp file a crash left behind, which the warehouse loader never reads', async () => {
    await writeEvents();
    const [file] = (await filesUnder(path.join(lakeDir, 'events'))).filter((f) => f.includes('hour=10'));
    const leftover = path.join(path.dirname(file!), `.${path.basename(file!)}.0a1b2c3d4e5f.erase.tmp`);
    // Half a file: what a crash in the middle of the write leaves.
    const bytes = await readFile(file!);
    await writeFile(leftover, bytes.subarray(0, bytes.length / 2));

    const warehouse = await DuckDbWarehouse.open({ databasePath: ':memory:', lakeDir });
    try {
      expect(await warehouse.loadNew()).toEqual({ files: 6, rows: 16 });
    } finally {
      await warehouse.close();
    }
    await eventsEraser().erase(ADA);
    expect(await stat(leftover).catch(() => null)).toBeNull();
  });

  it('does not let the warehouse load the person back, nor load anyone twice', async () => {
    const others = await writeEvents();
    const loadedBefore = await DuckDbWarehouse.open({ databasePath: ':memory:', lakeDir });
    const fresh = path.join(dataDir, 'fresh.duckdb');
    try {
      expect(await loadedBefore.loadNew()).toEqual({ files: 6, rows: 16 });
      await eventsEraser().erase(ADA);
      // Loaded before: the rewritten files keep their paths, which the loader has recorded.
      expect(await loadedBefore.loadNew()).toEqual({ files: 0, rows: 0 });
      expect(await loadedBefore.rowCount()).toBe(16);
    } finally {
      await loadedBefore.close();
    }
    // Not loaded yet: loaded once, without her.
    const loadedAfter = await DuckDbWarehouse.open({ databasePath: fresh, lakeDir });
    try {
      expect(await loadedAfter.loadNew()).toEqual({ files: 5, rows: others.length });
    } finally {
      await loadedAfter.close();
    }
  });

  it('removes failed events whose payload names the person, by field or, unreadable, by text', async () => {
    const payload = (body: unknown) => JSON.stringify(body);
    await writeFiles('failed', [
      [
        failed(payload({ event: 'page_viewed', userId: 'u-ada', properties: {} }), 10),
        failed(payload({ event: 'page_viewed', anonymousId: 'anon-bob', properties: {} }), 10),
        // previous_id whatever the event's name: the name may be what failed
        failed(payload({ event: 'Alias', userId: 'u-bob', properties: { previous_id: 'anon-ada' } }), 10),
        // readable, her id only in a property that names nobody
        failed(payload({ event: 'search', anonymousId: 'anon-bob', properties: { q: 'u-ada' } }), 10),
      ],
      [
        // not JSON (a cut head): her id anywhere in the text
        failed('{"event":"page_viewed","anonymousId":"anon-ada","properties":{"pad":"xxxx', 11),
        failed('{"event":"page_viewed","anonymousId":"anon-bob","properties":{"pad":"xxxx', 11),
        // not UTF-8, kept as base64 of its Latin-1 bytes
        failed(Buffer.from('\xff\xfe userId=anon-ada-old', 'latin1').toString('base64'), 11, 'base64'),
        failed(Buffer.from('\xff\xfe userId=anon-bob', 'latin1').toString('base64'), 11, 'base64'),
      ],
      [failed(payload({ event: 'page_viewed', userId: 'u-cy', properties: {} }), 12)],
    ]);
    const before = await fingerprints(path.join(lakeDir, 'failed'));
    const eraser = new LocalLakeEraser({ rootDir: lakeDir, records: 'failed' });
    expect(eraser.store).toBe('lake-failed');

    expect(await eraser.erase(ADA)).toMatchObject({ removed: 4, filesScanned: 3, filesRewritten: 2 });
    const kept = await readFailed(lakeDir);
    expect(kept.map((f) => f.payload)).toEqual([
      payload({ event: 'page_viewed', anonymousId: 'anon-bob', properties: {} }),
      payload({ event: 'search', anonymousId: 'anon-bob', properties: { q: 'u-ada' } }),
      '{"event":"page_viewed","anonymousId":"anon-bob","properties":{"pad":"xxxx',
      Buffer.from('\xff\xfe userId=anon-bob', 'latin1').toString('base64'),
      payload({ event: 'page_viewed', userId: 'u-cy', properties: {} }),
    ]);
    const after = await fingerprints(path.join(lakeDir, 'failed'));
    const untouched = [...before].filter(([file, print]) => after.get(file) === print);
    expect(untouched.map(([f]) => f.match(/hour=(\d\d)/)?.[1])).toEqual(['12']);
    expect((await eraser.erase(ADA)).removed).toBe(0);
  });

  it('scans nothing when the folder does not exist yet', async () => {
    expect(await eventsEraser().erase(ADA)).toMatchObject({ removed: 0, filesScanned: 0 });
  });
});

import { readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type { StoredEvent } from '../../src/events/types';
import { lakeEventGlueColumns } from '../../src/sinks/lake/columns';
import { EventsParquetFormat, NDJSON_GZIP } from '../../src/sinks/lake/file-format';
import {
  LocalLakeDelivery,
  hourPartition,
  lakeFileName,
} from '../../src/sinks/lake/local/local-lake-delivery';

interface Rec {
  id: string;
  receivedAt: string;
  pad?: string;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else out.push(full);
  }
  return out.sort();
}

async function readLines(file: string): Promise<Rec[]> {
  const text = gunzipSync(await readFile(file)).toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Rec);
}

describe('LocalLakeDelivery', () => {
  let root: string;
  const open: Array<LocalLakeDelivery<Rec>> = [];

  const make = (options: Partial<{ flushBytes: number; flushIntervalMs: number; prefix: string }> = {}) => {
    const delivery = new LocalLakeDelivery<Rec>({
      rootDir: root,
      prefix: options.prefix ?? 'events',
      flushBytes: options.flushBytes ?? 1024 * 1024,
      flushIntervalMs: options.flushIntervalMs ?? 60_000,
      timeOf: (record) => new Date(record.receivedAt),
    });
    open.push(delivery);
    return delivery;
  };

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tributary-lake-'));
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
    await rm(root, { recursive: true, force: true });
  });

  it('formats partitions in UTC with zero padding', () => {
    expect(hourPartition(new Date('2024-03-05T07:59:59.999Z'))).toBe('year=2024/month=03/day=05/hour=07');
    expect(hourPartition(new Date('2024-12-31T23:00:00+02:00'))).toBe('year=2024/month=12/day=31/hour=21');
  });

  it('makes file names that sort by write time and do not collide', () => {
    const t = new Date('2024-01-01T00:00:00.000Z');
    const names = Array.from({ length: 50 }, (_, i) =>
      lakeFileName('events', new Date(t.getTime() + (i % 3)), NDJSON_GZIP.extension),
    );
    const sameMs = names.filter((_, i) => i % 3 === 0);
    expect([...sameMs].sort()).toEqual(sameMs);
    expect(new Set(names).size).toBe(names.length);
    expect(lakeFileName('failed', t, NDJSON_GZIP.extension)).toMatch(
      /^failed-2024-01-01T00-00-00-000Z-[0-9a-f]{8}-[0-9a-f]{16}\.json\.gz$/,
    );
  });

  it('writes gzip NDJSON under hour partitions, one file per partition, no temp files left', async () => {
    const delivery = make({ flushIntervalMs: 20 });
    const records: Rec[] = [
      { id: 'a', receivedAt: '2024-03-05T07:10:00.000Z' },
      { id: 'b', receivedAt: '2024-03-05T08:00:00.000Z' },
      { id: 'c', receivedAt: '2024-03-05T07:59:59.999Z' },
    ];
    const result = await delivery.deliver(records);
    expect(result.failed).toEqual([]);

    const files = (await walk(root)).map((f) => path.relative(root, f).split(path.sep).join('/'));
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^events\/year=2024\/month=03\/day=05\/hour=07\/events-[^/]+\.json\.gz$/);
    expect(files[1]).toMatch(/^events\/year=2024\/month=03\/day=05\/hour=08\/events-[^/]+\.json\.gz$/);
    expect(await readLines(path.join(root, files[0]!))).toEqual([records[0], records[2]]);
    expect(await readLines(path.join(root, files[1]!))).toEqual([records[1]]);
    expect(files.some((f) => path.basename(f).startsWith('.'))).toBe(false);
  });

  it('writes events as Parquet with the lake columns when given that format, no temp files left', async () => {
    const delivery = new LocalLakeDelivery<StoredEvent>({
      rootDir: root,
      prefix: 'events',
      format: new EventsParquetFormat(),
      flushBytes: 1024 * 1024,
      flushIntervalMs: 20,
      timeOf: (record) => new Date(record.receivedAt),
    });
    const event: StoredEvent = {
      messageId: 'm1',
      event: 'page_viewed',
      userId: null,
      anonymousId: 'a1',
      sessionId: 's1',
      timestamp: '2024-03-05T07:10:00.000Z',
      sentAt: null,
      receivedAt: '2024-03-05T07:10:01.000Z',
      source: 'graphql',
      properties: { path: '/home', n: 2 },
      context: { locale: 'en-GB' },
      processorVersion: '1.0.0',
    };
    try {
      expect((await delivery.deliver([event, { ...event, messageId: 'm2' }])).failed).toEqual([]);
    } finally {
      await delivery.close();
    }
    const files = await walk(root);
    expect(files.map((f) => path.relative(root, f).split(path.sep).join('/'))).toEqual([
      expect.stringMatching(/^events\/year=2024\/month=03\/day=05\/hour=07\/events-[^/]+\.parquet$/),
    ]);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const read = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();
      const file = `'${files[0]!.replace(/'/g, "''")}'`;
      expect(
        (await read(`DESCRIBE SELECT * FROM read_parquet(${file}, hive_partitioning = false)`)).map(
          (c) => c.column_name,
        ),
      ).toEqual(lakeEventGlueColumns().map((c) => c.name));
      expect(
        await read(
          `SELECT message_id, event_time, sent_at, properties, enrichment FROM read_parquet(${file}, hive_partitioning = false)`,
        ),
      ).toEqual([
        {
          message_id: 'm1',
          event_time: event.timestamp,
          sent_at: null,
          properties: '{"path":"/home","n":2}',
          enrichment: null,
        },
        {
          message_id: 'm2',
          event_time: event.timestamp,
          sent_at: null,
          properties: '{"path":"/home","n":2}',
          enrichment: null,
        },
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('flushes on size without waiting for the timer', async () => {
    const delivery = make({ flushBytes: 200, flushIntervalMs: 60_000 });
    const big = { id: 'x', receivedAt: '2024-01-01T00:00:00.000Z', pad: 'p'.repeat(250) };
    const started = Date.now();
    const result = await delivery.deliver([big]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.failed).toEqual([]);
    const files = await walk(path.join(root, 'events'));
    expect(files).toHaveLength(1);
    expect(await readLines(files[0]!)).toEqual([big]);
  });

  it('flushes on time, and deliver resolves only once the file exists', async () => {
    const delivery = make({ flushBytes: 1024 * 1024, flushIntervalMs: 150 });
    let resolved = false;
    const pending = delivery.deliver([{ id: 'a', receivedAt: '2024-01-01T00:00:00.000Z' }]).then((r) => {
      resolved = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(resolved).toBe(false);
    expect(await walk(root)).toEqual([]);
    const second = delivery.deliver([{ id: 'b', receivedAt: '2024-01-01T00:30:00.000Z' }]);
    const [first, next] = await Promise.all([pending, second]);
    expect(first.failed).toEqual([]);
    expect(next.failed).toEqual([]);
    const files = await walk(root);
    expect(files).toHaveLength(1);
    expect((await readLines(files[0]!)).map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('close flushes what is buffered and refuses later records', async () => {
    const delivery = make({ flushIntervalMs: 60_000 });
    const pending = delivery.deliver([{ id: 'a', receivedAt: '2024-01-01T00:00:00.000Z' }]);
    await delivery.close();
    expect((await pending).failed).toEqual([]);
    expect(await walk(root)).toHaveLength(1);
    const after = await delivery.deliver([{ id: 'b', receivedAt: '2024-01-01T00:00:00.000Z' }]);
    expect(after.failed.map((f) => f.index)).toEqual([0]);
    expect(after.failed[0]?.error).toMatchObject({ name: 'LakeWriteError', code: 'DELIVERY_CLOSED' });
  });

  it('reports records with an invalid partition time as failed and delivers the rest', async () => {
    const delivery = make({ flushIntervalMs: 10 });
    const result = await delivery.deliver([
      { id: 'a', receivedAt: 'not a date' },
      { id: 'b', receivedAt: '2024-01-01T00:00:00.000Z' },
    ]);
    expect(result.failed.map((f) => f.index)).toEqual([0]);
    expect(result.failed[0]?.error).toMatchObject({ code: 'LAKE_RECORD_INVALID' });
    const files = await walk(root);
    expect((await readLines(files[0]!)).map((r) => r.id)).toEqual(['b']);
  });

  it('resolves with every index failed when the write fails', async () => {
    // A file where the prefix folder should be makes mkdir fail.
    await writeFile(path.join(root, 'failed'), 'in the way');
    const delivery = make({ prefix: 'failed', flushIntervalMs: 10 });
    const result = await delivery.deliver([
      { id: 'a', receivedAt: '2024-01-01T00:00:00.000Z' },
      { id: 'b', receivedAt: '2024-01-01T05:00:00.000Z' },
    ]);
    expect(result.failed.map((f) => f.index)).toEqual([0, 1]);
    expect(result.failed[0]?.error).toMatchObject({ name: 'LakeWriteError', code: 'LAKE_WRITE_FAILED' });
  });

  it('tells after each flush that wrote files, and not after one that wrote none', async () => {
    const told: number[] = [];
    const delivery = new LocalLakeDelivery<Rec>({
      rootDir: root,
      prefix: 'events',
      flushBytes: 1024 * 1024,
      flushIntervalMs: 10,
      timeOf: (record) => new Date(record.receivedAt),
      onFilesWritten: () =>
        told.push(readdirSync(root, { recursive: true }).filter((f) => String(f).endsWith('.gz')).length),
    });
    open.push(delivery);
    // Two partitions in one flush: one notice, once both files are there.
    await delivery.deliver([
      { id: 'a', receivedAt: '2024-01-01T00:00:00.000Z' },
      { id: 'b', receivedAt: '2024-01-01T05:00:00.000Z' },
    ]);
    await delivery.deliver([{ id: 'c', receivedAt: '2024-01-01T00:00:00.000Z' }]);
    await delivery.deliver([{ id: 'd', receivedAt: 'not a date' }]);
    await delivery.close();
    expect(told).toEqual([2, 3]);
  });

  it('keeps concurrent calls apart: each resolves with its own indices', async () => {
    const delivery = make({ flushBytes: 1024 * 1024, flushIntervalMs: 30 });
    const calls = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        delivery.deliver([{ id: `r${i}`, receivedAt: '2024-01-01T00:00:00.000Z' }]),
      ),
    );
    expect(calls.every((c) => c.failed.length === 0)).toBe(true);
    const ids = (await Promise.all((await walk(root)).map(readLines))).flat().map((r) => r.id);
    expect(ids.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`).sort());
  });
});

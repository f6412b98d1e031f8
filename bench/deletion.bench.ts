import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { StoredEvent } from '../src/events/types';
import { EVENTS_PARQUET_COPY_OPTIONS, EventsParquetFormat, sqlPath } from '../src/sinks/lake/file-format';
import { LocalLakeDelivery } from '../src/sinks/lake/local/local-lake-delivery';
import { LocalLakeEraser } from '../src/sinks/lake/local/local-lake-eraser';
import type { LakeErasureResult } from '../src/sinks/lake/person-file-eraser';
import { fmt, ratio, timed } from './harness';
import { copyIntoLake } from './lake-files';

const FILES = 100;
const EVENTS_PER_FILE = 10_000;
const USERS = 20_000;
const HOUR = 3_600_000;
const START = Date.parse('2024-05-01T00:00:00.000Z');
/** The person erased: a userId, the anonymous id linked to it, and an id an alias claimed. */
const PERSON = ['u-erased', 'a-erased', 'a-erased-old'];
/** The files holding the person's events, spread over the lake, and how many each holds. */
const PERSON_FILES = [3, 17, 29, 41, 58, 66, 80, 94];
const PERSON_EVENTS_PER_FILE = 5;
const EVENTS = ['page_viewed', 'product_viewed', 'product_added_to_cart', 'order_completed'];

function event(i: number): StoredEvent {
  const user = (i * 104_729) % USERS;
  const time = new Date(START + Math.floor((i * HOUR) / EVENTS_PER_FILE)).toISOString();
  return {
    messageId: `m-${i}`,
    event: EVENTS[i % EVENTS.length] as string,
    userId: user % 3 === 0 ? null : `u-${user}`,
    anonymousId: `a-${user}`,
    sessionId: `s-${user}`,
    timestamp: time,
    sentAt: time,
    receivedAt: time,
    source: 'graphql',
    properties: { product_id: `sku-${i % 500}`, price: 19.9 },
    context: { page: { url: 'https://shop.example/p' }, locale: 'en-GB' },
    processorVersion: 'bench',
    schemaVersion: '1-0-0',
    itemId: `sku-${i % 500}`,
    originalTimestamp: time,
    enrichment: {
      browser: 'Chrome',
      browserVersion: '126.0',
      os: 'Linux',
      osVersion: null,
      deviceType: 'desktop',
      isBot: false,
      utmSource: null,
      utmMedium: null,
      utmCampaign: null,
      utmTerm: null,
      utmContent: null,
      referrerClass: 'search',
      referrerHost: 'google.com',
      clockSkewMs: 0,
      timeFlag: null,
    },
  };
}

/** One lake file written by the local lake delivery, as the embedded stack writes them. */
async function writeTemplate(dir: string): Promise<string> {
  const delivery = new LocalLakeDelivery<StoredEvent>({
    rootDir: dir,
    prefix: 'events',
    format: new EventsParquetFormat(),
    flushBytes: 1,
    flushIntervalMs: 60_000,
    timeOf: () => new Date(START),
  });
  try {
    const { failed } = await delivery.deliver(Array.from({ length: EVENTS_PER_FILE }, (_, i) => event(i)));
    if (failed.length > 0) throw new Error(`lake write failed: ${String(failed[0]?.error)}`);
  } finally {
    await delivery.close();
  }
  const [file] = (await fs.readdir(path.join(dir, 'events'), { recursive: true })).filter((f) =>
    f.endsWith(EventsParquetFormat.extension),
  );
  if (file === undefined) throw new Error('the delivery wrote no file');
  return path.join(dir, 'events', file);
}

/**
 * The rows of a file that are the person's, every 2,000th from the 1,000th, so they sit among the
 * others: signed in (even ones), browsing anonymously (odd ones), and, in the first of the person's
 * files, an alias claiming an old anonymous id.
 */
const PERSON_ROWS = Array.from({ length: PERSON_EVENTS_PER_FILE }, (_, n) => 1_000 + 2_000 * n);
const rowsIn = (rows: number[]): string => `file_row_number IN (${rows.join(', ')})`;

/** The template's rows as file `k`: messageIds of its own and, in the person's files, the person's rows. */
function fileSelect(template: string, k: number): string {
  const replace = [`message_id || '-${k}' AS message_id`];
  if (PERSON_FILES.includes(k)) {
    const alias = k === PERSON_FILES[0] ? `file_row_number = ${PERSON_ROWS[0]}` : 'false';
    const signedIn = rowsIn(PERSON_ROWS.filter((_, n) => n % 2 === 0));
    const anonymous = rowsIn(PERSON_ROWS.filter((_, n) => n % 2 === 1));
    replace.push(
      `CASE WHEN ${alias} THEN 'alias' ELSE event END AS event`,
      `CASE WHEN ${signedIn} THEN 'u-erased' WHEN ${anonymous} THEN NULL ELSE user_id END AS user_id`,
      `CASE WHEN ${rowsIn(PERSON_ROWS)} THEN 'a-erased' ELSE anonymous_id END AS anonymous_id`,
      `CASE WHEN ${alias} THEN '{"previous_id":"a-erased-old"}' ELSE properties END AS properties`,
    );
  }
  return `SELECT * EXCLUDE (file_row_number) REPLACE (${replace.join(', ')})
    FROM read_parquet(${sqlPath(template)}, hive_partitioning = false, file_row_number = true)`;
}

/**
 * The lake: 100 files in 100 hour partitions, each the delivery's file with messageIds of its own.
 * Made from one delivered file by DuckDB: converting a million events from JSON through the delivery
 * would take most of the run, and the eraser only needs files of the lake's layout and size.
 */
async function writeLake(dir: string, lakeDir: string): Promise<void> {
  const template = await writeTemplate(path.join(dir, 'template'));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (let k = 0; k < FILES; k += 1) {
      await copyIntoLake(connection, fileSelect(template, k), lakeDir, new Date(START + k * HOUR));
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The lake's events, and those naming the person anywhere in their ids or properties. */
async function lakeCounts(lakeDir: string): Promise<{ events: number; person: number }> {
  const glob = sqlPath(path.join(lakeDir, 'events', '**', `*${EventsParquetFormat.extension}`));
  const ids = PERSON.map((id) => `'${id}'`).join(', ');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT count(*) AS events,
              count(*) FILTER (WHERE user_id IN (${ids}) OR anonymous_id IN (${ids}) OR properties LIKE '%-erased%') AS person
       FROM read_parquet(${glob}, hive_partitioning = false)`,
    );
    const [row] = reader.getRowObjectsJS();
    return { events: Number(row?.events), person: Number(row?.person) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * The floor of a rewrite: DuckDB copying one lake file whole into a new file with the lake's options,
 * fsynced and renamed, as the eraser rewrites a file without the filter (on an instance already
 * started, as the eraser's is after its scan). The median of three.
 */
async function rewriteFloor(file: string): Promise<{ ms: number; cpuMs: number }> {
  const instance = await DuckDBInstance.create(':memory:');
  const runs: Array<{ ms: number; cpuMs: number }> = [];
  try {
    for (let round = 0; round < 3; round += 1) {
      const temp = path.join(path.dirname(file), `.floor-${round}.tmp`);
      const moved = `${temp}.done`;
      runs.push(
        await timed(async () => {
          const connection = await instance.connect();
          try {
            await connection.run(
              `COPY (SELECT * FROM read_parquet(${sqlPath(file)}, hive_partitioning = false)) TO ${sqlPath(temp)} (${EVENTS_PARQUET_COPY_OPTIONS})`,
            );
          } finally {
            connection.closeSync();
          }
          const handle = await fs.open(temp, 'r+');
          await handle.sync();
          await handle.close();
          await fs.rename(temp, moved);
        }),
      );
      await fs.rm(moved, { force: true });
    }
  } finally {
    instance.closeSync();
  }
  const [, median] = runs.sort((a, b) => a.ms - b.ms);
  if (median === undefined) throw new Error('no floor run');
  return median;
}

/** Erasing one person from a local lake of 1M events in 100 Parquet files, beside rewriting one file. */
export async function deletionBenchmark(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-bench-del-'));
  const lakeDir = path.join(dir, 'lake');
  try {
    console.log(`writing ${fmt(FILES * EVENTS_PER_FILE)} events in ${FILES} Parquet files to ${lakeDir}…`);
    const written = await timed(() => writeLake(dir, lakeDir));
    const before = await lakeCounts(lakeDir);
    const personEvents = before.person;
    console.log(`written in ${fmt(written.ms / 1000, 1)} s; erasing…`);
    const eraser = new LocalLakeEraser({ rootDir: lakeDir, records: 'events' });
    const files = (await fs.readdir(path.join(lakeDir, 'events'), { recursive: true }))
      .filter((f) => f.endsWith(EventsParquetFormat.extension))
      .map((f) => path.join(lakeDir, 'events', f))
      .sort();
    const sizes = await Promise.all(files.map(async (f) => (await fs.stat(f)).size));
    const lakeBytes = sizes.reduce((sum, size) => sum + size, 0);

    // A file the person is in: the same size as the ones the erasure rewrites.
    const sample = files[PERSON_FILES[0] ?? 0];
    if (sample === undefined) throw new Error(`the lake holds ${files.length} files`);
    const sampleBytes = (await fs.stat(sample)).size;

    const scanOnly = await timed(() => eraser.erase(['u-nobody']));
    const floor = await rewriteFloor(sample);
    const erase = await timed(() => eraser.erase(PERSON));
    const rerun = await timed(() => eraser.erase(PERSON));
    if (erase.value.removed !== personEvents) {
      throw new Error(`removed ${erase.value.removed} events, the lake held ${personEvents} of the person`);
    }
    if (rerun.value.removed !== 0) throw new Error(`a rerun removed ${rerun.value.removed} events`);
    const after = await lakeCounts(lakeDir);
    if (after.person !== 0 || after.events !== before.events - personEvents) {
      throw new Error(
        `after the erasure the lake holds ${after.events} events, ${after.person} of the person`,
      );
    }

    const rewrites = erase.value.filesRewritten + erase.value.filesDeleted;
    // What the erasure cannot go below: reading the lake for the person (the scan-only run) and
    // rewriting each file that holds them.
    const floorMs = scanOnly.ms + rewrites * floor.ms;
    const row = (name: string, t: { ms: number; cpuMs: number; value: LakeErasureResult }) =>
      `| ${name} | ${fmt(t.ms)} ms | ${fmt(t.cpuMs)} ms | ${t.value.filesScanned} | ${t.value.filesRewritten + t.value.filesDeleted} | ${fmt(t.value.bytesRewritten)} | ${fmt(t.value.removed)} |`;
    return [
      `${fmt(before.events)} events in ${FILES} Parquet files (${fmt(lakeBytes / 2 ** 20, 1)} MiB, ` +
        `${fmt(lakeBytes / FILES / 1024)} KiB a file, one per hour partition; each a file the local lake ` +
        `delivery wrote, with messageIds of its own); the person has ` +
        `${personEvents} events in ${PERSON_FILES.length} files (a userId, its anonymous id, an alias's ` +
        `previous_id). CPU time is the whole process, DuckDB threads included.`,
      '',
      '| run | wall | CPU | files scanned | files rewritten | bytes rewritten | events removed |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      row('erase one person', erase),
      row('erase an id no file holds (the scan alone)', scanOnly),
      row('erase the same person again (idempotent rerun)', rerun),
      `| floor: rewrite one ${fmt(sampleBytes / 1024)} KiB file whole (copy, fsync, rename) | ${fmt(floor.ms)} ms | ${fmt(floor.cpuMs)} ms | 1 | 1 | ${fmt(sampleBytes)} | 0 |`,
      '',
      `Erasing one person took ${ratio(erase.ms, floor.ms)} the time to rewrite one file, and ` +
        `${ratio(erase.ms, floorMs)} the scan plus ${rewrites} rewrites measured apart ` +
        `(${fmt(scanOnly.ms)} ms + ${rewrites} × ${fmt(floor.ms)} ms).`,
    ].join('\n');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

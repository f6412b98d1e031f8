import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FailedEvent, StoredEvent } from '../../src/events/types';
import { EventsParquetFormat } from '../../src/sinks/lake/file-format';
import type { DuckDbWarehouse } from '../../src/sinks/warehouse/duckdb/duckdb-warehouse';
import type { IdentityMode } from '../../src/sinks/warehouse/port';

/** An event at `at` (ISO time), received a second later unless said otherwise (`over.receivedAt`). */
export function lakeEvent(messageId: string, at: string, over: Partial<StoredEvent> = {}): StoredEvent {
  const time = Date.parse(at);
  return {
    messageId,
    event: 'page_viewed',
    userId: null,
    anonymousId: null,
    sessionId: null,
    timestamp: at,
    sentAt: null,
    receivedAt: Number.isNaN(time) ? '' : new Date(time + 1000).toISOString(),
    source: 'graphql',
    properties: {},
    context: {},
    processorVersion: 'test',
    mergesUsers: false,
    ...over,
  };
}

/** A failed event received at `receivedAt`, keeping `payload` (UTF-8 text unless said otherwise). */
export function lakeFailedEvent(
  messageId: string | null,
  payload: string,
  receivedAt: string,
  payloadEncoding: 'utf8' | 'base64' = 'utf8',
): FailedEvent {
  return {
    messageId,
    failureType: 'schema_violation',
    event: 'page_viewed',
    errors: [{ code: 'required', path: '/properties/path', message: 'must have path' }],
    payload,
    payloadEncoding,
    schema: 'page_viewed/1',
    receivedAt,
    processorVersion: 'test',
  };
}

/** Writes lake files into a lake folder as the local deliveries do: Parquet events, gzip NDJSON failed events. */
export class LakeWriter {
  private files = 0;

  constructor(readonly lakeDir: string) {}

  /** One Parquet file of events, in the partition of `hour` (ISO time). */
  async events(records: readonly StoredEvent[], hour = '2024-05-01T00:00:00.000Z'): Promise<string> {
    const file = `${await this.next('events', hour)}.parquet`;
    const format = new EventsParquetFormat();
    try {
      await format.write(
        file,
        records.map((r) => JSON.stringify(r)),
        `${file}.scratch`,
      );
    } finally {
      await format.close();
    }
    return file;
  }

  /** One gzip NDJSON file of failed events, in the partition of `hour`. */
  async failed(records: readonly FailedEvent[], hour = '2024-05-01T00:00:00.000Z'): Promise<string> {
    const file = `${await this.next('failed', hour)}.json.gz`;
    await writeFile(file, gzipSync(records.map((r) => JSON.stringify(r) + '\n').join('')));
    return file;
  }

  private async next(folder: 'events' | 'failed', hour: string): Promise<string> {
    const t = new Date(hour);
    const pad = (n: number) => String(n).padStart(2, '0');
    const dir = path.join(
      this.lakeDir,
      folder,
      `year=${t.getUTCFullYear()}`,
      `month=${pad(t.getUTCMonth() + 1)}`,
      `day=${pad(t.getUTCDate())}`,
      `hour=${pad(t.getUTCHours())}`,
    );
    await mkdir(dir, { recursive: true });
    this.files += 1;
    return path.join(dir, `${folder}-${String(this.files).padStart(4, '0')}`);
  }
}

type Rows = Array<Record<string, unknown>>;

/**
 * Every table a load, an erasure or a purge writes, as rows that do not depend on the order things
 * were loaded in: user numbers are replaced by the user keys they stand for, and loaded_at dropped.
 * DuckDB lets one instance hold a database file, so the warehouse must be closed first.
 */
export async function warehouseTables(databasePath: string): Promise<Record<string, Rows>> {
  const instance = await DuckDBInstance.create(databasePath);
  const connection = await instance.connect();
  const read = async (sql: string): Promise<Rows> =>
    (await connection.runAndReadAll(sql)).getRowObjectsJS() as Rows;
  try {
    return {
      events: await read(
        `SELECT e.message_id, e.user_id, e.anonymous_id, e.user_key, e.event, CAST(e.event_time AS VARCHAR) AS t,
                n.user_key AS numbered_key
         FROM events e LEFT JOIN user_numbers n ON n.user_num = e.user_num ORDER BY e.message_id`,
      ),
      failed_events: await read('SELECT record_key, payload FROM failed_events ORDER BY record_key'),
      identity_claims: await read(
        `SELECT person, id, merges_users, CAST(received_at AS VARCHAR) AS received_at, message_id
         FROM identity_claims ORDER BY ALL`,
      ),
      user_ids: await read('SELECT user_id FROM user_ids ORDER BY ALL'),
      identities: await read(
        `SELECT i.id, i.person_id, i.kind, CAST(i.linked_at AS VARCHAR) AS linked_at, i.message_id,
                ni.user_key AS id_key, np.user_key AS person_key
         FROM identities i
         LEFT JOIN user_numbers ni ON ni.user_num = i.id_num
         LEFT JOIN user_numbers np ON np.user_num = i.person_num
         ORDER BY ALL`,
      ),
      user_numbers: await read('SELECT user_key FROM user_numbers ORDER BY ALL'),
      // A rollup row whose number no user key has any more would show as a NULL key.
      event_user_days: await read(
        `SELECT d.day_ms, d.event, n.user_key, d.user_num IS NULL AS no_user, d.events
         FROM event_user_days d LEFT JOIN user_numbers n ON n.user_num = d.user_num ORDER BY ALL`,
      ),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** What analysts see of a warehouse over [from, to): the numbers of every query, persons and ids alike. */
export async function analyticsOf(
  warehouse: DuckDbWarehouse,
  from: Date,
  to: Date,
  funnel: { steps: string[]; windowHours: number },
): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  for (const identity of ['PERSON', 'RAW_ID'] as IdentityMode[]) {
    result[`${identity} users`] = await warehouse.uniqueUsers({ from, to, identity });
    // By day and event: whole days from the rollup. By hour: from events.
    result[`${identity} daily`] = await warehouse.eventCounts({ from, to, granularity: 'DAY', identity });
    result[`${identity} hourly`] = await warehouse.eventCounts({ from, to, granularity: 'HOUR', identity });
    result[`${identity} funnel`] = await warehouse.funnel({ from, to, ...funnel, identity });
    result[`${identity} retention`] = await warehouse.retention({
      from,
      to,
      startEvent: funnel.steps[0] as string,
      returnEvent: funnel.steps[0] as string,
      period: 'DAY',
      identity,
    });
  }
  result.failed = await warehouse.failedEvents({ from, to, limit: 1000 });
  return result;
}

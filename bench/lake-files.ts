import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { EVENTS_PARQUET_COPY_OPTIONS, EventsParquetFormat, sqlPath } from '../src/sinks/lake/file-format';
import { hourPartition, lakeFileName } from '../src/sinks/lake/local/local-lake-delivery';

/** The folder of the lake's event files that arrived in `arrival`'s hour, as the delivery lays them out. */
export const eventsHourFolder = (lakeDir: string, arrival: Date): string =>
  path.join(lakeDir, 'events', ...hourPartition(arrival).split('/'));

/**
 * Writes what `select` returns as one event file of the lake, in `arrival`'s hour partition and
 * named as the delivery names its files, with the delivery's Parquet options: how a benchmark
 * multiplies a file the delivery wrote without converting every event from JSON again.
 */
export async function copyIntoLake(
  connection: DuckDBConnection,
  select: string,
  lakeDir: string,
  arrival: Date,
): Promise<void> {
  const folder = eventsHourFolder(lakeDir, arrival);
  await fs.mkdir(folder, { recursive: true });
  const file = path.join(folder, lakeFileName('events', arrival, EventsParquetFormat.extension));
  await connection.run(`COPY (${select}) TO ${sqlPath(file)} (${EVENTS_PARQUET_COPY_OPTIONS})`);
}

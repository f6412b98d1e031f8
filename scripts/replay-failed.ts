/**
 * `npm run replay -- --from <iso> --to <iso> [--type SCHEMA_UNKNOWN] [--event name] [--url …] [--api-key …]`
 *
 * Replays failed events of a time range through the stream, after a schema fix. It asks the
 * running stack (GraphQL `replayFailedEvents`) rather than opening the warehouse itself: DuckDB
 * allows one process per database file, and in AWS the same mutation reads Redshift. Replayed
 * records keep their original messageIds, so running a replay twice never duplicates an event.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const MUTATION = `mutation($from: DateTimeISO!, $to: DateTimeISO!, $type: FailureType, $event: String) {
  replayFailedEvents(from: $from, to: $to, type: $type, event: $event) { replayed skipped notWritten truncated }
}`;

function apiKey(given: string | undefined): string {
  if (given !== undefined) return given;
  if (process.env.TRIBUTARY_API_KEY) return process.env.TRIBUTARY_API_KEY;
  const file = path.resolve(process.env.TRIBUTARY_DATA_DIR ?? '.tributary', 'api-key');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new Error(
      `no API key: pass --api-key, set TRIBUTARY_API_KEY, or run from the folder holding ${file}`,
    );
  }
}

function isoDate(name: string, value: string | undefined): string {
  if (value === undefined || Number.isNaN(Date.parse(value)))
    throw new Error(`--${name} must be an ISO 8601 date-time`);
  return new Date(value).toISOString();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      type: { type: 'string' },
      event: { type: 'string' },
      url: { type: 'string' },
      'api-key': { type: 'string' },
    },
  });
  const url = values.url ?? `http://127.0.0.1:${process.env.PORT ?? '4000'}/graphql`;
  const variables = {
    from: isoDate('from', values.from),
    to: isoDate('to', values.to),
    type: values.type?.toUpperCase(),
    event: values.event,
  };
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey(values['api-key']) },
    body: JSON.stringify({ query: MUTATION, variables }),
  });
  const body = (await response.json()) as {
    data?: {
      replayFailedEvents: { replayed: number; skipped: number; notWritten: number; truncated: boolean };
    };
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
  if (body.errors?.length || !body.data) {
    throw new Error(
      body.errors?.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('\n') ?? 'no answer',
    );
  }
  const result = body.data.replayFailedEvents;
  console.log(
    `replayed ${result.replayed}, skipped ${result.skipped} (not replayable), not written ${result.notWritten}` +
      (result.truncated ? ' — the range holds more: run the replay again' : ''),
  );
  if (result.notWritten > 0) process.exitCode = 2;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

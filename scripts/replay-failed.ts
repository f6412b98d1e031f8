/**
 * `npm run replay -- --from <iso> --to <iso> [--type SCHEMA_UNKNOWN] [--event name] [--url …] [--api-key …]`
 *
 * Replays failed events of a time range through the stream, after a schema fix. It asks the
 * running stack (GraphQL `replayFailedEvents`) rather than opening the warehouse itself: DuckDB
 * allows one process per database file, and in AWS the same mutation reads Redshift. Replayed
 * records keep their original messageIds, so running a replay twice never duplicates an event.
 */
import { parseArgs } from 'node:util';
import { requireApiKey } from './lib/api-key';
import { callApi, defaultGraphqlUrl } from './lib/graphql';

const MUTATION = `mutation($from: DateTimeISO!, $to: DateTimeISO!, $type: FailureType, $event: String) {
  replayFailedEvents(from: $from, to: $to, type: $type, event: $event) { replayed skipped notWritten truncated }
}`;

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
  const url = values.url ?? defaultGraphqlUrl();
  const variables = {
    from: isoDate('from', values.from),
    to: isoDate('to', values.to),
    type: values.type?.toUpperCase(),
    event: values.event,
  };
  const data = await callApi<{
    replayFailedEvents: { replayed: number; skipped: number; notWritten: number; truncated: boolean };
  }>(url, await requireApiKey(values['api-key']), MUTATION, variables);
  const result = data.replayFailedEvents;
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

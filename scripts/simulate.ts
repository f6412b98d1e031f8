import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import { findApiKey } from './lib/api-key';
import { SimulationError } from './simulation/errors';
import { generateTraffic } from './simulation/generate';
import { sendEvents } from './simulation/send';

const USAGE = `Sends simulated e-commerce traffic through the GraphQL API.

usage: npm run simulate -- --users N --events M [options]

  --users N          shoppers (required)
  --events M         events in total (required)
  --url URL          GraphQL endpoint (default http://127.0.0.1:4000/graphql)
  --api-key KEY      x-api-key (default $TRIBUTARY_API_KEY, else the key npm start keeps in
                     $TRIBUTARY_DATA_DIR/api-key, .tributary/api-key by default)
  --seed S           same seed, same traffic and messageIds (default: random, printed)
  --items K          catalogue size (default 500)
  --hours H          event times spread over the last H hours (default 24)
  --anonymous-share F
                     share (0 to 1) of shoppers with an account who browse anonymously under
                     a device id, then sign in partway through a later visit (default 0)
  --batch B          events per trackEvents call (default 100, at most 500)
  --concurrency C    calls in flight (default 4)`;

function integer(name: string, raw: string | undefined, fallback?: number): number {
  if (raw === undefined) {
    if (fallback === undefined)
      throw new SimulationError(`--${name} is required`, 'SIMULATION_OPTIONS_INVALID');
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) {
    throw new SimulationError(`--${name} must be an integer, got "${raw}"`, 'SIMULATION_OPTIONS_INVALID');
  }
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string' },
      events: { type: 'string' },
      url: { type: 'string', default: 'http://127.0.0.1:4000/graphql' },
      'api-key': { type: 'string' },
      seed: { type: 'string' },
      items: { type: 'string' },
      hours: { type: 'string' },
      'anonymous-share': { type: 'string' },
      batch: { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const seed = integer('seed', values.seed, Math.floor(Math.random() * 2 ** 31));
  const simulation = generateTraffic({
    users: integer('users', values.users),
    events: integer('events', values.events),
    items: integer('items', values.items, 500),
    seed,
    end: Date.now(),
    spanMs: integer('hours', values.hours, 24) * 3_600_000,
    anonymousShare: Number(values['anonymous-share'] ?? 0),
  });

  const bar = new SingleBar(
    {
      format: 'sending  [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left',
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(simulation.events.length, 0);
  let summary;
  try {
    summary = await sendEvents(simulation.events, {
      url: values.url,
      apiKey: await findApiKey(values['api-key']),
      batchSize: integer('batch', values.batch, 100),
      concurrency: integer('concurrency', values.concurrency, 4),
      onProgress: (n) => bar.increment(n),
    });
  } finally {
    bar.stop();
  }

  const seconds = summary.elapsedMs / 1000;
  const rows: Array<[string, string]> = [
    ['seed', String(seed)],
    ['events sent', String(summary.sent)],
    ['accepted', String(summary.accepted)],
    ['duplicates', `${summary.duplicates}${summary.duplicates > 0 ? ' (already sent with this seed)' : ''}`],
    ['rejected', String(summary.rejected)],
    ['events/s', (summary.sent / Math.max(seconds, 0.001)).toFixed(0)],
    ['sessions', String(simulation.sessions)],
    ['purchases (orders)', String(simulation.purchases)],
    ['planted pairs', simulation.plantedPairs.map(([a, b]) => `${a}+${b}`).join(' ') || 'none'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'));
  for (const reason of summary.rejections) console.log(`  rejected ${reason}`);
  if (summary.rejected > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof SimulationError ? `${error.code}: ${error.message}` : error);
  process.exit(1);
});

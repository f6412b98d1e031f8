import { parseArgs } from 'node:util';
import { stageConfig } from '../infra/config';
import { CostModelError } from '../infra/cost/errors';
import { formatEstimate } from '../infra/cost/format';
import { estimateMonthlyCost } from '../infra/cost/model';
import { DEFAULT_PRICE_TABLE, loadPriceTable } from '../infra/cost/price-table';

const USAGE = `Usage: npm run cost -- --events-per-day N --event-bytes B [--events-per-request K] [--stage prod|dev] [--prices file.json]

Prints the estimated monthly AWS cost per service for one stage at a steady event rate,
from the price table (default ${DEFAULT_PRICE_TABLE}) and the stage settings in infra/config.ts.`;

function positive(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (raw === undefined || !Number.isFinite(value) || value <= 0) {
    throw new CostModelError(`--${name} must be a positive number, got "${raw ?? ''}"`, 'INPUT_INVALID');
  }
  return value;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      'events-per-day': { type: 'string' },
      'event-bytes': { type: 'string' },
      'events-per-request': { type: 'string' },
      stage: { type: 'string', default: 'prod' },
      prices: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const eventsPerDay = positive('events-per-day', values['events-per-day']);
  const eventBytes = positive('event-bytes', values['event-bytes']);
  const table = loadPriceTable(values.prices ?? DEFAULT_PRICE_TABLE);
  const estimate = estimateMonthlyCost(
    {
      eventsPerDay,
      eventBytes,
      overrides:
        values['events-per-request'] === undefined
          ? undefined
          : { eventsPerRequest: positive('events-per-request', values['events-per-request']) },
    },
    table,
    stageConfig(values.stage),
  );
  console.log(formatEstimate(estimate, table, { eventsPerDay, eventBytes }));
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  console.error(USAGE);
  process.exit(2);
}

import { parseArgs } from 'node:util';
import {
  STAGES,
  WAREHOUSE_ENGINES,
  type WarehouseEngine,
  stageConfig,
  withWarehouseEngine,
} from '../infra/config';
import { CostModelError } from '../infra/cost/errors';
import { formatEstimate, formatSummary } from '../infra/cost/format';
import { estimateMonthlyCost, estimateSummary } from '../infra/cost/model';
import { DEFAULT_PRICE_TABLE, loadPriceTable } from '../infra/cost/price-table';

const USAGE = `Usage: npm run cost [-- --event-bytes B --events-per-request K --profiles-per-request P --stage prod|dev]
       npm run cost -- --events-per-day N --event-bytes B [--events-per-request K] [--profiles-per-request P] [--stage prod|dev] [--engine athena|redshift] [--prices file.json]

Without --events-per-day: the monthly cost of each stage on each warehouse engine at the idle floor
(0 events a day) and at 10k, 1M and 10M events a day (events of 1000 bytes, 20 per request unless told).
With it: the estimated monthly AWS cost per service and line item for one stage at that steady rate
(0 for the idle floor), from the price table (default ${DEFAULT_PRICE_TABLE}) and the stage settings
in infra/config.ts; --engine prices the stage on the other warehouse engine. A request carries the
events of --profiles-per-request visitors (1 unless told: a client library sends its own visitor's;
a server relaying many users' events sends about as many as events).`;

function number(name: string, raw: string | undefined, { zero = false } = {}): number {
  const value = Number(raw);
  if (raw === undefined || raw === '' || !Number.isFinite(value) || value < 0 || (!zero && value === 0)) {
    throw new CostModelError(
      `--${name} must be a ${zero ? 'non-negative' : 'positive'} number, got "${raw ?? ''}"`,
      'INPUT_INVALID',
    );
  }
  return value;
}

/** A flag's number, or undefined when it is not given (the price table's value then stands). */
function optionalNumber(name: string, raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : number(name, raw);
}

function engineOption(raw: string | undefined): WarehouseEngine | undefined {
  if (raw === undefined) return undefined;
  if (!(WAREHOUSE_ENGINES as readonly string[]).includes(raw)) {
    throw new CostModelError(
      `--engine must be one of ${WAREHOUSE_ENGINES.join(', ')}, got "${raw}"`,
      'INPUT_INVALID',
    );
  }
  return raw as WarehouseEngine;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      'events-per-day': { type: 'string' },
      'event-bytes': { type: 'string' },
      'events-per-request': { type: 'string' },
      'profiles-per-request': { type: 'string' },
      stage: { type: 'string' },
      engine: { type: 'string' },
      prices: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const table = loadPriceTable(values.prices ?? DEFAULT_PRICE_TABLE);
  const profilesPerRequest = optionalNumber('profiles-per-request', values['profiles-per-request']);
  if (values['events-per-day'] === undefined) {
    const eventBytes = number('event-bytes', values['event-bytes'] ?? '1000');
    const eventsPerRequest = number('events-per-request', values['events-per-request'] ?? '20');
    const stages = values.stage === undefined ? Object.values(STAGES) : [stageConfig(values.stage)];
    const input = { eventBytes, eventsPerRequest, profilesPerRequest };
    console.log(formatSummary(estimateSummary(table, stages, input), table, input));
    return;
  }
  const eventsPerDay = number('events-per-day', values['events-per-day'], { zero: true });
  const eventBytes = number('event-bytes', values['event-bytes']);
  const stage = stageConfig(values.stage ?? 'prod');
  const engine = engineOption(values.engine);
  const estimate = estimateMonthlyCost(
    {
      eventsPerDay,
      eventBytes,
      overrides: {
        eventsPerRequest: optionalNumber('events-per-request', values['events-per-request']),
        profilesPerRequest,
      },
    },
    table,
    engine === undefined ? stage : withWarehouseEngine(stage, engine),
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

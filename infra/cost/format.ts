import type { PriceTable } from './price-table';
import { type CostEstimate, SERVICES } from './model';

const money = (value: number): string =>
  value >= 100 ? `$${value.toFixed(0)}` : value >= 1 ? `$${value.toFixed(2)}` : `$${value.toFixed(4)}`;
const count = (value: number): string =>
  value >= 1000 ? Math.round(value).toLocaleString('en-US') : Number(value.toPrecision(4)).toString();

/** The estimate as a markdown report: per service, line items, the assumptions and what is left out. */
export function formatEstimate(
  estimate: CostEstimate,
  table: PriceTable,
  input: { eventsPerDay: number; eventBytes: number },
): string {
  const out: string[] = [];
  out.push(
    `## ${count(input.eventsPerDay)} events a day of ${input.eventBytes} bytes (${count(estimate.eventsPerMonth)} a month)`,
    '',
    `Prices: ${table.region}, ${table.currency}, as of ${table.asOf}. ${table.units}`,
    '',
    '| service | monthly cost |',
    '| --- | ---: |',
  );
  // Services the stage does not run (the other warehouse engine) have no lines and no row.
  const billed = SERVICES.filter((service) => estimate.lines.some((line) => line.service === service));
  for (const service of billed) out.push(`| ${service} | ${money(estimate.byService[service])} |`);
  const perMillion = estimate.perMillionEvents;
  out.push(
    `| **total** | **${money(estimate.total)}** |`,
    `| **per million events** | **${perMillion === undefined ? '—' : money(perMillion)}** |`,
    '',
    '| service | item | quantity | unit | average unit price | cost |',
    '| --- | --- | ---: | --- | ---: | ---: |',
  );
  for (const line of estimate.lines) {
    out.push(
      `| ${line.service} | ${line.item} | ${count(line.quantity)} | ${line.unit} | ${line.unitPrice.toPrecision(3)} | ${money(line.cost)} |`,
    );
  }
  const { kinesis } = estimate;
  const other =
    kinesis.otherMode.mode === 'ON_DEMAND'
      ? 'on-demand'
      : `${kinesis.otherMode.shards ?? 1} provisioned shard(s), what the peak needs`;
  out.push(
    '',
    `Kinesis: the peak needs ${kinesis.shardsNeededAtPeak} shard(s); ${other} would cost ${money(kinesis.otherMode.cost)} a month instead.`,
    '',
    dynamoDbSentence(estimate.dynamoDb),
  );
  for (const warning of estimate.warnings) out.push('', `**Warning:** ${warning}.`);
  out.push('', 'Assumptions:', '');
  for (const assumption of estimate.assumptions) {
    out.push(`- \`${assumption.name}\` = ${assumption.value}: ${assumption.why}`);
  }
  out.push(`- stage settings (infra/config.ts) ${estimate.stageSettings}`, '', 'Not included:', '');
  for (const item of table.excluded) out.push(`- ${item}`);
  return out.join('\n');
}

/** The hot table's load, what auto scaling holds, and what the other capacity mode would cost. */
function dynamoDbSentence(sizing: CostEstimate['dynamoDb']): string {
  const units = (side: { read: number; write: number }) =>
    `${count(side.write)} write and ${count(side.read)} read units a second`;
  const load = `the hot table takes ${units(sizing.average)} on average, ${units(sizing.peak)} at the peak`;
  const { otherMode } = sizing;
  if (otherMode.mode === 'ON_DEMAND') {
    const held = sizing.held === undefined ? '' : `; auto scaling holds ${units(sizing.held)} on average`;
    return `DynamoDB: ${load}${held}; on-demand would cost ${money(otherMode.cost)} a month instead.`;
  }
  const compared =
    otherMode.capacity === undefined
      ? 'provisioned with auto scaling'
      : `provisioned with auto scaling at ${otherMode.capacity.targetUtilizationPercent} % (from ${otherMode.capacity.write.min} unit a side, no max)`;
  return `DynamoDB: ${load}; ${compared} would cost ${money(otherMode.cost)} a month instead.`;
}

/** One cell of the summary: a stage on one engine at one volume. */
export interface SummaryCell {
  readonly stage: string;
  readonly engine: string;
  readonly eventsPerDay: number;
  readonly total: number;
  readonly warehouse: number;
}

/** The summary as a markdown table: a row per volume, a column per stage and engine (total, and the warehouse's part). */
export function formatSummary(
  cells: readonly SummaryCell[],
  table: PriceTable,
  input: { eventBytes: number; eventsPerRequest: number; profilesPerRequest?: number },
): string {
  const visitors = input.profilesPerRequest ?? table.assumptions.profilesPerRequest.value;
  const columns = [...new Set(cells.map((cell) => `${cell.stage} · ${cell.engine}`))];
  const volumes = [...new Set(cells.map((cell) => cell.eventsPerDay))];
  const out = [
    `## Monthly cost per stage and warehouse engine (events of ${input.eventBytes} bytes, ${input.eventsPerRequest} per request from ${count(visitors)} visitor${visitors === 1 ? '' : 's'})`,
    '',
    `Prices: ${table.region}, ${table.currency}, as of ${table.asOf}. Each cell: the total, and in brackets the warehouse engine's part (Athena + Glue + its tables in S3, or Redshift Serverless).`,
    '',
    `| events a day | ${columns.join(' | ')} |`,
    `| ---: | ${columns.map(() => '---:').join(' | ')} |`,
  ];
  for (const volume of volumes) {
    const row = columns.map((column) => {
      const cell = cells.find((c) => `${c.stage} · ${c.engine}` === column && c.eventsPerDay === volume);
      return cell === undefined ? '' : `${money(cell.total)} (${money(cell.warehouse)})`;
    });
    out.push(`| ${volume === 0 ? '0 (idle floor)' : count(volume)} | ${row.join(' | ')} |`);
  }
  out.push(
    '',
    'Details and every assumption: `npm run cost -- --events-per-day N --event-bytes B [--stage dev|prod] [--engine athena|redshift]`.',
  );
  return out.join('\n');
}

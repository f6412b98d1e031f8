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
  for (const service of SERVICES) out.push(`| ${service} | ${money(estimate.byService[service])} |`);
  out.push(
    `| **total** | **${money(estimate.total)}** |`,
    `| **per million events** | **${money(estimate.perMillionEvents)}** |`,
    '',
    '| service | item | quantity | unit | average unit price | cost |',
    '| --- | --- | ---: | --- | ---: | ---: |',
  );
  for (const line of estimate.lines) {
    out.push(
      `| ${line.service} | ${line.item} | ${count(line.quantity)} | ${line.unit} | ${line.unitPrice.toPrecision(3)} | ${money(line.cost)} |`,
    );
  }
  out.push('', 'Assumptions:', '');
  for (const assumption of estimate.assumptions) {
    out.push(`- \`${assumption.name}\` = ${assumption.value}: ${assumption.why}`);
  }
  out.push(`- stage settings (infra/config.ts) ${estimate.stageSettings}`, '', 'Not included:', '');
  for (const item of table.excluded) out.push(`- ${item}`);
  return out.join('\n');
}

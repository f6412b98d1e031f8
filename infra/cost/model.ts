import type { StageConfig } from '../config';
import { GRAPHQL_MEMORY_MB } from '../constructs/ingest-api';
import { STREAM_MEMORY_MB } from '../constructs/stream-processor';
import { LOADER_MEMORY_MB } from '../constructs/warehouse';
import { CostModelError } from './errors';
import type { AssumptionName, PriceTable } from './price-table';
import { MILLION } from './pricing';
import {
  SERVICES,
  type LineItem,
  type Service,
  type Workload,
  apiGatewayCost,
  dynamoDbCost,
  firehoseCost,
  kinesisCost,
  lambdaCost,
  redshiftServerlessCost,
  s3Cost,
  workloadOf,
} from './service-costs';

export { firehoseObjectsPerMonth, lakePriceByAgeMonth, roundUp, tieredCost } from './pricing';
export { SERVICES, type LineItem, type Service } from './service-costs';

export interface CostInput {
  readonly eventsPerDay: number;
  /** Size of one event as it travels the pipeline (the record on the stream and in Firehose). */
  readonly eventBytes: number;
  /** Overrides of the price table's assumptions, e.g. from CLI flags. */
  readonly overrides?: Partial<Record<AssumptionName, number>>;
}

export interface CostEstimate {
  readonly eventsPerMonth: number;
  readonly lines: readonly LineItem[];
  readonly byService: Readonly<Record<Service, number>>;
  readonly total: number;
  readonly perMillionEvents: number;
  /** Every assumption used, with its value and reason. */
  readonly assumptions: readonly { name: string; value: number; why: string }[];
  /** The stage settings the estimate follows (buffers, batches, retention, schedule, capacity, memory). */
  readonly stageSettings: string;
}

/** Each service's line items, in the order the report lists them. */
const SERVICE_COSTS: Readonly<Record<Service, (workload: Workload) => LineItem[]>> = {
  'API Gateway': apiGatewayCost,
  Lambda: lambdaCost,
  Kinesis: kinesisCost,
  Firehose: firehoseCost,
  S3: s3Cost,
  DynamoDB: dynamoDbCost,
  'Redshift Serverless': redshiftServerlessCost,
};

function checkInput({ eventsPerDay, eventBytes }: CostInput, stage: StageConfig): void {
  if (!(Number.isFinite(eventsPerDay) && eventsPerDay > 0)) {
    throw new CostModelError(
      `events per day must be a positive number, got ${eventsPerDay}`,
      'INPUT_INVALID',
    );
  }
  if (!(Number.isFinite(eventBytes) && eventBytes > 0)) {
    throw new CostModelError(`event bytes must be a positive number, got ${eventBytes}`, 'INPUT_INVALID');
  }
  if (stage.kinesis.capacity.mode !== 'ON_DEMAND') {
    throw new CostModelError('Only on-demand Kinesis is priced by this model', 'UNSUPPORTED_CAPACITY');
  }
}

function describeStage(stage: StageConfig, pollSeconds: number): string {
  return `${stage.stage}: Firehose buffers ${stage.firehose.bufferingInterval.toSeconds()} s / ${stage.firehose.bufferingSize.toMebibytes()} MiB, stream batches of up to ${stage.batch.batchSize} every ${pollSeconds} s (parallelization ${stage.batch.parallelizationFactor}), Kinesis retention ${stage.kinesis.retention.toHours()} h, warehouse load every ${stage.warehouse.loadInterval.toMinutes()} min at ${stage.warehouse.baseCapacity} RPUs; Lambda memory graphql ${GRAPHQL_MEMORY_MB} MB, stream ${STREAM_MEMORY_MB} MB, load ${LOADER_MEMORY_MB} MB (arm64)`;
}

/** Estimated monthly cost of running one stage of Tributary at a steady event rate. */
export function estimateMonthlyCost(input: CostInput, table: PriceTable, stage: StageConfig): CostEstimate {
  checkInput(input, stage);
  const assumption = (name: AssumptionName): number =>
    input.overrides?.[name] ?? table.assumptions[name].value;
  const workload = workloadOf(input.eventsPerDay, input.eventBytes, assumption, table.prices, stage);
  const lines = SERVICES.flatMap((service) => SERVICE_COSTS[service](workload));

  const byService = Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<Service, number>;
  for (const line of lines) byService[line.service] += line.cost;
  const total = lines.reduce((sum, line) => sum + line.cost, 0);

  return {
    eventsPerMonth: workload.events,
    lines,
    byService,
    total,
    perMillionEvents: total / (workload.events / MILLION),
    assumptions: Object.entries(table.assumptions).map(([name, { value, why }]) => ({
      name,
      value: input.overrides?.[name as AssumptionName] ?? value,
      why,
    })),
    stageSettings: describeStage(stage, workload.pollSeconds),
  };
}

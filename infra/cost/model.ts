import { type StageConfig, WAREHOUSE_ENGINES, withWarehouseEngine } from '../config';
import { GRAPHQL_MEMORY_MB } from '../constructs/ingest-api';
import { STREAM_MEMORY_MB } from '../constructs/stream-processor';
import { LOADER_MEMORY_MB } from '../constructs/warehouse';
import { CostModelError } from './errors';
import type { SummaryCell } from './format';
import type { AssumptionName, PriceTable } from './price-table';
import { MILLION } from './pricing';
import {
  SERVICES,
  type LineItem,
  type Service,
  type Workload,
  apiGatewayCost,
  firehoseCost,
  lambdaCost,
  liveViewCost,
  s3Cost,
  workloadOf,
} from './service-costs';
import { type KinesisSizing, kinesisCost, kinesisSizing } from './kinesis-costs';
import { type DynamoDbSizing, dynamoDbCost, dynamoDbSizing, dynamoDbWarnings } from './dynamodb-costs';
import { athenaCost, glueCost, icebergStorageCost, redshiftServerlessCost } from './warehouse-costs';

export {
  firehoseBilledBytesPerDocument,
  firehoseObjectsPerMonth,
  lakePriceByAgeMonth,
  roundUp,
  tieredCost,
} from './pricing';
export { SERVICES, loadsPerMonth, type LineItem, type Service } from './service-costs';
export type { KinesisSizing } from './kinesis-costs';
export type { DynamoDbSizing } from './dynamodb-costs';

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
  /** Undefined at zero events: the idle floor has no per-event cost. */
  readonly perMillionEvents: number | undefined;
  /** The stream's mode, the shards its peak needs, and what the other mode would cost. */
  readonly kinesis: KinesisSizing;
  /** The hot table's load in units a second, what auto scaling holds, and what the other mode would cost. */
  readonly dynamoDb: DynamoDbSizing;
  /** What the stage's settings cannot carry, e.g. a peak above its provisioned shards. */
  readonly warnings: readonly string[];
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
  S3: (workload) => [...s3Cost(workload), ...icebergStorageCost(workload)],
  DynamoDB: dynamoDbCost,
  // Only the stage's engine has lines.
  'Redshift Serverless': redshiftServerlessCost,
  Athena: athenaCost,
  Glue: glueCost,
};

function checkInput({ eventsPerDay, eventBytes }: CostInput): void {
  // Zero events is the idle floor: what a stage costs while nobody sends.
  if (!(Number.isFinite(eventsPerDay) && eventsPerDay >= 0)) {
    throw new CostModelError(`events per day must be 0 or more, got ${eventsPerDay}`, 'INPUT_INVALID');
  }
  if (!(Number.isFinite(eventBytes) && eventBytes > 0)) {
    throw new CostModelError(`event bytes must be a positive number, got ${eventBytes}`, 'INPUT_INVALID');
  }
}

function describeStage(stage: StageConfig, pollSeconds: number): string {
  const { capacity } = stage.kinesis;
  const kinesis =
    capacity.mode === 'ON_DEMAND'
      ? 'Kinesis on-demand'
      : `Kinesis ${capacity.shardCount} provisioned shard(s)`;
  const hot = stage.hotTier.capacity;
  const hotCapacity =
    hot.mode === 'ON_DEMAND'
      ? 'hot table on-demand'
      : `hot table provisioned (read ${hot.read.min}–${hot.read.max}, write ${hot.write.min}–${hot.write.max} units, auto scaling at ${hot.targetUtilizationPercent} %)`;
  const hotTable = `${hotCapacity}, its items and trends folded every ${stage.hotTier.foldInterval.toHumanString()}`;
  const { warehouse } = stage;
  const engine =
    warehouse.engine === 'redshift'
      ? `Redshift Serverless at ${warehouse.redshift.baseCapacity} RPUs`
      : `Athena over Iceberg`;
  return `${stage.stage}: Firehose buffers ${stage.firehose.bufferingInterval.toSeconds()} s / ${stage.firehose.bufferingSize.toMebibytes()} MiB, stream batches of up to ${stage.batch.batchSize} every ${pollSeconds} s (parallelization ${stage.batch.parallelizationFactor}), ${kinesis}, retention ${stage.kinesis.retention.toHours()} h, ${hotTable}, warehouse ${engine}: the load step runs every ${warehouse.loadInterval.toMinutes()} min and loads once ${warehouse.minPendingBytes.toMebibytes()} MiB are pending or a file waited ${warehouse.freshness.toMinutes()} min (at least daily), ${stage.retention.warehouseDays} days kept; Lambda memory graphql ${GRAPHQL_MEMORY_MB} MB, stream ${STREAM_MEMORY_MB} MB, load ${LOADER_MEMORY_MB} MB (arm64)`;
}

/** Estimated monthly cost of running one stage of Tributary at a steady event rate. */
export function estimateMonthlyCost(input: CostInput, table: PriceTable, stage: StageConfig): CostEstimate {
  checkInput(input);
  const assumption = (name: AssumptionName): number =>
    input.overrides?.[name] ?? table.assumptions[name].value;
  const workload = workloadOf(input.eventsPerDay, input.eventBytes, assumption, table.prices, stage);
  const lines = [
    ...SERVICES.flatMap((service) => SERVICE_COSTS[service](workload)),
    ...liveViewCost(workload),
  ];

  const kinesis = kinesisSizing(workload);
  const dynamoDb = dynamoDbSizing(workload);

  const byService = Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<Service, number>;
  for (const line of lines) byService[line.service] += line.cost;
  const total = lines.reduce((sum, line) => sum + line.cost, 0);

  return {
    eventsPerMonth: workload.events,
    lines,
    byService,
    total,
    perMillionEvents: workload.events > 0 ? total / (workload.events / MILLION) : undefined,
    kinesis,
    dynamoDb,
    warnings: [...kinesisWarnings(stage, kinesis), ...dynamoDbWarnings(workload, dynamoDb)],
    assumptions: Object.entries(table.assumptions).map(([name, { value, why }]) => ({
      name,
      value: input.overrides?.[name as AssumptionName] ?? value,
      why,
    })),
    stageSettings: describeStage(stage, workload.pollSeconds),
  };
}

/** A provisioned stream below what its peak needs throttles writes: the estimate says so. */
function kinesisWarnings(stage: StageConfig, sizing: KinesisSizing): string[] {
  const { capacity } = stage.kinesis;
  if (capacity.mode !== 'PROVISIONED' || capacity.shardCount >= sizing.shardsNeededAtPeak) return [];
  return [
    `${stage.stage} provisions ${capacity.shardCount} Kinesis shard(s), but this rate needs ${sizing.shardsNeededAtPeak} at its peak: add shards (infra/config.ts) or switch to on-demand`,
  ];
}

/** The volumes the summary prices: the idle floor, then 10k, 1M and 10M events a day. */
export const REFERENCE_VOLUMES: readonly number[] = [0, 10_000, 1_000_000, 10_000_000];

/** What the warehouse engine itself costs in an estimate: its service, plus Glue and its tables in S3. */
function warehousePart(estimate: CostEstimate): number {
  return estimate.lines
    .filter(
      (line) =>
        line.service === 'Redshift Serverless' ||
        line.service === 'Athena' ||
        line.service === 'Glue' ||
        (line.service === 'S3' && line.item.startsWith('warehouse ')),
    )
    .reduce((sum, line) => sum + line.cost, 0);
}

/** Every stage on every engine at every volume: what `npm run cost` prints without a volume. */
export function estimateSummary(
  table: PriceTable,
  stages: readonly StageConfig[],
  input: {
    eventBytes: number;
    eventsPerRequest: number;
    /** Visitors whose events one request carries; the price table's when absent. */
    profilesPerRequest?: number;
    volumes?: readonly number[];
  },
): SummaryCell[] {
  return stages.flatMap((stage) =>
    WAREHOUSE_ENGINES.flatMap((engine) =>
      (input.volumes ?? REFERENCE_VOLUMES).map((eventsPerDay) => {
        const estimate = estimateMonthlyCost(
          {
            eventsPerDay,
            eventBytes: input.eventBytes,
            // An override left undefined falls back to the price table.
            overrides: {
              eventsPerRequest: input.eventsPerRequest,
              profilesPerRequest: input.profilesPerRequest,
            },
          },
          table,
          withWarehouseEngine(stage, engine),
        );
        return {
          stage: stage.stage,
          engine,
          eventsPerDay,
          total: estimate.total,
          warehouse: warehousePart(estimate),
        };
      }),
    ),
  );
}

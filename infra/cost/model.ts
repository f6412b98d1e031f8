import type { StageConfig } from '../config';
import { PARQUET_MIN_BUFFERING_SIZE } from '../constructs/delivery';
import { GRAPHQL_MEMORY_MB } from '../constructs/ingest-api';
import { STREAM_MEMORY_MB } from '../constructs/stream-processor';
import { LOADER_MEMORY_MB } from '../constructs/warehouse';
import { CostModelError } from './errors';
import type { AssumptionName, PriceTable, PriceTier } from './price-table';

export const SERVICES = [
  'API Gateway',
  'Lambda',
  'Kinesis',
  'Firehose',
  'S3',
  'DynamoDB',
  'Redshift Serverless',
] as const;
export type Service = (typeof SERVICES)[number];

export interface CostInput {
  readonly eventsPerDay: number;
  /** Size of one event as it travels the pipeline (the record on the stream and in Firehose). */
  readonly eventBytes: number;
  /** Overrides of the price table's assumptions, e.g. from CLI flags. */
  readonly overrides?: Partial<Record<AssumptionName, number>>;
}

export interface LineItem {
  readonly service: Service;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  /** Average price per unit (tiered prices are blended). */
  readonly unitPrice: number;
  readonly cost: number;
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

export const HOURS_PER_MONTH = 730;
const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;
const GB = 1024 ** 3;
const MILLION = 1_000_000;

/** Cost of `quantity` under graduated tiers (each tier's price applies only to the part that falls in it). */
export function tieredCost(quantity: number, tiers: readonly PriceTier[], unitsPerPrice = 1): number {
  let cost = 0;
  let floor = 0;
  for (const tier of tiers) {
    const ceiling = tier.upTo ?? Number.POSITIVE_INFINITY;
    const inTier = Math.max(0, Math.min(quantity, ceiling) - floor);
    cost += (inTier / unitsPerPrice) * tier.price;
    floor = ceiling;
    if (quantity <= ceiling) break;
  }
  return cost;
}

/** Size billed for one record: rounded up to the service's increment (Kinesis 1 KB, Firehose 5 KB). */
export const roundUp = (bytes: number, increment: number): number => Math.ceil(bytes / increment) * increment;

/** Objects Firehose writes in a month: one per buffer interval, or one per full buffer when data fills it first. */
export function firehoseObjectsPerMonth(
  bytesPerMonth: number,
  recordsPerMonth: number,
  bufferingIntervalSeconds: number,
  bufferingSizeBytes: number,
): number {
  if (recordsPerMonth === 0) return 0;
  const byInterval = SECONDS_PER_MONTH / bufferingIntervalSeconds;
  const bySize = bytesPerMonth / bufferingSizeBytes;
  // A quiet stream writes no more objects than it receives records.
  return Math.min(recordsPerMonth, Math.max(byInterval, bySize));
}

/** S3 price per GB-month of lake data by its age in months, following the lake's lifecycle rule. */
export function lakePriceByAgeMonth(age: number, s3: PriceTable['prices']['s3']): number {
  if (age <= 1) return s3.standardGbMonth; // days 0-30: Standard
  if (age <= 2) return s3.intelligentTieringFrequentGbMonth; // Intelligent-Tiering, first 30 days
  if (age <= 4) return s3.intelligentTieringInfrequentGbMonth; // 30-90 days without access
  if (age <= 6) return s3.intelligentTieringArchiveInstantGbMonth; // 90+ days without access
  return s3.glacierInstantRetrievalGbMonth; // day 180 on: Glacier Instant Retrieval
}

/** Estimated monthly cost of running one stage of Tributary at a steady event rate. */
export function estimateMonthlyCost(input: CostInput, table: PriceTable, stage: StageConfig): CostEstimate {
  const { eventsPerDay, eventBytes } = input;
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
  const a = (name: AssumptionName): number => input.overrides?.[name] ?? table.assumptions[name].value;
  const p = table.prices;
  const lines: LineItem[] = [];
  const add = (service: Service, item: string, quantity: number, unit: string, cost: number): void => {
    if (!Number.isFinite(cost) || !Number.isFinite(quantity)) {
      throw new CostModelError(
        `${service} "${item}" is not a number: a price is missing`,
        'PRICE_TABLE_INVALID',
      );
    }
    lines.push({ service, item, quantity, unit, unitPrice: quantity > 0 ? cost / quantity : 0, cost });
  };

  const events = eventsPerDay * DAYS_PER_MONTH;
  const rawGb = (events * eventBytes) / GB;

  // API Gateway + graphql Lambda: ingest requests and hot reads.
  const apiRequests = events / a('eventsPerRequest') + events * a('hotReadsPerEvent');
  const bodyIncrements = Math.ceil(
    (eventBytes * a('eventsPerRequest')) / p.apiGateway.meteringIncrementBytes,
  );
  const meteredRequests = (events / a('eventsPerRequest')) * bodyIncrements + events * a('hotReadsPerEvent');
  add(
    'API Gateway',
    'HTTP API requests',
    meteredRequests,
    'requests',
    tieredCost(meteredRequests, p.apiGateway.httpApiRequestsPerMillion, MILLION),
  );

  const lambdaGbSeconds: { name: string; invocations: number; gbSeconds: number }[] = [];
  lambdaGbSeconds.push({
    name: 'graphql',
    invocations: apiRequests,
    gbSeconds: apiRequests * (a('graphqlDurationMs') / 1000) * (GRAPHQL_MEMORY_MB / 1024),
  });

  // Stream processor: the event source mapping polls every shard (times the parallelization factor) once per
  // batching window (at least once a second); a poll that finds records is one invocation.
  const pollers = a('onDemandShards') * stage.batch.parallelizationFactor;
  const pollSeconds = Math.max(1, stage.batch.maxBatchingWindow.toSeconds());
  const eventsPerPoll = (eventsPerDay / 86_400 / pollers) * pollSeconds;
  const batch = Math.min(stage.batch.batchSize, Math.max(1, eventsPerPoll));
  const streamInvocations = events / batch;
  const streamSeconds = (a('streamInvocationOverheadMs') + a('streamPerEventMs') * batch) / 1000;
  lambdaGbSeconds.push({
    name: 'stream',
    invocations: streamInvocations,
    gbSeconds: streamInvocations * streamSeconds * (STREAM_MEMORY_MB / 1024),
  });

  // Warehouse load step: one run per schedule tick; the Lambda waits while Redshift COPYs and merges.
  const loadRuns = SECONDS_PER_MONTH / stage.warehouse.loadInterval.toSeconds();
  const loadSeconds = a('loadFixedSeconds') + a('loadSecondsPerGb') * (rawGb / loadRuns);
  lambdaGbSeconds.push({
    name: 'warehouse load',
    invocations: loadRuns,
    gbSeconds: loadRuns * loadSeconds * (LOADER_MEMORY_MB / 1024),
  });

  const invocations = lambdaGbSeconds.reduce((sum, fn) => sum + fn.invocations, 0);
  add(
    'Lambda',
    'requests (all functions)',
    invocations,
    'requests',
    (invocations / MILLION) * p.lambda.requestsPerMillion,
  );
  // Tiers apply to the account's total GB-seconds; each function is charged its share of the blended price.
  const totalGbSeconds = lambdaGbSeconds.reduce((sum, fn) => sum + fn.gbSeconds, 0);
  const gbSecondPrice = tieredCost(totalGbSeconds, p.lambda.arm64GbSecond) / totalGbSeconds;
  for (const fn of lambdaGbSeconds) {
    add('Lambda', `${fn.name} compute (arm64)`, fn.gbSeconds, 'GB-s', fn.gbSeconds * gbSecondPrice);
  }

  // Kinesis on-demand: every record rounded up to 1 KB, written once and read once (one consumer).
  const kinesisGb = (events * roundUp(eventBytes, p.kinesisOnDemand.recordRoundingBytes)) / GB;
  add(
    'Kinesis',
    'stream hours (on-demand)',
    HOURS_PER_MONTH,
    'stream-hours',
    HOURS_PER_MONTH * p.kinesisOnDemand.streamHour,
  );
  add('Kinesis', 'data ingested', kinesisGb, 'GB', kinesisGb * p.kinesisOnDemand.ingestedGb);
  add(
    'Kinesis',
    'data retrieved (stream Lambda)',
    kinesisGb,
    'GB',
    kinesisGb * p.kinesisOnDemand.retrievedGb,
  );
  const extraRetentionHours = Math.max(0, stage.kinesis.retention.toHours() - 24);
  if (extraRetentionHours > 0) {
    // Data beyond its first 24 hours, held continuously: a day's ingest times the extra days.
    const storedGb = (kinesisGb / DAYS_PER_MONTH) * (extraRetentionHours / 24);
    add(
      'Kinesis',
      'extended retention',
      storedGb,
      'GB-months',
      storedGb * p.kinesisOnDemand.extendedRetentionGbMonth,
    );
  }

  // Firehose: each event is one record, rounded up to 5 KB; failed events go to their own stream.
  const failedEvents = events * a('failedEventFraction');
  const deliveredEvents = events - failedEvents;
  const firehoseRecordBytes = roundUp(eventBytes, p.firehose.recordRoundingBytes);
  const firehoseGb = (events * firehoseRecordBytes) / GB;
  add(
    'Firehose',
    'ingested, events + failed events (records rounded up to 5 KB)',
    firehoseGb,
    'GB',
    tieredCost(firehoseGb, p.firehose.directPutIngestedGb),
  );
  // The events stream converts its records to Parquet, billed on the same rounded volume.
  const convertedGb = (deliveredEvents * firehoseRecordBytes) / GB;
  add(
    'Firehose',
    'format conversion to Parquet, events (records rounded up to 5 KB)',
    convertedGb,
    'GB',
    convertedGb * p.firehose.formatConversionGb,
  );

  // S3 lake: objects written by both Firehose streams; storage for the month `storageMonths` of steady ingest.
  const bufferSeconds = stage.firehose.bufferingInterval.toSeconds();
  const bufferBytes = stage.firehose.bufferingSize.toBytes();
  // Converting to Parquet needs a buffer of at least 64 MiB, so the events stream may fill it less often.
  const eventObjects = firehoseObjectsPerMonth(
    deliveredEvents * eventBytes,
    deliveredEvents,
    bufferSeconds,
    Math.max(bufferBytes, PARQUET_MIN_BUFFERING_SIZE.toBytes()),
  );
  const failedObjects = firehoseObjectsPerMonth(
    failedEvents * eventBytes,
    failedEvents,
    bufferSeconds,
    bufferBytes,
  );
  const objects = eventObjects + failedObjects;
  add('S3', 'PUT (Firehose objects)', objects, 'requests', (objects / 1000) * p.s3.putPer1000);
  add('S3', 'GET (warehouse COPY)', objects, 'requests', (objects / 1000) * p.s3.getPer1000);

  const months = a('storageMonths');
  const lakeGbPerMonth = rawGb * a('lakeCompressionRatio');
  let storageCost = 0;
  for (let age = 1; age <= months; age += 1) storageCost += lakeGbPerMonth * lakePriceByAgeMonth(age, p.s3);
  add(
    'S3',
    `storage in month ${months} (lifecycle-tiered)`,
    lakeGbPerMonth * months,
    'GB-months',
    storageCost,
  );

  const objectBytes = (lakeGbPerMonth * GB) / Math.max(objects, 1);
  const monitoredMonths = Math.max(0, Math.min(months, 6) - 1); // ages 2..6 sit in Intelligent-Tiering
  if (objectBytes >= p.s3.intelligentTieringMonitoringMinObjectBytes && monitoredMonths > 0) {
    const monitored = objects * monitoredMonths;
    add(
      'S3',
      'Intelligent-Tiering monitoring',
      monitored,
      'objects',
      (monitored / 1000) * p.s3.intelligentTieringMonitoringPer1000Objects,
    );
  }
  if (months >= 2) {
    add(
      'S3',
      'lifecycle transitions to Intelligent-Tiering',
      objects,
      'requests',
      (objects / 1000) * p.s3.transitionToIntelligentTieringPer1000,
    );
  }
  if (months >= 7) {
    add(
      'S3',
      'lifecycle transitions to Glacier IR',
      objects,
      'requests',
      (objects / 1000) * p.s3.transitionToGlacierInstantRetrievalPer1000,
    );
  }

  // DynamoDB on-demand: the hot-tier writes per event, eventually consistent profile reads, the profiles stored.
  const wru = events * a('wruPerEvent');
  const rru = events * a('hotReadsPerEvent') * 0.5;
  add(
    'DynamoDB',
    'write request units',
    wru,
    'WRU',
    (wru / MILLION) * p.dynamodbOnDemand.writeRequestUnitsPerMillion,
  );
  add(
    'DynamoDB',
    'read request units',
    rru,
    'RRU',
    (rru / MILLION) * p.dynamodbOnDemand.readRequestUnitsPerMillion,
  );
  const tableGb = (eventsPerDay * a('profilesPerDailyEvent') * a('profileItemBytes')) / GB;
  add('DynamoDB', 'storage', tableGb, 'GB-months', tableGb * p.dynamodbOnDemand.storageGbMonth);
  add(
    'DynamoDB',
    'point-in-time recovery',
    tableGb,
    'GB-months',
    tableGb * p.dynamodbOnDemand.pointInTimeRecoveryGbMonth,
  );

  // Redshift Serverless: base RPUs while active, each activation billed at least 60 s.
  const rpus = stage.warehouse.baseCapacity;
  const billedLoadSeconds = Math.max(p.redshiftServerless.minimumChargeSeconds, loadSeconds);
  const loadRpuHours = (loadRuns * billedLoadSeconds * rpus) / 3600;
  add(
    'Redshift Serverless',
    'RPU-hours, scheduled loads',
    loadRpuHours,
    'RPU-hours',
    loadRpuHours * p.redshiftServerless.rpuHour,
  );
  const queryRpuHours = a('warehouseQueryHoursPerDay') * DAYS_PER_MONTH * rpus;
  add(
    'Redshift Serverless',
    'RPU-hours, queries',
    queryRpuHours,
    'RPU-hours',
    queryRpuHours * p.redshiftServerless.rpuHour,
  );
  const warehouseGb = rawGb * a('warehouseStorageRatio') * months;
  add(
    'Redshift Serverless',
    `managed storage in month ${months}`,
    warehouseGb,
    'GB-months',
    warehouseGb * p.redshiftServerless.managedStorageGbMonth,
  );

  const byService = Object.fromEntries(SERVICES.map((s) => [s, 0])) as Record<Service, number>;
  for (const line of lines) byService[line.service] += line.cost;
  const total = lines.reduce((sum, line) => sum + line.cost, 0);

  return {
    eventsPerMonth: events,
    lines,
    byService,
    total,
    perMillionEvents: total / (events / MILLION),
    assumptions: Object.entries(table.assumptions).map(([name, { value, why }]) => ({
      name,
      value: input.overrides?.[name as AssumptionName] ?? value,
      why,
    })),
    stageSettings: `${stage.stage}: Firehose buffers ${bufferSeconds} s / ${stage.firehose.bufferingSize.toMebibytes()} MiB, stream batches of up to ${stage.batch.batchSize} every ${pollSeconds} s (parallelization ${stage.batch.parallelizationFactor}), Kinesis retention ${stage.kinesis.retention.toHours()} h, warehouse load every ${stage.warehouse.loadInterval.toMinutes()} min at ${rpus} RPUs; Lambda memory graphql ${GRAPHQL_MEMORY_MB} MB, stream ${STREAM_MEMORY_MB} MB, load ${LOADER_MEMORY_MB} MB (arm64)`,
  };
}

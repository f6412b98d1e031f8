import type { StageConfig } from '../config';
import { DELETION_MEMORY_MB, DELETION_RETRY_INTERVAL } from '../constructs/deletion';
import { PARQUET_MIN_BUFFERING_SIZE } from '../constructs/delivery';
import { GRAPHQL_MEMORY_MB } from '../constructs/ingest-api';
import { STREAM_MEMORY_MB } from '../constructs/stream-processor';
import { LOADER_MEMORY_MB } from '../constructs/warehouse';
import { CostModelError } from './errors';
import type { AssumptionName, Prices } from './price-table';
import {
  DAYS_PER_MONTH,
  GB,
  HOURS_PER_MONTH,
  MILLION,
  SECONDS_PER_MONTH,
  firehoseObjectsPerMonth,
  lakePriceByAgeMonth,
  roundUp,
  tieredCost,
} from './pricing';

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

export interface LineItem {
  readonly service: Service;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  /** Average price per unit (tiered prices are blended). */
  readonly unitPrice: number;
  readonly cost: number;
}

/** The month's traffic, worked out once, that more than one service's bill follows from. */
export interface Workload {
  readonly eventsPerDay: number;
  readonly eventBytes: number;
  /** Events in the month. */
  readonly events: number;
  /** The month's events at the size they travel the pipeline. */
  readonly rawGb: number;
  /** GraphQL calls (ingest requests and hot reads): each is one API request and one graphql invocation. */
  readonly apiRequests: number;
  /** Warehouse load runs in the month: each runs the load Lambda and wakes Redshift. */
  readonly loadRuns: number;
  readonly loadSeconds: number;
  readonly failedEvents: number;
  readonly deliveredEvents: number;
  /** How often the event source mapping polls a shard. */
  readonly pollSeconds: number;
  readonly assumption: (name: AssumptionName) => number;
  readonly prices: Prices;
  readonly stage: StageConfig;
}

export function workloadOf(
  eventsPerDay: number,
  eventBytes: number,
  assumption: (name: AssumptionName) => number,
  prices: Prices,
  stage: StageConfig,
): Workload {
  const events = eventsPerDay * DAYS_PER_MONTH;
  const rawGb = (events * eventBytes) / GB;
  const loadRuns = SECONDS_PER_MONTH / stage.warehouse.loadInterval.toSeconds();
  const failedEvents = events * assumption('failedEventFraction');
  return {
    eventsPerDay,
    eventBytes,
    events,
    rawGb,
    apiRequests: events / assumption('eventsPerRequest') + events * assumption('hotReadsPerEvent'),
    loadRuns,
    // The load Lambda waits while Redshift COPYs and merges.
    loadSeconds: assumption('loadFixedSeconds') + assumption('loadSecondsPerGb') * (rawGb / loadRuns),
    failedEvents,
    deliveredEvents: events - failedEvents,
    // At least once a second, whatever the batching window.
    pollSeconds: Math.max(1, stage.batch.maxBatchingWindow.toSeconds()),
    assumption,
    prices,
    stage,
  };
}

function lineItem(service: Service, item: string, quantity: number, unit: string, cost: number): LineItem {
  if (!Number.isFinite(cost) || !Number.isFinite(quantity)) {
    throw new CostModelError(
      `${service} "${item}" is not a number: a price is missing`,
      'PRICE_TABLE_INVALID',
    );
  }
  return { service, item, quantity, unit, unitPrice: quantity > 0 ? cost / quantity : 0, cost };
}

/** HTTP API requests: ingest calls metered per 512 KB of body, plus hot reads. */
export function apiGatewayCost(w: Workload): LineItem[] {
  const { events, eventBytes, assumption: a, prices: p } = w;
  const bodyIncrements = Math.ceil(
    (eventBytes * a('eventsPerRequest')) / p.apiGateway.meteringIncrementBytes,
  );
  const meteredRequests = (events / a('eventsPerRequest')) * bodyIncrements + events * a('hotReadsPerEvent');
  return [
    lineItem(
      'API Gateway',
      'HTTP API requests',
      meteredRequests,
      'requests',
      tieredCost(meteredRequests, p.apiGateway.httpApiRequestsPerMillion, MILLION),
    ),
  ];
}

/** Requests and arm64 compute of the graphql, stream, warehouse-load and deletion functions. */
export function lambdaCost(w: Workload): LineItem[] {
  const { events, eventsPerDay, apiRequests, loadRuns, loadSeconds, pollSeconds, stage } = w;
  const { assumption: a, prices: p } = w;
  const functions: { name: string; invocations: number; gbSeconds: number }[] = [];
  functions.push({
    name: 'graphql',
    invocations: apiRequests,
    gbSeconds: apiRequests * (a('graphqlDurationMs') / 1000) * (GRAPHQL_MEMORY_MB / 1024),
  });

  // The event source mapping polls every shard (times the parallelization factor) once per batching
  // window; a poll that finds records is one invocation.
  const pollers = a('onDemandShards') * stage.batch.parallelizationFactor;
  const eventsPerPoll = (eventsPerDay / 86_400 / pollers) * pollSeconds;
  const batch = Math.min(stage.batch.batchSize, Math.max(1, eventsPerPoll));
  const streamInvocations = events / batch;
  const streamSeconds = (a('streamInvocationOverheadMs') + a('streamPerEventMs') * batch) / 1000;
  functions.push({
    name: 'stream',
    invocations: streamInvocations,
    gbSeconds: streamInvocations * streamSeconds * (STREAM_MEMORY_MB / 1024),
  });

  functions.push({
    name: 'warehouse load',
    invocations: loadRuns,
    gbSeconds: loadRuns * loadSeconds * (LOADER_MEMORY_MB / 1024),
  });

  // The schedule runs the deletion function whether or not anyone asked, and each deletion runs it
  // once more, reading the whole lake as it stands in the month priced.
  const deletionSchedule = SECONDS_PER_MONTH / DELETION_RETRY_INTERVAL.toSeconds();
  const lakeGb = w.rawGb * a('lakeCompressionRatio') * a('storageMonths');
  const deletionSeconds =
    (deletionSchedule * a('deletionIdleRunMs')) / 1000 +
    a('deletionsPerMonth') * lakeGb * a('deletionSecondsPerLakeGb');
  functions.push({
    name: 'deletion',
    invocations: deletionSchedule + a('deletionsPerMonth'),
    gbSeconds: deletionSeconds * (DELETION_MEMORY_MB / 1024),
  });

  const invocations = functions.reduce((sum, fn) => sum + fn.invocations, 0);
  const lines = [
    lineItem(
      'Lambda',
      'requests (all functions)',
      invocations,
      'requests',
      (invocations / MILLION) * p.lambda.requestsPerMillion,
    ),
  ];
  // Tiers apply to the account's total GB-seconds; each function is charged its share of the blended price.
  const totalGbSeconds = functions.reduce((sum, fn) => sum + fn.gbSeconds, 0);
  const gbSecondPrice = tieredCost(totalGbSeconds, p.lambda.arm64GbSecond) / totalGbSeconds;
  for (const fn of functions) {
    lines.push(
      lineItem('Lambda', `${fn.name} compute (arm64)`, fn.gbSeconds, 'GB-s', fn.gbSeconds * gbSecondPrice),
    );
  }
  return lines;
}

/** Kinesis on-demand: every record rounded up to 1 KB, written once and read once (one consumer). */
export function kinesisCost(w: Workload): LineItem[] {
  const { events, eventBytes, stage } = w;
  const prices = w.prices.kinesisOnDemand;
  const kinesisGb = (events * roundUp(eventBytes, prices.recordRoundingBytes)) / GB;
  const lines = [
    lineItem(
      'Kinesis',
      'stream hours (on-demand)',
      HOURS_PER_MONTH,
      'stream-hours',
      HOURS_PER_MONTH * prices.streamHour,
    ),
    lineItem('Kinesis', 'data ingested', kinesisGb, 'GB', kinesisGb * prices.ingestedGb),
    lineItem('Kinesis', 'data retrieved (stream Lambda)', kinesisGb, 'GB', kinesisGb * prices.retrievedGb),
  ];
  const extraRetentionHours = Math.max(0, stage.kinesis.retention.toHours() - 24);
  if (extraRetentionHours > 0) {
    // Data beyond its first 24 hours, held continuously: a day's ingest times the extra days.
    const storedGb = (kinesisGb / DAYS_PER_MONTH) * (extraRetentionHours / 24);
    lines.push(
      lineItem(
        'Kinesis',
        'extended retention',
        storedGb,
        'GB-months',
        storedGb * prices.extendedRetentionGbMonth,
      ),
    );
  }
  return lines;
}

/** Firehose: each event is one record, rounded up to 5 KB; failed events go to their own stream. */
export function firehoseCost(w: Workload): LineItem[] {
  const { events, eventBytes, deliveredEvents } = w;
  const prices = w.prices.firehose;
  const recordBytes = roundUp(eventBytes, prices.recordRoundingBytes);
  const firehoseGb = (events * recordBytes) / GB;
  // The events stream converts its records to Parquet, billed on the same rounded volume.
  const convertedGb = (deliveredEvents * recordBytes) / GB;
  return [
    lineItem(
      'Firehose',
      'ingested, events + failed events (records rounded up to 5 KB)',
      firehoseGb,
      'GB',
      tieredCost(firehoseGb, prices.directPutIngestedGb),
    ),
    lineItem(
      'Firehose',
      'format conversion to Parquet, events (records rounded up to 5 KB)',
      convertedGb,
      'GB',
      convertedGb * prices.formatConversionGb,
    ),
  ];
}

/** S3 lake: objects written by both Firehose streams; storage for month `storageMonths` of steady ingest. */
export function s3Cost(w: Workload): LineItem[] {
  const { eventBytes, deliveredEvents, failedEvents, rawGb, stage, assumption: a } = w;
  const prices = w.prices.s3;
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
  const lines = [
    lineItem('S3', 'PUT (Firehose objects)', objects, 'requests', (objects / 1000) * prices.putPer1000),
    lineItem('S3', 'GET (warehouse COPY)', objects, 'requests', (objects / 1000) * prices.getPer1000),
  ];

  const months = a('storageMonths');
  const lakeGbPerMonth = rawGb * a('lakeCompressionRatio');
  let storageCost = 0;
  for (let age = 1; age <= months; age += 1) storageCost += lakeGbPerMonth * lakePriceByAgeMonth(age, prices);
  lines.push(
    lineItem(
      'S3',
      `storage in month ${months} (lifecycle-tiered)`,
      lakeGbPerMonth * months,
      'GB-months',
      storageCost,
    ),
  );

  const objectBytes = (lakeGbPerMonth * GB) / Math.max(objects, 1);
  const monitoredMonths = Math.max(0, Math.min(months, 6) - 1); // ages 2..6 sit in Intelligent-Tiering
  if (objectBytes >= prices.intelligentTieringMonitoringMinObjectBytes && monitoredMonths > 0) {
    const monitored = objects * monitoredMonths;
    lines.push(
      lineItem(
        'S3',
        'Intelligent-Tiering monitoring',
        monitored,
        'objects',
        (monitored / 1000) * prices.intelligentTieringMonitoringPer1000Objects,
      ),
    );
  }
  if (months >= 2) {
    lines.push(
      lineItem(
        'S3',
        'lifecycle transitions to Intelligent-Tiering',
        objects,
        'requests',
        (objects / 1000) * prices.transitionToIntelligentTieringPer1000,
      ),
    );
  }
  if (months >= 7) {
    lines.push(
      lineItem(
        'S3',
        'lifecycle transitions to Glacier IR',
        objects,
        'requests',
        (objects / 1000) * prices.transitionToGlacierInstantRetrievalPer1000,
      ),
    );
  }
  return lines;
}

/** DynamoDB on-demand: the hot-tier writes per event, eventually consistent profile reads, the profiles stored. */
export function dynamoDbCost(w: Workload): LineItem[] {
  const { events, eventsPerDay, assumption: a } = w;
  const prices = w.prices.dynamodbOnDemand;
  const wru = events * a('wruPerEvent');
  const rru = events * a('hotReadsPerEvent') * 0.5;
  const tableGb = (eventsPerDay * a('profilesPerDailyEvent') * a('profileItemBytes')) / GB;
  return [
    lineItem(
      'DynamoDB',
      'write request units',
      wru,
      'WRU',
      (wru / MILLION) * prices.writeRequestUnitsPerMillion,
    ),
    lineItem(
      'DynamoDB',
      'read request units',
      rru,
      'RRU',
      (rru / MILLION) * prices.readRequestUnitsPerMillion,
    ),
    lineItem('DynamoDB', 'storage', tableGb, 'GB-months', tableGb * prices.storageGbMonth),
    lineItem(
      'DynamoDB',
      'point-in-time recovery',
      tableGb,
      'GB-months',
      tableGb * prices.pointInTimeRecoveryGbMonth,
    ),
  ];
}

/** Redshift Serverless: base RPUs while active, each activation billed at least 60 s. */
export function redshiftServerlessCost(w: Workload): LineItem[] {
  const { loadRuns, loadSeconds, rawGb, stage, assumption: a } = w;
  const prices = w.prices.redshiftServerless;
  const rpus = stage.warehouse.baseCapacity;
  const months = a('storageMonths');
  const billedLoadSeconds = Math.max(prices.minimumChargeSeconds, loadSeconds);
  const loadRpuHours = (loadRuns * billedLoadSeconds * rpus) / 3600;
  const queryRpuHours = a('warehouseQueryHoursPerDay') * DAYS_PER_MONTH * rpus;
  const warehouseGb = rawGb * a('warehouseStorageRatio') * months;
  return [
    lineItem(
      'Redshift Serverless',
      'RPU-hours, scheduled loads',
      loadRpuHours,
      'RPU-hours',
      loadRpuHours * prices.rpuHour,
    ),
    lineItem(
      'Redshift Serverless',
      'RPU-hours, queries',
      queryRpuHours,
      'RPU-hours',
      queryRpuHours * prices.rpuHour,
    ),
    lineItem(
      'Redshift Serverless',
      `managed storage in month ${months}`,
      warehouseGb,
      'GB-months',
      warehouseGb * prices.managedStorageGbMonth,
    ),
  ];
}

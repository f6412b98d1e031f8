import type { StageConfig } from '../config';
import { DELETION_MEMORY_MB, DELETION_RETRY_INTERVAL } from '../constructs/deletion';
import { PARQUET_MIN_BUFFERING_SIZE } from '../constructs/delivery';
import { GRAPHQL_MEMORY_MB } from '../constructs/ingest-api';
import { LIVE_HEARTBEAT_SCHEDULE, LIVE_PUBLISH_MEMORY_MB, LIVE_SOCKET_MEMORY_MB } from '../constructs/live';
import { HOT_FOLD_MEMORY_MB, STREAM_MEMORY_MB } from '../constructs/stream-processor';
import { LOADER_MEMORY_MB } from '../constructs/warehouse';
import { LIVE_EVENTS_PER_SECOND } from '../../src/live/live-event';
import { PACKED_RECORD_BYTES } from '../../src/sinks/lake/firehose/record-packing';
import { DEFAULT_FOLD_BUDGET_BYTES } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { PENDING_PART_BYTES } from '../../src/sinks/hot-tier/dynamodb/dynamodb-pending-log';
import { CostModelError } from './errors';
import type { AssumptionName, Prices } from './price-table';
import {
  DAYS_PER_MONTH,
  GB,
  MILLION,
  SECONDS_PER_MONTH,
  firehoseBilledBytesPerDocument,
  firehoseObjectsPerMonth,
  lakePriceByAgeMonth,
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
  'Athena',
  'Glue',
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
  /** Scheduled load runs in the month: each runs the load Lambda, which lists the lake. */
  readonly loadChecks: number;
  /** Runs that load (docs/warehouse.md#when-the-load-step-loads): each wakes Redshift or runs Athena MERGEs. */
  readonly loads: number;
  /** How long the load Lambda waits on one load. */
  readonly loadSeconds: number;
  /** Lake data written in the month (Parquet events, gzip failed events). */
  readonly lakeBytes: number;
  /** Objects Firehose writes to the lake in the month, both streams. */
  readonly lakeObjects: number;
  /** Shards the event source mapping polls. */
  readonly streamShards: number;
  readonly failedEvents: number;
  readonly deliveredEvents: number;
  /** How often the event source mapping polls a shard. */
  readonly pollSeconds: number;
  /** Events one stream invocation carries: each invocation is one Firehose delivery per stream. */
  readonly streamBatchEvents: number;
  /**
   * Events of one profile that a stream batch applies together: a batching client's request carries
   * one visitor's events, which share a partition key and so reach one batch side by side. The hot
   * tier reads and puts a profile's head, and reads its identity, once for all of them.
   */
  readonly eventsPerProfileWrite: number;
  readonly assumption: (name: AssumptionName) => number;
  readonly prices: Prices;
  readonly stage: StageConfig;
}

/** The Redshift base capacity `loadSecondsPerGb` is set for. */
const LOAD_SECONDS_PER_GB_RPUS = 8;

/** How much longer a load's scans take than `loadSecondsPerGb` says: the same RPU-seconds of work. */
function loadScanSlowdown(stage: StageConfig): number {
  const { engine, redshift } = stage.warehouse;
  return engine === 'redshift' ? LOAD_SECONDS_PER_GB_RPUS / redshift.baseCapacity : 1;
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
  const failedEvents = events * assumption('failedEventFraction');
  const deliveredEvents = events - failedEvents;
  const lakeBytes = rawGb * GB * assumption('lakeCompressionRatio');
  const lakeObjects = lakeObjectsPerMonth(stage, eventBytes, deliveredEvents, failedEvents);
  const loadChecks = SECONDS_PER_MONTH / stage.warehouse.loadInterval.toSeconds();
  const loads = loadsPerMonth(stage, lakeBytes, lakeObjects, loadChecks);
  const { capacity } = stage.kinesis;
  const streamShards = capacity.mode === 'ON_DEMAND' ? assumption('onDemandShards') : capacity.shardCount;
  // At least once a second, whatever the batching window.
  const pollSeconds = Math.max(1, stage.batch.maxBatchingWindow.toSeconds());
  // The event source mapping polls every shard (times the parallelization factor) once per batching
  // window; a poll that finds records is one invocation.
  const eventsPerPoll =
    (eventsPerDay / 86_400 / (streamShards * stage.batch.parallelizationFactor)) * pollSeconds;
  // A request's events of one profile arrive together (one PutRecords, one partition key), so a
  // batch holds at least that group, however quiet the stream.
  const groupEvents = Math.max(1, assumption('eventsPerRequest') / assumption('profilesPerRequest'));
  const streamBatchEvents = Math.min(stage.batch.batchSize, Math.max(groupEvents, eventsPerPoll));
  return {
    eventsPerDay,
    eventBytes,
    events,
    rawGb,
    apiRequests: events / assumption('eventsPerRequest') + events * assumption('hotReadsPerEvent'),
    loadChecks,
    loads,
    // The load Lambda waits while the warehouse reads the new files and merges them: scans, which
    // Redshift runs at the workgroup's base RPUs, slower the fewer it has.
    loadSeconds:
      assumption('loadFixedSeconds') +
      assumption('loadSecondsPerGb') * (rawGb / loads) * loadScanSlowdown(stage),
    lakeBytes,
    lakeObjects,
    streamShards,
    failedEvents,
    deliveredEvents,
    pollSeconds,
    streamBatchEvents,
    eventsPerProfileWrite: eventsPerProfileWrite(
      groupEvents,
      eventsPerPoll,
      stage.batch.batchSize,
      assumption,
    ),
    assumption,
    prices,
    stage,
  };
}

/**
 * Events of one profile a batch applies together: a request's group of them, no more than the
 * profile sends in a day (the measured range: `npm run bench -- hot-tier-units` counted groups of
 * 1, 5 and 10). Batches filled to their size are cut wherever the size falls, and split a group
 * in two about (group − 1) ÷ size of the time.
 */
function eventsPerProfileWrite(
  groupEvents: number,
  eventsPerPoll: number,
  batchSize: number,
  assumption: (name: AssumptionName) => number,
): number {
  const group = Math.min(groupEvents, Math.max(1, 1 / assumption('profilesPerDailyEvent')));
  const splits = eventsPerPoll >= batchSize ? Math.min(1, (group - 1) / batchSize) : 0;
  return group / (1 + splits);
}

/** Months of files the lake holds in the month priced: its retention, or the months it has run. */
function lakeMonths(w: Workload): number {
  return Math.min(w.assumption('storageMonths'), w.stage.retention.lakeDays / DAYS_PER_MONTH);
}

/** Objects both Firehose streams write in a month (the events stream converts to Parquet, whose buffer is at least 64 MiB). */
function lakeObjectsPerMonth(
  stage: StageConfig,
  eventBytes: number,
  deliveredEvents: number,
  failedEvents: number,
): number {
  const bufferSeconds = stage.firehose.bufferingInterval.toSeconds();
  const bufferBytes = stage.firehose.bufferingSize.toBytes();
  return (
    firehoseObjectsPerMonth(
      deliveredEvents * eventBytes,
      deliveredEvents,
      bufferSeconds,
      Math.max(bufferBytes, PARQUET_MIN_BUFFERING_SIZE.toBytes()),
    ) + firehoseObjectsPerMonth(failedEvents * eventBytes, failedEvents, bufferSeconds, bufferBytes)
  );
}

/**
 * Runs that load, as the gate decides them: once `minPendingBytes` are pending or the oldest
 * pending file reached `freshness`, whichever comes first, at the next scheduled run; never more
 * runs than there are new files; at least one a day, for the retention purge.
 */
export function loadsPerMonth(
  stage: StageConfig,
  lakeBytesPerMonth: number,
  lakeObjects: number,
  loadChecks: number,
): number {
  const daily = DAYS_PER_MONTH;
  if (lakeBytesPerMonth <= 0) return daily;
  const interval = stage.warehouse.loadInterval.toSeconds();
  const fillSeconds = stage.warehouse.minPendingBytes.toBytes() / (lakeBytesPerMonth / SECONDS_PER_MONTH);
  const wait = Math.min(fillSeconds, stage.warehouse.freshness.toSeconds());
  const period = Math.max(1, Math.ceil(wait / interval)) * interval;
  return Math.max(daily, Math.min(loadChecks, lakeObjects, SECONDS_PER_MONTH / period));
}

export function lineItem(
  service: Service,
  item: string,
  quantity: number,
  unit: string,
  cost: number,
): LineItem {
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

/** A fold's Query of the pending log and the decoding of what it read, besides its item writes. */
const FOLD_QUERY_MS = 100;

/** Requests and arm64 compute of the graphql, stream, hot-fold, warehouse-load and deletion functions. */
export function lambdaCost(w: Workload): LineItem[] {
  const { events, apiRequests, loadChecks, loads, loadSeconds, streamBatchEvents: batch, stage } = w;
  const { assumption: a, prices: p } = w;
  const functions: { name: string; invocations: number; gbSeconds: number }[] = [];
  functions.push({
    name: 'graphql',
    invocations: apiRequests,
    gbSeconds: apiRequests * (a('graphqlDurationMs') / 1000) * (GRAPHQL_MEMORY_MB / 1024),
  });

  const streamInvocations = events / batch;
  const streamSeconds = (a('streamInvocationOverheadMs') + a('streamPerEventMs') * batch) / 1000;
  functions.push({
    name: 'stream',
    invocations: streamInvocations,
    gbSeconds: streamInvocations * streamSeconds * (STREAM_MEMORY_MB / 1024),
  });

  // Every scheduled fold run queries the pending log; its folds take time by the items they rewrite.
  const fold = foldLoad(w);
  const foldShare = catalogueShareRewritten(
    fold.eventsPerFold,
    a('hotItemsPerEvent'),
    a('hotCatalogueItems'),
  );
  const foldSeconds = (fold.foldsPerRun * (FOLD_QUERY_MS + foldShare * a('hotFoldMs'))) / 1000;
  functions.push({
    name: 'hot fold',
    invocations: fold.runs,
    gbSeconds: fold.runs * foldSeconds * (HOT_FOLD_MEMORY_MB / 1024),
  });

  // Every scheduled run lists the lake; the few that load wait on the warehouse. Athena adds a daily run.
  const dailyRuns = stage.warehouse.engine === 'athena' ? DAYS_PER_MONTH : 0;
  const loaderSeconds = (loadChecks - loads) * (a('loadCheckMs') / 1000) + (loads + dailyRuns) * loadSeconds;
  functions.push({
    name: 'warehouse load',
    invocations: loadChecks + dailyRuns,
    gbSeconds: loaderSeconds * (LOADER_MEMORY_MB / 1024),
  });

  // The schedule runs the deletion function whether or not anyone asked, and each deletion runs it
  // once more, reading the whole lake as it stands in the month priced.
  const deletionSchedule = SECONDS_PER_MONTH / DELETION_RETRY_INTERVAL.toSeconds();
  const lakeGb = w.rawGb * a('lakeCompressionRatio') * lakeMonths(w);
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

/**
 * Firehose: each stream invocation delivers its events in packed records (several events to a record,
 * src/sinks/lake/firehose/record-packing.ts), each record billed rounded up to 5 KB; failed events
 * go to their own stream, in their own records.
 */
export function firehoseCost(w: Workload): LineItem[] {
  const { events, eventBytes, deliveredEvents, failedEvents, streamBatchEvents } = w;
  const prices = w.prices.firehose;
  // An invocation's events split between the two streams as the month's do.
  const billedGb = (documents: number): number =>
    documents === 0
      ? 0
      : (documents *
          firehoseBilledBytesPerDocument(
            streamBatchEvents * (documents / events),
            eventBytes,
            PACKED_RECORD_BYTES,
            prices.recordRoundingBytes,
          )) /
        GB;
  // The events stream converts its records to Parquet, billed on the same rounded volume.
  const convertedGb = billedGb(deliveredEvents);
  const ingestedGb = convertedGb + billedGb(failedEvents);
  return [
    lineItem(
      'Firehose',
      'ingested, events + failed events (packed records rounded up to 5 KB)',
      ingestedGb,
      'GB',
      tieredCost(ingestedGb, prices.directPutIngestedGb),
    ),
    lineItem(
      'Firehose',
      'format conversion to Parquet, events (packed records rounded up to 5 KB)',
      convertedGb,
      'GB',
      convertedGb * prices.formatConversionGb,
    ),
  ];
}

/** S3 lake: objects written by both Firehose streams; storage for month `storageMonths` of steady ingest. */
export function s3Cost(w: Workload): LineItem[] {
  const { rawGb, lakeObjects: objects, assumption: a } = w;
  const prices = w.prices.s3;
  const lines = [
    lineItem('S3', 'PUT (Firehose objects)', objects, 'requests', (objects / 1000) * prices.putPer1000),
    lineItem('S3', 'GET (warehouse loads)', objects, 'requests', (objects / 1000) * prices.getPer1000),
  ];

  const months = a('storageMonths');
  // Files older than the lake's retention are gone: a short retention stores, and moves, less.
  const kept = lakeMonths(w);
  const lakeDays = w.stage.retention.lakeDays;
  const lakeGbPerMonth = rawGb * a('lakeCompressionRatio');
  let storageCost = 0;
  for (let age = 1; age < kept + 1; age += 1) {
    storageCost += lakeGbPerMonth * Math.min(1, kept - (age - 1)) * lakePriceByAgeMonth(age, prices);
  }
  lines.push(
    lineItem(
      'S3',
      `storage in month ${months} (lifecycle-tiered, ${lakeDays} days kept)`,
      lakeGbPerMonth * kept,
      'GB-months',
      storageCost,
    ),
  );

  const objectBytes = (lakeGbPerMonth * GB) / Math.max(objects, 1);
  const monitoredMonths = Math.max(0, Math.min(kept, 6) - 1); // ages 2..6 sit in Intelligent-Tiering
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
  // The lifecycle moves files at 30 and 180 days: only those the retention keeps that long.
  if (months >= 2 && lakeDays > 30) {
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
  if (months >= 7 && lakeDays > 180) {
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

/**
 * Share of the catalogue a fold of `events` events rewrites: each event has it rewrite
 * `itemsPerEvent` items (its own and the user's recent ones), taken as random picks from
 * `catalogueItems`, so the fold's distinct items are those of that many draws with replacement:
 * on average 1 − e^(−draws ÷ catalogue) of the catalogue, all of it once draws far exceed it.
 */
export function catalogueShareRewritten(
  events: number,
  itemsPerEvent: number,
  catalogueItems: number,
): number {
  return 1 - Math.exp(-(events * itemsPerEvent) / catalogueItems);
}

/** DynamoDB bills a write 1 WRU per KB of the item, a read 1 RRU (strongly consistent) per 4 KB. */
const WRITE_UNIT_BYTES = 1024;
const READ_UNIT_BYTES = 4096;
const EVENTUAL_READ_RRU = 0.5;

/**
 * Write units of one pending-log entry of `events` events, to append it and again to delete it
 * (a delete is billed by the size of the item deleted): its compressed changes split in parts of
 * at most PENDING_PART_BYTES, each part an item with the entry's key and attributes.
 */
function pendingEntryWru(events: number, w: Workload): number {
  const changes = events * w.assumption('hotPendingBytesPerEvent');
  const parts = Math.max(1, Math.ceil(changes / PENDING_PART_BYTES));
  return parts * Math.ceil((w.assumption('hotPendingItemBytes') + changes / parts) / WRITE_UNIT_BYTES);
}

/** The hot tier's fold in the month: its scheduled runs, and the folds (budget-bounded reads) they make. */
export interface FoldLoad {
  /** Scheduled runs: one per `hotTier.foldInterval`, whether or not anything is pending. */
  runs: number;
  /** Folds per run: a fold reads about DEFAULT_FOLD_BUDGET_BYTES of changes, a run folds until none are left. */
  foldsPerRun: number;
  /** Events whose changes one fold takes. */
  eventsPerFold: number;
}

export function foldLoad(w: Workload): FoldLoad {
  const runs = SECONDS_PER_MONTH / w.stage.hotTier.foldInterval.toSeconds();
  const eventsPerRun = w.events / runs;
  const foldsPerRun = Math.max(
    1,
    Math.ceil((eventsPerRun * w.assumption('hotPendingBytesPerEvent')) / DEFAULT_FOLD_BUDGET_BYTES),
  );
  return { runs, foldsPerRun, eventsPerFold: eventsPerRun / foldsPerRun };
}

/**
 * The hot table's request units in the month (measured by bench/hot-tier-units.bench.ts):
 * - the stream processor's, per profile write (a profile's head read and put, its identity read:
 *   once for all its events in a batch), per event (rebases, identity refreshes) and per stream
 *   batch (its changes to items and trends appended to the pending log, one entry billed by its size);
 * - the fold's, per scheduled run (`hotTier.foldInterval`): it reads the pending log strongly
 *   consistent (billed by the bytes read together), rewrites each item and trend the run's events
 *   touched once (the share of the catalogue they rewrite), and deletes the entries it folded;
 * - the frontends' eventually consistent profile reads.
 * dynamodb-costs.ts prices them in the stage's capacity mode.
 */
export function hotTableRequestUnits(w: Workload): { wru: number; rru: number } {
  const { events, streamBatchEvents, assumption: a } = w;
  const batches = events / streamBatchEvents;
  const entryWru = pendingEntryWru(streamBatchEvents, w);
  const { runs, foldsPerRun, eventsPerFold } = foldLoad(w);
  const folds = runs * foldsPerRun;
  const rewritten = catalogueShareRewritten(eventsPerFold, a('hotItemsPerEvent'), a('hotCatalogueItems'));
  // Each fold's Query reads its entries in 1 MB pages, billed together; an empty log still costs a read.
  const logBytes = events * a('hotPendingBytesPerEvent') + batches * a('hotPendingItemBytes');
  const logReadRru = Math.max(folds, logBytes / READ_UNIT_BYTES);
  // A profile is two items (its head and its base), each read and billed on its own.
  const profileReadRru =
    (Math.ceil(a('profileHeadBytes') / READ_UNIT_BYTES) +
      Math.ceil(a('profileBaseBytes') / READ_UNIT_BYTES)) *
    EVENTUAL_READ_RRU;
  const profileWrites = events / w.eventsPerProfileWrite;
  const wru =
    events * a('hotWruPerEvent') +
    profileWrites * a('hotWruPerProfileWrite') +
    // Each entry is written once and deleted once.
    2 * batches * entryWru +
    folds * rewritten * a('hotWruPerFold');
  const rru =
    profileWrites * a('hotRruPerProfileWrite') +
    events * a('hotReadsPerEvent') * profileReadRru +
    logReadRru +
    folds * rewritten * a('hotRruPerFold');
  return { wru, rru };
}

/** How often a warm graphql or stream instance looks for live subscribers (TRIBUTARY_LIVE_SUBSCRIBER_CHECK_MS). */
const LIVE_CHECK_SECONDS = 5;
/** Messages of one console session besides events and heartbeats: init, ack, subscribe, complete, a ping. */
const LIVE_SESSION_MESSAGES = 5;

/**
 * The live view (docs/live.md#in-aws), where the stage deploys it: WebSocket connection minutes and
 * messages, the publisher and socket functions, the connections table. Costs follow the hours
 * someone watches: with nobody connected only the heartbeat schedule and the subscriber checks run.
 */
export function liveViewCost(w: Workload): LineItem[] {
  if (!w.stage.live.enabled) return [];
  const { events, apiRequests, assumption: a, prices: p } = w;
  const connectedSeconds = a('liveConnectionHoursPerDay') * 3600 * DAYS_PER_MONTH;
  const connectedShare = connectedSeconds / SECONDS_PER_MONTH;
  const sessions = connectedSeconds / 3600; // a console session an hour
  // One unfiltered subscription sees every event while connected, up to the per-subscriber rate.
  const eventsSent = Math.min(events / SECONDS_PER_MONTH, LIVE_EVENTS_PER_SECOND) * connectedSeconds;
  const heartbeatRuns = SECONDS_PER_MONTH / LIVE_HEARTBEAT_SCHEDULE.toSeconds();
  const heartbeatsSent = connectedSeconds / LIVE_HEARTBEAT_SCHEDULE.toSeconds();
  const messages = eventsSent + heartbeatsSent + sessions * LIVE_SESSION_MESSAGES;
  const connectionMinutes = connectedSeconds / 60;

  // While someone is connected, each ingest request hands its events to the publisher in one invocation.
  const publishes = (events / a('eventsPerRequest')) * connectedShare;
  const publisherInvocations = publishes + heartbeatRuns;
  const socketInvocations = sessions * LIVE_SESSION_MESSAGES;
  const seconds = a('livePublishDurationMs') / 1000;
  const gbSeconds =
    publisherInvocations * seconds * (LIVE_PUBLISH_MEMORY_MB / 1024) +
    socketInvocations * seconds * (LIVE_SOCKET_MEMORY_MB / 1024);

  // Subscriber checks (a Query of the few subscription items, 0.5 RRU) by the warm instances, no
  // more than they serve requests; each publish and heartbeat run reads the subscriptions (0.5 RRU)
  // and counts one subscription's rate or heartbeat (1 WRU); a session writes about ten items.
  const checks = Math.min(apiRequests, (a('liveInstancesChecking') * SECONDS_PER_MONTH) / LIVE_CHECK_SECONDS);
  const rru = (checks + publisherInvocations) * 0.5;
  const wru = publishes + heartbeatsSent + sessions * 10;
  const ddb = p.dynamodbOnDemand;
  return [
    lineItem(
      'API Gateway',
      'WebSocket connection minutes (live view)',
      connectionMinutes,
      'minutes',
      (connectionMinutes / MILLION) * p.apiGateway.webSocketConnectionMinutesPerMillion,
    ),
    lineItem(
      'API Gateway',
      'WebSocket messages (live view: events, heartbeats, protocol)',
      messages,
      'messages',
      tieredCost(messages, p.apiGateway.webSocketMessagesPerMillion, MILLION),
    ),
    lineItem(
      'Lambda',
      'live publisher and socket requests',
      publisherInvocations + socketInvocations,
      'requests',
      ((publisherInvocations + socketInvocations) / MILLION) * p.lambda.requestsPerMillion,
    ),
    lineItem(
      'Lambda',
      'live publisher and socket compute (arm64)',
      gbSeconds,
      'GB-s',
      tieredCost(gbSeconds, p.lambda.arm64GbSecond),
    ),
    lineItem(
      'DynamoDB',
      'live connections table requests (RRU + WRU)',
      rru + wru,
      'request units',
      (rru / MILLION) * ddb.readRequestUnitsPerMillion + (wru / MILLION) * ddb.writeRequestUnitsPerMillion,
    ),
  ];
}

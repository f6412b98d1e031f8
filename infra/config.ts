import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

export type StageName = 'dev' | 'prod';

/** Kinesis capacity: on-demand scales by itself; provisioned pins a shard count (cheaper at steady load). */
export type KinesisCapacity = { mode: 'ON_DEMAND' } | { mode: 'PROVISIONED'; shardCount: number };

/** Auto scaling bounds of one side of a provisioned table, in capacity units per second. */
export interface CapacityRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Hot-tier table capacity (docs/deploy.md#hot-tier-capacity). On-demand bills each request and has
 * no floor; provisioned bills the capacity held, hour by hour, which auto scaling keeps at
 * `targetUtilizationPercent` of what is consumed, between each side's min and max: a fraction of
 * on-demand's price at steady volume, but never less than the mins. A write unit is one write of up
 * to 1 KB a second, a read unit one strongly consistent read of up to 4 KB a second.
 */
export type HotTierCapacity =
  | { readonly mode: 'ON_DEMAND' }
  | {
      readonly mode: 'PROVISIONED';
      readonly read: CapacityRange;
      readonly write: CapacityRange;
      readonly targetUtilizationPercent: number;
    };

/**
 * The warehouse engine a stage runs (docs/deploy.md#warehouse-engine). Athena: Iceberg tables over the
 * lake, billed per query, nothing while idle. Redshift Serverless: billed per second while awake, at
 * least 60 s a wake-up, so it pays only when queries are many.
 */
export type WarehouseEngine = 'athena' | 'redshift';
export const WAREHOUSE_ENGINES: readonly WarehouseEngine[] = ['athena', 'redshift'];

/** Everything that differs between stages, in one typed place; constructs take plain props from here. */
export interface StageConfig {
  readonly stage: StageName;
  readonly logRetention: RetentionDays;
  /** Applied to stateful resources (stream key, table, buckets, log groups). */
  readonly removalPolicy: RemovalPolicy;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly kinesis: { readonly capacity: KinesisCapacity; readonly retention: Duration };
  /** The hot-tier DynamoDB table. */
  readonly hotTier: {
    readonly capacity: HotTierCapacity;
    /**
     * How often the fold function applies the stream's pending item and trend changes to the items
     * and trends (docs/deploy.md#hot-tier-fold).
     */
    readonly foldInterval: Duration;
  };
  /** Kinesis → stream Lambda event source mapping. */
  readonly batch: {
    readonly batchSize: number;
    readonly maxBatchingWindow: Duration;
    readonly parallelizationFactor: number;
    readonly retryAttempts: number;
    readonly maxRecordAge: Duration;
  };
  readonly firehose: { readonly bufferingInterval: Duration; readonly bufferingSize: Size };
  readonly lake: { readonly versioned: boolean; readonly accessLogsExpiration: Duration };
  /**
   * How long each store keeps data, in days (docs/privacy.md#retention): S3 lifecycle rules on the
   * lake, the load step's purge in the warehouse, DynamoDB TTL on profiles and identities.
   */
  readonly retention: {
    /** Lake events (events/, and quarantined copies), after they were delivered. */
    readonly lakeDays: number;
    /** Warehouse events, by event time. */
    readonly warehouseDays: number;
    /** Failed events in the lake (failed/, quarantined copies, Firehose's errors/) and the warehouse. */
    readonly failedEventsDays: number;
    /** Hot-tier profiles and identities, after the id's last event. */
    readonly profileIdleDays: number;
  };
  /**
   * The identity rules' settings (docs/identity.md#rules): every function that links ids or counts
   * persons must apply the same ones, or the hot tier and the warehouse would disagree on who is who.
   */
  readonly identity: {
    /** Ids that never link, besides the built-in junk ids. */
    readonly blocklist: readonly string[];
    /** Anonymous ids one person keeps; later links are refused. */
    readonly maxAnonymousIds: number;
    /** `source` values of direct producers whose `alias` may merge two userIds. */
    readonly mergeSources: readonly string[];
  };
  /** Browser origins are allowed per key (`allowedOrigins`), so the API has no CORS setting of its own. */
  readonly api: {
    readonly throttleRateLimit: number;
    readonly throttleBurstLimit: number;
  };
  /**
   * Both engines' settings stay in every stage, so switching `engine` is a one-word change and either
   * synthesizes; only the chosen engine's resources are deployed.
   */
  readonly warehouse: {
    readonly engine: WarehouseEngine;
    /** Database name (Redshift) and Glue database name prefix (Athena). */
    readonly database: string;
    /** How often the scheduled load step runs; most runs only list the lake (see `minPendingBytes`). */
    readonly loadInterval: Duration;
    /** How stale the warehouse may get while events arrive: no pending lake file waits longer to load. */
    readonly freshness: Duration;
    /**
     * A scheduled run loads only once this much lake data is pending, or once the oldest pending file
     * is older than `freshness` (docs/warehouse.md#when-the-load-step-loads); other runs only list
     * S3. Fewer, larger loads: Redshift bills each wake-up at least 60 s, and every Athena load
     * runs about ten statements, each billed at least 10 MB.
     */
    readonly minPendingBytes: Size;
    readonly athena: {
      /** A query scanning more than this is cancelled by the workgroup: a cost guard per query. */
      readonly bytesScannedCutoffPerQuery: Size;
      /** Query results (CSV files Athena writes for every query) expire after this. */
      readonly resultsRetention: Duration;
    };
    readonly redshift: {
      /**
       * Redshift Processing Units the workgroup starts queries with: 4, a multiple of 8 up to 512, or
       * of 32 up to 1024 (Warehouse refuses others). 4 RPUs suit a warehouse under 32 TB of managed
       * storage; 8 to 24 one under 128 TB; beyond that Redshift wants 32 or more.
       */
      readonly baseCapacity: number;
      /** Ceiling on RPUs when Redshift scales a busy workgroup up: a cost guard. Unset: Redshift's own limit. */
      readonly maxCapacity?: number;
    };
  };
  /**
   * The live view's WebSocket API (docs/live.md#in-aws): off, the stage has no wss endpoint and the
   * edge and the stream publish nothing. Throttling is per stage, on the messages clients send.
   */
  readonly live: {
    readonly enabled: boolean;
    readonly throttleRateLimit: number;
    readonly throttleBurstLimit: number;
    /** Subscriptions held at once across every connection: what one publish fans out to at most. */
    readonly maxSubscriptions: number;
  };
  /** Alarm thresholds: dev is loose (a demo is bursty), prod pages on anything a user would notice. */
  readonly alarms: {
    /** Oldest record the stream processor has not yet handled. */
    readonly iteratorAge: Duration;
    /** Batches on the on-failure queue: every one is data that needs a replay. */
    readonly deadLetterMessages: number;
    /** Age of the oldest record in a Firehose stream not yet delivered to S3. */
    readonly deliveryFreshness: Duration;
    /** Per function, per 5 minutes. */
    readonly lambdaErrors: number;
    readonly lambdaThrottles: number;
    /** API 5xx responses per 5 minutes. */
    readonly api5xx: number;
    /** p99 end-to-end API latency. */
    readonly apiLatencyP99: Duration;
    /**
     * Hot-table reads, and writes, DynamoDB throttled per 5 minutes (each item of a batch counts).
     * Only a provisioned table alarms: a few while auto scaling catches up are retried and lose
     * nothing, more mean its max is too low.
     */
    readonly hotTierThrottles: number;
    /** Subscribed to the alarm topic when set. */
    readonly email?: string;
  };
}

/**
 * Both stages fold every 5 minutes. Each fold rewrites every item and trend touched since the last
 * one, so the interval trades the freshness of neighbour lists and trends for writes: halving it
 * writes a busy item twice as often. A profile's own recent items do not wait for it: the stream
 * writes them with each batch.
 */
const HOT_TIER_FOLD_INTERVAL = Duration.minutes(5);

const dev: StageConfig = {
  stage: 'dev',
  logRetention: RetentionDays.ONE_WEEK,
  removalPolicy: RemovalPolicy.DESTROY,
  logLevel: 'DEBUG',
  // One shard (1 MB/s or 1,000 records/s in) carries a demo and far more at a fraction of on-demand's
  // floor; the IteratorAge alarm, and WriteProvisionedThroughputExceeded on the dashboard, say when to add one.
  kinesis: { capacity: { mode: 'PROVISIONED', shardCount: 1 }, retention: Duration.hours(24) },
  // A demo's few requests cost cents on demand; provisioned would bill its minimum every hour.
  hotTier: { capacity: { mode: 'ON_DEMAND' }, foldInterval: HOT_TIER_FOLD_INTERVAL },
  batch: {
    batchSize: 100,
    maxBatchingWindow: Duration.seconds(1),
    parallelizationFactor: 1,
    retryAttempts: 3,
    maxRecordAge: Duration.hours(1),
  },
  // Small buffers so a demo shows objects in the lake within a minute.
  firehose: { bufferingInterval: Duration.seconds(60), bufferingSize: Size.mebibytes(5) },
  lake: { versioned: false, accessLogsExpiration: Duration.days(30) },
  // A demo stage keeps a month of everything: enough to show trends, little personal data to answer for.
  retention: { lakeDays: 30, warehouseDays: 30, failedEventsDays: 7, profileIdleDays: 30 },
  identity: { blocklist: [], maxAnonymousIds: 100, mergeSources: [] },
  api: {
    throttleRateLimit: 50,
    throttleBurstLimit: 100,
  },
  // Athena: nothing is billed while nobody sends or queries, which is most of a dev stage's life.
  warehouse: {
    engine: 'athena',
    database: 'tributary',
    loadInterval: Duration.minutes(15),
    // An hour, as prod: the live view shows events as they arrive, so the warehouse need not.
    freshness: Duration.hours(1),
    minPendingBytes: Size.mebibytes(64),
    // A demo's queries scan megabytes; 10 GB ($0.05) stops a runaway one early.
    athena: { bytesScannedCutoffPerQuery: Size.gibibytes(10), resultsRetention: Duration.days(7) },
    // The smallest base: a demo holds megabytes. A ceiling on RPUs so that a runaway query in dev
    // cannot scale the bill up to Redshift's own limit.
    redshift: { baseCapacity: 4, maxCapacity: 32 },
  },
  // A console or two watching a demo.
  live: { enabled: true, throttleRateLimit: 20, throttleBurstLimit: 50, maxSubscriptions: 50 },
  alarms: {
    iteratorAge: Duration.minutes(15),
    deadLetterMessages: 1,
    deliveryFreshness: Duration.minutes(15),
    lambdaErrors: 10,
    lambdaThrottles: 10,
    api5xx: 10,
    apiLatencyP99: Duration.seconds(5),
    hotTierThrottles: 100,
  },
};

const prod: StageConfig = {
  stage: 'prod',
  logRetention: RetentionDays.THREE_MONTHS,
  removalPolicy: RemovalPolicy.RETAIN,
  logLevel: 'INFO',
  // A week of replay window: a bad deploy of the stream Lambda can be rewound.
  kinesis: { capacity: { mode: 'ON_DEMAND' }, retention: Duration.days(7) },
  // Provisioned with auto scaling: at 10M events a day (116 a second, 463 at a 4× peak) it costs
  // about half of on-demand (`npm run cost` prints both). The maxes carry that peak at the units an
  // event takes as measured for the cost model at that rate (the `hot*` assumptions in
  // infra/pricing/us-east-1.json: about 2.2 write and 2.7 read units an event with one event a
  // request, the most; the pending log and the 5-minute fold included) at the 70 % target:
  // 463 × 2.2 / 0.7 ≈ 1,500 write units, 463 × 2.7 / 0.7 ≈ 1,800 read units, plus room for the
  // fold's bursts (each run reads and deletes the pending log and rewrites the catalogue within
  // seconds; burst capacity takes most of it):
  // 2,500 and 3,500, set when an event took 3.0 and 4.2 units, and kept as that room. The mins are
  // the floor a quiet stage pays (about $28 a month); a day's rise is slow enough for scaling to
  // follow from them, and burst capacity (five minutes of unused units) takes a short spike. Change them here and deploy (docs/deploy.md#hot-tier-capacity).
  hotTier: {
    capacity: {
      mode: 'PROVISIONED',
      read: { min: 50, max: 3500 },
      write: { min: 50, max: 2500 },
      targetUtilizationPercent: 70,
    },
    foldInterval: HOT_TIER_FOLD_INTERVAL,
  },
  batch: {
    batchSize: 500,
    maxBatchingWindow: Duration.seconds(2),
    parallelizationFactor: 2,
    retryAttempts: 10,
    maxRecordAge: Duration.days(1),
  },
  // Larger, less frequent objects: fewer S3 PUTs and better COPY performance for the warehouse.
  firehose: { bufferingInterval: Duration.seconds(300), bufferingSize: Size.mebibytes(64) },
  lake: { versioned: true, accessLogsExpiration: Duration.days(365) },
  // Lake and warehouse: 13 months, for year-over-year comparisons with a month to spare. Failed
  // events: a month to fix and replay what failed, the sensitive raw payloads no longer. Profiles: six
  // months without a visit, past which a returning visitor's history no longer serves them.
  retention: { lakeDays: 395, warehouseDays: 395, failedEventsDays: 30, profileIdleDays: 180 },
  identity: { blocklist: [], maxAnonymousIds: 100, mergeSources: [] },
  api: {
    throttleRateLimit: 1000,
    throttleBurstLimit: 2000,
  },
  // Redshift until the Athena engine has served a dev stage for a while: it is the engine prod has run
  // on, and it answers dashboards that query all day for a flat RPU rate (docs/cost.md compares both).
  // Loads wait for 64 MB or an hour: the workgroup wakes about once an hour instead of six times.
  warehouse: {
    engine: 'redshift',
    database: 'tributary',
    loadInterval: Duration.minutes(10),
    freshness: Duration.hours(1),
    minPendingBytes: Size.mebibytes(64),
    athena: { bytesScannedCutoffPerQuery: Size.gibibytes(100), resultsRetention: Duration.days(30) },
    // 4 RPUs, the smallest base: 10M events a day for 13 months is about 850 GB of compressed rows,
    // far under the 32 TB a 4-RPU workgroup is meant for, and a week's dashboard query over it waits
    // on latency more than on scanning. Redshift scales a heavy query up, to 64 RPUs at most.
    redshift: { baseCapacity: 4, maxCapacity: 64 },
  },
  live: { enabled: true, throttleRateLimit: 100, throttleBurstLimit: 200, maxSubscriptions: 200 },
  alarms: {
    iteratorAge: Duration.minutes(1),
    deadLetterMessages: 1,
    // Firehose holds records up to its 300 s buffer interval before a write; twice that means it is stuck.
    deliveryFreshness: Duration.minutes(10),
    lambdaErrors: 1,
    lambdaThrottles: 1,
    api5xx: 5,
    apiLatencyP99: Duration.seconds(1),
    // About 0.2 % of the writes of 5 minutes at 10M events a day: more than scaling's catching up.
    hotTierThrottles: 1000,
  },
};

export const STAGES: Readonly<Record<StageName, StageConfig>> = { dev, prod };

/** A stage's config with another warehouse engine: what `-c warehouse=` deploys and the cost model compares. */
export function withWarehouseEngine(config: StageConfig, engine: WarehouseEngine): StageConfig {
  return { ...config, warehouse: { ...config.warehouse, engine } };
}

/** Resolves the `stage` context value; an unknown stage is a deploy-time mistake, so fail loudly. */
export function stageConfig(stage: string): StageConfig {
  if (stage !== 'dev' && stage !== 'prod') {
    throw new Error(`Unknown stage "${stage}": expected one of ${Object.keys(STAGES).join(', ')}`);
  }
  return STAGES[stage];
}

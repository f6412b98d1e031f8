import { isIP } from 'node:net';
import path from 'node:path';
import { DEFAULT_MAX_ANONYMOUS_IDS, identityRules, type IdentityRules } from './events/identity';
import { LIVE_EVENTS_PER_SECOND, LIVE_HEARTBEAT_MS } from './live/live-event';

/**
 * The one place that reads the environment. Everything else receives a typed `Config`.
 * Invalid values fail at start-up with a message naming the variable, never later at first use.
 */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

export interface AwsConfig {
  region: string;
  /** Endpoint overrides, for emulators; undefined means the real AWS endpoint. */
  kinesisEndpoint?: string;
  dynamodbEndpoint?: string;
  firehoseEndpoint?: string;
}

export interface AccessConfig {
  /** Requests a second of keys created without a limit of their own, per kind (burst: twice that). */
  defaultRatePerSecond: { WRITE: number; SECRET: number };
  /** Requests a second of the bootstrap keys. */
  bootstrapRatePerSecond: { WRITE: number; SECRET: number };
  /** How long a key lookup is reused: a revoked key stops working everywhere within this. */
  keyCacheMs: number;
  /** The most one operation may cost, per kind of key. */
  queryBudget: { WRITE: number; SECRET: number };
  maxAliasesPerRootField: number;
  /** memory: one process (the embedded stack); dynamodb: shared by every API instance (AWS). */
  rateLimitStore: 'memory' | 'dynamodb';
}

export interface RetentionConfig {
  /** Lake files (events/, and the quarantine in AWS), by when they were delivered. */
  lakeDays: number;
  /** Warehouse events, by event time. */
  warehouseDays: number;
  /** Failed events, in the lake and the warehouse, by when they were received. */
  failedEventsDays: number;
  /** Hot-tier profiles and identities, after the id's last activity. */
  profileIdleDays: number;
}

export interface Config {
  /** Interface the embedded stack's servers and emulators listen on. */
  host: string;
  port: number;
  dataDir: string;
  /** Undefined locally means "generate one and print it"; in Lambda the key comes from a secret. */
  apiKey?: string;
  apiKeySecretArn?: string;
  /** The bootstrap WRITE key (publishable); undefined locally means "generate one and keep it". */
  writeKey?: string;
  writeKeySecretArn?: string;
  /** HS256 key that signs user tokens; undefined locally means "generate one and keep it". */
  userTokenSecret?: string;
  userTokenSecretArn?: string;
  /** Keys, rate limits and query budgets (docs/access.md). */
  access: AccessConfig;
  /** Host names besides loopback names the embedded stack answers to (DNS-rebinding guard). */
  allowedHosts: string[];
  /** The longest [from, to) an analytics query may span. */
  analyticsMaxRangeDays: number;
  streamName: string;
  tableName: string;
  eventsDeliveryStream: string;
  failedDeliveryStream: string;
  kinesisPort: number;
  dynamodbPort: number;
  /** Shards of the local stream (the embedded stack creates it when missing). */
  localShards: number;
  aws: AwsConfig;
  poller: { batchSize: number; batchWindowMs: number; idleMs: number; maxIdleMs: number };
  lake: { flushBytes: number; flushIntervalMs: number };
  loader: { intervalMs: number };
  /** How often the embedded stack folds pending item and trend changes (docs/hot-tier.md#the-fold). */
  hotFold: { intervalMs: number };
  /** Nice value of the embedded stack's pipeline and DynamoDB emulator threads (docs/local-stack.md#threads). */
  backgroundNiceness: number;
  maxQueryDepth: number;
  /** Hot-tier reads served from memory for up to `ttlMs` (0: off), at most `maxEntries` per kind. */
  hotCache: { ttlMs: number; maxEntries: number };
  /** What one user may put into the hot tier: traits per profile, counts toward an item per day (docs/hot-tier.md). */
  hotLimits: { traitKeys: number; traitBytes: number; countsPerItem: number };
  /** Identity stitching rules (docs/identity.md), the same in the hot tier and the warehouse. */
  identity: IdentityRules;
  /** How long each store keeps data, in days (docs/privacy.md#retention). */
  retention: RetentionConfig;
  /** What one query text may weigh, and what the API keeps in memory for queries, in bytes (docs/api.md). */
  queries: { maxBytes: number; answerCacheBytes: number; persistedCacheBytes: number };
  /** The embedded stack's `liveEvents` subscriptions (docs/live.md). */
  live: {
    /** WebSocket connections open at once; past it a new one is refused. */
    maxConnections: number;
    /** Events one subscription is sent a second at most; past it they are dropped and counted. */
    eventsPerSecond: number;
    /** How often a subscription hears how many events it was not sent. */
    heartbeatMs: number;
  };
  logLevel: string;
  /** Erasing people in AWS (docs/privacy.md#deletion); the embedded stack runs its erasers in process. */
  deletion: {
    /**
     * The function that runs deletion requests, which the GraphQL function wakes after storing one;
     * undefined where none is deployed, and deleteUser then answers DELETIONS_UNAVAILABLE.
     */
    functionName?: string;
    /** The S3 lake bucket the deletion function erases people from. */
    lakeBucket?: string;
  };
  /** The live view in AWS (docs/live.md#in-aws): the WebSocket API's connections table and its publisher. */
  liveAws: {
    /** The connections table; undefined where the live view is not deployed (the edge then publishes nothing). */
    connectionsTable?: string;
    /** The function that fans live events out to subscribers, invoked asynchronously by the edge and the stream. */
    publishFunction?: string;
    /** The WebSocket stage's management endpoint (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`). */
    managementEndpoint?: string;
    /** Subscriptions held at once across every connection: what one publish may fan out to at most. */
    maxSubscriptions: number;
    /** How long the edge and the stream trust their last look at whether anyone subscribes. */
    subscriberCheckMs: number;
  };
  /**
   * The warehouse engine the AWS handlers query, load and erase (TRIBUTARY_WAREHOUSE_ENGINE); undefined
   * where none is configured, and analytics then answer WAREHOUSE_UNAVAILABLE. The embedded stack
   * always runs DuckDB.
   */
  warehouseEngine?: 'redshift' | 'athena';
  /**
   * When the scheduled load step loads (docs/warehouse.md#when-the-load-step-loads): once this many
   * bytes of lake files are pending, or once the oldest pending file is older than the age; other
   * runs list the lake and leave the warehouse asleep. The Redshift engine's load step applies it.
   */
  warehouseLoad: { minPendingBytes: number; maxPendingAgeMs: number };
  athena?: {
    workgroup: string;
    /** The Glue database of the warehouse's Iceberg tables. */
    database: string;
    /** The Glue table of the Parquet files Firehose writes, which the load step merges from. */
    sourceDatabase?: string;
    sourceTable?: string;
    /** Where the load step creates the Iceberg tables (s3://bucket/prefix/); undefined where only queries run. */
    tablesLocation?: string;
    /** The S3 lake the load step merges from; undefined where only queries run. */
    lakeBucket?: string;
    /** A query still running after this long is stopped (StopQueryExecution) and fails as WAREHOUSE_TIMEOUT. */
    queryTimeoutMs: number;
  };
  redshift?: {
    workgroupName: string;
    database: string;
    /** The admin secret the load step signs in with; without it the Data API signs in as the caller's IAM role. */
    secretArn?: string;
    /** A statement still running after this long is cancelled (CancelStatement) and fails as WAREHOUSE_TIMEOUT. */
    queryTimeoutMs: number;
    /** The database user the API reads as; the load step creates it and grants it read-only access. */
    readerUser?: string;
    /** The deletion function's database user, which the load step lets erase people (docs/privacy.md#deletion). */
    deleterUser?: string;
    /** The S3 lake the load step COPYs from; undefined where only queries run. */
    lakeBucket?: string;
    /** The role COPY assumes to read the lake; undefined: the namespace's default IAM role. */
    copyRoleArn?: string;
    /** The load step looks for new lake files this long before the newest it loaded. */
    lakeLookbackHours: number;
    /** Lake files COPYed per load run at most; a backlog drains over several runs. */
    copyMaxFiles: number;
  };
  /** Event schemas and what happens to events without one. */
  events: {
    /** Undefined: the schemas/ folder nearest the code. */
    schemasDir?: string;
    /** The schema files were checked when the function was built (src/events/schema-registry.ts). */
    schemasCheckedAhead: boolean;
    unknownEvents: 'accept' | 'reject';
    /** HMAC key for `x-pii` fields; undefined locally means "generate one and keep it in the data folder". */
    piiSecret?: string;
    /** In AWS: a Secrets Manager secret holding the HMAC key, read once at cold start. */
    piiSecretArn?: string;
    /** What is hashed as personal data in events without a schema (docs/privacy.md). */
    piiDetector: 'email,phone' | 'email' | 'phone' | 'off';
    /** Event times further before receipt than this are flagged too_old. */
    horizonDays: number;
    /** Edge dedupe: a repeated messageId within the window answers DUPLICATE. */
    edgeDedupe: boolean;
    edgeDedupeTtlSeconds: number;
    /**
     * How long the edge and the stream reuse an answer of the suppression list: how long after
     * deleteUser answers another process may still let the person's events through (0: ask every time).
     */
    suppressionCacheMs: number;
  };
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function str(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw === '' ? fallback : raw;
}

function optional(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function host(env: Env, name: string, fallback: string): string {
  const value = str(env, name, fallback);
  if (isIP(value) === 0 && !HOST_NAME.test(value)) {
    throw new ConfigError(`${name} must be an IP address or a host name, got "${value}"`);
  }
  return value;
}

const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
/** A Lambda function's name, or its ARN. */
const LAMBDA_FUNCTION = /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[\w-]{1,64}$/;
/** An https URL without query or fragment (an API Gateway endpoint). */
const HTTPS_URL = /^https:\/\/[\w.-]+(:\d+)?(\/[\w$.-]*)*$/;
/** A Glue database or table name, as Athena takes it unquoted. */
const GLUE_NAME = /^[a-z0-9_]{1,255}$/;
const S3_URL = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/([^\s]*\/)?$/;
/** A Redshift user name the load step can quote safely: `IAMR:<role name>` for an IAM role, or a plain name. */
const REDSHIFT_USER = /^[\w+=,.@:-]{1,127}$/;

function matching(env: Env, name: string, pattern: RegExp): string | undefined {
  const value = optional(env, name);
  if (value !== undefined && !pattern.test(value)) {
    throw new ConfigError(`${name} must match ${pattern}, got "${value}"`);
  }
  return value;
}

/** A comma-separated list, each entry trimmed, empty entries dropped. */
function commaList(env: Env, name: string): string[] {
  return (optional(env, name) ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw))
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

/**
 * TRIBUTARY_WAREHOUSE_ENGINE when set, which needs its engine's workgroup; otherwise Redshift when
 * its workgroup is set (the engine every stage ran before Athena), else Athena when its is.
 */
function warehouseEngine(
  env: Env,
  redshiftWorkgroup: string | undefined,
  athenaWorkgroup: string | undefined,
): Config['warehouseEngine'] {
  if (optional(env, 'TRIBUTARY_WAREHOUSE_ENGINE') === undefined) {
    if (redshiftWorkgroup !== undefined) return 'redshift';
    return athenaWorkgroup === undefined ? undefined : 'athena';
  }
  const engine = oneOf(env, 'TRIBUTARY_WAREHOUSE_ENGINE', ['redshift', 'athena'] as const, 'redshift');
  const workgroup = engine === 'redshift' ? redshiftWorkgroup : athenaWorkgroup;
  if (workgroup === undefined) {
    throw new ConfigError(
      `TRIBUTARY_WAREHOUSE_ENGINE is ${engine}, but TRIBUTARY_${engine.toUpperCase()}_WORKGROUP is not set`,
    );
  }
  return engine;
}

/** Reads and checks the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const apiKey = optional(env, 'TRIBUTARY_API_KEY');
  if (apiKey !== undefined && apiKey.length < 8) {
    throw new ConfigError('TRIBUTARY_API_KEY must be at least 8 characters long');
  }
  const piiSecret = optional(env, 'TRIBUTARY_PII_SECRET');
  if (piiSecret !== undefined && piiSecret.length < 16) {
    throw new ConfigError('TRIBUTARY_PII_SECRET must be at least 16 characters long');
  }
  const writeKey = optional(env, 'TRIBUTARY_WRITE_KEY');
  if (writeKey !== undefined && writeKey.length < 8) {
    throw new ConfigError('TRIBUTARY_WRITE_KEY must be at least 8 characters long');
  }
  if (writeKey !== undefined && writeKey === apiKey) {
    throw new ConfigError('TRIBUTARY_WRITE_KEY must differ from TRIBUTARY_API_KEY');
  }
  const userTokenSecret = optional(env, 'TRIBUTARY_USER_TOKEN_SECRET');
  if (userTokenSecret !== undefined && userTokenSecret.length < 32) {
    throw new ConfigError('TRIBUTARY_USER_TOKEN_SECRET must be at least 32 characters long');
  }
  const defaultWriteRate = int(env, 'TRIBUTARY_DEFAULT_WRITE_RATE_LIMIT', 1000, 1, 100000);
  const defaultSecretRate = int(env, 'TRIBUTARY_DEFAULT_SECRET_RATE_LIMIT', 1000, 1, 100000);
  const workgroupName = optional(env, 'TRIBUTARY_REDSHIFT_WORKGROUP');
  const athenaWorkgroup = optional(env, 'TRIBUTARY_ATHENA_WORKGROUP');
  const lakeBucket = matching(env, 'TRIBUTARY_LAKE_BUCKET', S3_BUCKET_NAME);
  const config: Config = {
    host: host(env, 'TRIBUTARY_HOST', '127.0.0.1'),
    port: int(env, 'PORT', 4000, 0, 65535),
    dataDir: path.resolve(cwd, str(env, 'TRIBUTARY_DATA_DIR', '.tributary')),
    apiKey,
    apiKeySecretArn: optional(env, 'TRIBUTARY_API_KEY_SECRET_ARN'),
    writeKey,
    writeKeySecretArn: optional(env, 'TRIBUTARY_WRITE_KEY_SECRET_ARN'),
    userTokenSecret,
    userTokenSecretArn: optional(env, 'TRIBUTARY_USER_TOKEN_SECRET_ARN'),
    access: {
      defaultRatePerSecond: { WRITE: defaultWriteRate, SECRET: defaultSecretRate },
      bootstrapRatePerSecond: {
        WRITE: int(env, 'TRIBUTARY_WRITE_KEY_RATE_LIMIT', defaultWriteRate, 1, 1000000),
        SECRET: int(env, 'TRIBUTARY_API_KEY_RATE_LIMIT', defaultSecretRate, 1, 1000000),
      },
      keyCacheMs: int(env, 'TRIBUTARY_KEY_CACHE_MS', 60000, 0, 60000),
      queryBudget: {
        WRITE: int(env, 'TRIBUTARY_QUERY_BUDGET_WRITE', 5000, 10, 10000000),
        SECRET: int(env, 'TRIBUTARY_QUERY_BUDGET_SECRET', 20000, 10, 10000000),
      },
      maxAliasesPerRootField: int(env, 'TRIBUTARY_MAX_ALIASES', 10, 1, 1000),
      rateLimitStore: oneOf(env, 'TRIBUTARY_RATE_LIMIT_STORE', ['memory', 'dynamodb'] as const, 'memory'),
    },
    allowedHosts: commaList(env, 'TRIBUTARY_ALLOWED_HOSTS').map((h) => h.toLowerCase()),
    analyticsMaxRangeDays: int(env, 'TRIBUTARY_ANALYTICS_MAX_RANGE_DAYS', 400, 1, 36500),
    streamName: str(env, 'TRIBUTARY_STREAM_NAME', 'tributary-events'),
    tableName: str(env, 'TRIBUTARY_TABLE_NAME', 'tributary-hot'),
    eventsDeliveryStream: str(env, 'TRIBUTARY_EVENTS_DELIVERY_STREAM', 'tributary-events'),
    failedDeliveryStream: str(env, 'TRIBUTARY_FAILED_DELIVERY_STREAM', 'tributary-failed'),
    kinesisPort: int(env, 'TRIBUTARY_KINESIS_PORT', 4567, 0, 65535),
    dynamodbPort: int(env, 'TRIBUTARY_DYNAMODB_PORT', 4568, 0, 65535),
    localShards: int(env, 'TRIBUTARY_LOCAL_SHARDS', 2, 1, 64),
    aws: {
      region: str(env, 'AWS_REGION', str(env, 'AWS_DEFAULT_REGION', 'us-east-1')),
      kinesisEndpoint: optional(env, 'TRIBUTARY_KINESIS_ENDPOINT'),
      dynamodbEndpoint: optional(env, 'TRIBUTARY_DYNAMODB_ENDPOINT'),
      firehoseEndpoint: optional(env, 'TRIBUTARY_FIREHOSE_ENDPOINT'),
    },
    poller: {
      // A shard that is behind fills its batches: the bigger they are, the more of the hot tier's
      // writes to shared keys (items, trends) one batch coalesces (docs/benchmarks.md#sustain).
      batchSize: int(env, 'TRIBUTARY_POLLER_BATCH_SIZE', 2000, 1, 10000),
      batchWindowMs: int(env, 'TRIBUTARY_POLLER_BATCH_WINDOW_MS', 200, 0, 300000),
      idleMs: int(env, 'TRIBUTARY_POLLER_IDLE_MS', 250, 10, 60000),
      maxIdleMs: int(env, 'TRIBUTARY_POLLER_MAX_IDLE_MS', 1000, 10, 60000),
    },
    lake: {
      flushBytes: int(env, 'TRIBUTARY_LAKE_FLUSH_BYTES', 1024 * 1024, 1024),
      flushIntervalMs: int(env, 'TRIBUTARY_LAKE_FLUSH_INTERVAL_MS', 250, 10, 900000),
    },
    loader: { intervalMs: int(env, 'TRIBUTARY_LOADER_INTERVAL_MS', 1000, 50, 3600000) },
    // A second on a laptop, where the emulator's writes cost nothing (under load, four times the last
    // fold's length: src/local/pipeline/fold-loop.ts). The AWS stages fold every 5 minutes (infra/config.ts).
    hotFold: { intervalMs: int(env, 'TRIBUTARY_HOT_FOLD_INTERVAL_MS', 1000, 50, 3600000) },
    // Off by default: ingest first costs the pipeline a sixth of its throughput under load
    // (docs/local-stack.md#threads).
    backgroundNiceness: int(env, 'TRIBUTARY_BACKGROUND_NICENESS', 0, 0, 19),
    maxQueryDepth: int(env, 'TRIBUTARY_MAX_QUERY_DEPTH', 8, 2, 64),
    hotCache: {
      ttlMs: int(env, 'TRIBUTARY_HOT_CACHE_MS', 250, 0, 60000),
      maxEntries: int(env, 'TRIBUTARY_HOT_CACHE_ENTRIES', 10000, 1, 1000000),
    },
    hotLimits: {
      traitKeys: int(env, 'TRIBUTARY_PROFILE_MAX_TRAITS', 100, 1, 1000),
      traitBytes: int(env, 'TRIBUTARY_PROFILE_MAX_TRAIT_BYTES', 16384, 256, 65536),
      countsPerItem: int(env, 'TRIBUTARY_ITEM_COUNTS_PER_USER', 3, 1, 1000),
    },
    identity: identityRules({
      extraJunkIds: commaList(env, 'TRIBUTARY_IDENTITY_BLOCKLIST'),
      maxAnonymousIds: int(env, 'TRIBUTARY_IDENTITY_MAX_ANONYMOUS_IDS', DEFAULT_MAX_ANONYMOUS_IDS, 1, 1000),
      mergeSources: commaList(env, 'TRIBUTARY_IDENTITY_MERGE_SOURCES'),
    }),
    retention: {
      lakeDays: int(env, 'TRIBUTARY_RETENTION_LAKE_DAYS', 395, 1, 36500),
      warehouseDays: int(env, 'TRIBUTARY_RETENTION_WAREHOUSE_DAYS', 395, 1, 36500),
      failedEventsDays: int(env, 'TRIBUTARY_RETENTION_FAILED_EVENTS_DAYS', 30, 1, 36500),
      profileIdleDays: int(env, 'TRIBUTARY_RETENTION_PROFILE_IDLE_DAYS', 180, 1, 36500),
    },
    queries: {
      maxBytes: int(env, 'TRIBUTARY_MAX_QUERY_BYTES', 64 * 1024, 1024, 4 * 1024 * 1024),
      answerCacheBytes: int(env, 'TRIBUTARY_ANSWER_CACHE_BYTES', 16 * 1024 * 1024, 0, 1024 * 1024 * 1024),
      persistedCacheBytes: int(env, 'TRIBUTARY_APQ_CACHE_BYTES', 8 * 1024 * 1024, 0, 1024 * 1024 * 1024),
    },
    live: {
      maxConnections: int(env, 'TRIBUTARY_LIVE_MAX_CONNECTIONS', 100, 1, 10000),
      eventsPerSecond: int(env, 'TRIBUTARY_LIVE_EVENTS_PER_SECOND', LIVE_EVENTS_PER_SECOND, 1, 10000),
      heartbeatMs: int(env, 'TRIBUTARY_LIVE_HEARTBEAT_MS', LIVE_HEARTBEAT_MS, 100, 600000),
    },
    logLevel: str(env, 'TRIBUTARY_LOG_LEVEL', 'INFO'),
    deletion: {
      functionName: matching(env, 'TRIBUTARY_DELETION_FUNCTION', LAMBDA_FUNCTION),
      lakeBucket,
    },
    events: {
      schemasDir: optional(env, 'TRIBUTARY_SCHEMAS_DIR'),
      schemasCheckedAhead:
        oneOf(env, 'TRIBUTARY_SCHEMAS_CHECKED_AHEAD', ['true', 'false'] as const, 'false') === 'true',
      unknownEvents: oneOf(env, 'TRIBUTARY_UNKNOWN_EVENTS', ['accept', 'reject'] as const, 'accept'),
      piiSecret: optional(env, 'TRIBUTARY_PII_SECRET'),
      piiSecretArn: optional(env, 'TRIBUTARY_PII_SECRET_ARN'),
      piiDetector: oneOf(
        env,
        'TRIBUTARY_PII_DETECTOR',
        ['email,phone', 'email', 'phone', 'off'] as const,
        'email,phone',
      ),
      horizonDays: int(env, 'TRIBUTARY_EVENT_HORIZON_DAYS', 30, 1, 3650),
      edgeDedupe: oneOf(env, 'TRIBUTARY_EDGE_DEDUPE', ['on', 'off'] as const, 'off') === 'on',
      edgeDedupeTtlSeconds: int(env, 'TRIBUTARY_EDGE_DEDUPE_TTL_SECONDS', 3 * 86400, 60, 30 * 86400),
      suppressionCacheMs: int(env, 'TRIBUTARY_SUPPRESSION_CACHE_MS', 5000, 0, 60000),
    },
    liveAws: {
      connectionsTable: optional(env, 'TRIBUTARY_LIVE_TABLE'),
      publishFunction: matching(env, 'TRIBUTARY_LIVE_PUBLISH_FUNCTION', LAMBDA_FUNCTION),
      managementEndpoint: matching(env, 'TRIBUTARY_LIVE_ENDPOINT', HTTPS_URL),
      maxSubscriptions: int(env, 'TRIBUTARY_LIVE_MAX_SUBSCRIPTIONS', 200, 1, 10000),
      subscriberCheckMs: int(env, 'TRIBUTARY_LIVE_SUBSCRIBER_CHECK_MS', 5000, 0, 60000),
    },
    warehouseEngine: warehouseEngine(env, workgroupName, athenaWorkgroup),
    warehouseLoad: {
      minPendingBytes: int(env, 'TRIBUTARY_LOAD_MIN_PENDING_BYTES', 64 * 1024 * 1024, 0, 1024 ** 4),
      maxPendingAgeMs: int(env, 'TRIBUTARY_LOAD_MAX_PENDING_MINUTES', 60, 1, 7 * 24 * 60) * 60_000,
    },
    athena: athenaWorkgroup
      ? {
          workgroup: athenaWorkgroup,
          database: matching(env, 'TRIBUTARY_ATHENA_DATABASE', GLUE_NAME) ?? 'tributary',
          sourceDatabase: matching(env, 'TRIBUTARY_ATHENA_SOURCE_DATABASE', GLUE_NAME),
          sourceTable: matching(env, 'TRIBUTARY_ATHENA_SOURCE_TABLE', GLUE_NAME),
          tablesLocation: matching(env, 'TRIBUTARY_ATHENA_TABLES_LOCATION', S3_URL),
          lakeBucket,
          queryTimeoutMs: int(env, 'TRIBUTARY_ATHENA_QUERY_TIMEOUT_MS', 60000, 1000, 1800000),
        }
      : undefined,
    redshift: workgroupName
      ? {
          workgroupName,
          database: str(env, 'TRIBUTARY_REDSHIFT_DATABASE', 'tributary'),
          secretArn: optional(env, 'TRIBUTARY_REDSHIFT_SECRET_ARN'),
          queryTimeoutMs: int(env, 'TRIBUTARY_REDSHIFT_QUERY_TIMEOUT_MS', 60000, 1000, 900000),
          readerUser: matching(env, 'TRIBUTARY_REDSHIFT_READER_USER', REDSHIFT_USER),
          deleterUser: matching(env, 'TRIBUTARY_REDSHIFT_DELETER_USER', REDSHIFT_USER),
          lakeBucket,
          copyRoleArn: matching(env, 'TRIBUTARY_REDSHIFT_COPY_ROLE_ARN', IAM_ROLE_ARN),
          lakeLookbackHours: int(env, 'TRIBUTARY_REDSHIFT_LAKE_LOOKBACK_HOURS', 48, 1, 24 * 366),
          copyMaxFiles: int(env, 'TRIBUTARY_REDSHIFT_COPY_MAX_FILES', 100, 1, 100000),
        }
      : undefined,
  };
  return config;
}

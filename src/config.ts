import path from 'node:path';

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

export interface Config {
  port: number;
  dataDir: string;
  /** Undefined locally means "generate one and print it"; in Lambda the key comes from a secret. */
  apiKey?: string;
  apiKeySecretArn?: string;
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
  maxQueryDepth: number;
  /** Hot-tier reads served from memory for up to `ttlMs` (0: off), at most `maxEntries` per kind. */
  hotCache: { ttlMs: number; maxEntries: number };
  logLevel: string;
  redshift?: {
    workgroupName: string;
    database: string;
    secretArn?: string;
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
    unknownEvents: 'accept' | 'reject';
    /** HMAC key for `x-pii` fields; undefined locally means "generate one and keep it in the data folder". */
    piiSecret?: string;
    /** In AWS: a Secrets Manager secret holding the HMAC key, read once at cold start. */
    piiSecretArn?: string;
    /** Event times further before receipt than this are flagged too_old. */
    horizonDays: number;
    /** Edge dedupe: a repeated messageId within the window answers DUPLICATE. */
    edgeDedupe: boolean;
    edgeDedupeTtlSeconds: number;
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

const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

function matching(env: Env, name: string, pattern: RegExp): string | undefined {
  const value = optional(env, name);
  if (value !== undefined && !pattern.test(value)) {
    throw new ConfigError(`${name} must match ${pattern}, got "${value}"`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw))
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
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
  const workgroupName = optional(env, 'TRIBUTARY_REDSHIFT_WORKGROUP');
  const config: Config = {
    port: int(env, 'PORT', 4000, 0, 65535),
    dataDir: path.resolve(cwd, str(env, 'TRIBUTARY_DATA_DIR', '.tributary')),
    apiKey,
    apiKeySecretArn: optional(env, 'TRIBUTARY_API_KEY_SECRET_ARN'),
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
      batchSize: int(env, 'TRIBUTARY_POLLER_BATCH_SIZE', 500, 1, 10000),
      batchWindowMs: int(env, 'TRIBUTARY_POLLER_BATCH_WINDOW_MS', 200, 0, 300000),
      idleMs: int(env, 'TRIBUTARY_POLLER_IDLE_MS', 250, 10, 60000),
      maxIdleMs: int(env, 'TRIBUTARY_POLLER_MAX_IDLE_MS', 1000, 10, 60000),
    },
    lake: {
      flushBytes: int(env, 'TRIBUTARY_LAKE_FLUSH_BYTES', 1024 * 1024, 1024),
      flushIntervalMs: int(env, 'TRIBUTARY_LAKE_FLUSH_INTERVAL_MS', 250, 10, 900000),
    },
    loader: { intervalMs: int(env, 'TRIBUTARY_LOADER_INTERVAL_MS', 1000, 50, 3600000) },
    maxQueryDepth: int(env, 'TRIBUTARY_MAX_QUERY_DEPTH', 8, 2, 64),
    hotCache: {
      ttlMs: int(env, 'TRIBUTARY_HOT_CACHE_MS', 250, 0, 60000),
      maxEntries: int(env, 'TRIBUTARY_HOT_CACHE_ENTRIES', 10000, 1, 1000000),
    },
    logLevel: str(env, 'TRIBUTARY_LOG_LEVEL', 'INFO'),
    events: {
      schemasDir: optional(env, 'TRIBUTARY_SCHEMAS_DIR'),
      unknownEvents: oneOf(env, 'TRIBUTARY_UNKNOWN_EVENTS', ['accept', 'reject'] as const, 'accept'),
      piiSecret: optional(env, 'TRIBUTARY_PII_SECRET'),
      piiSecretArn: optional(env, 'TRIBUTARY_PII_SECRET_ARN'),
      horizonDays: int(env, 'TRIBUTARY_EVENT_HORIZON_DAYS', 30, 1, 3650),
      edgeDedupe: oneOf(env, 'TRIBUTARY_EDGE_DEDUPE', ['on', 'off'] as const, 'off') === 'on',
      edgeDedupeTtlSeconds: int(env, 'TRIBUTARY_EDGE_DEDUPE_TTL_SECONDS', 3 * 86400, 60, 30 * 86400),
    },
    redshift: workgroupName
      ? {
          workgroupName,
          database: str(env, 'TRIBUTARY_REDSHIFT_DATABASE', 'tributary'),
          secretArn: optional(env, 'TRIBUTARY_REDSHIFT_SECRET_ARN'),
          lakeBucket: matching(env, 'TRIBUTARY_LAKE_BUCKET', S3_BUCKET_NAME),
          copyRoleArn: matching(env, 'TRIBUTARY_REDSHIFT_COPY_ROLE_ARN', IAM_ROLE_ARN),
          lakeLookbackHours: int(env, 'TRIBUTARY_REDSHIFT_LAKE_LOOKBACK_HOURS', 48, 1, 24 * 366),
          copyMaxFiles: int(env, 'TRIBUTARY_REDSHIFT_COPY_MAX_FILES', 100, 1, 100000),
        }
      : undefined,
  };
  return config;
}

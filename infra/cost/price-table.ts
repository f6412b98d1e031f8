import fs from 'node:fs';
import path from 'node:path';
import { CostModelError } from './errors';

/** A graduated price: `price` applies to the quantity up to `upTo` (null: no upper bound), past the tier before. */
export interface PriceTier {
  readonly upTo: number | null;
  readonly price: number;
}

export interface Prices {
  readonly apiGateway: {
    readonly httpApiRequestsPerMillion: readonly PriceTier[];
    readonly meteringIncrementBytes: number;
    /** WebSocket API (the live view): messages sent and received, each metered per 32 KB. */
    readonly webSocketMessagesPerMillion: readonly PriceTier[];
    readonly webSocketConnectionMinutesPerMillion: number;
  };
  readonly lambda: { readonly arm64GbSecond: readonly PriceTier[]; readonly requestsPerMillion: number };
  readonly kinesisOnDemand: {
    readonly streamHour: number;
    readonly ingestedGb: number;
    readonly retrievedGb: number;
    readonly extendedRetentionGbMonth: number;
    readonly recordRoundingBytes: number;
  };
  readonly kinesisProvisioned: {
    readonly shardHour: number;
    readonly putPayloadUnitsPerMillion: number;
    /** A PUT payload unit: each record is rounded up to units of this size. */
    readonly putPayloadUnitBytes: number;
    /** Retention beyond 24 hours (up to 7 days), per shard hour. */
    readonly extendedRetentionShardHour: number;
    /** What one shard takes in, for sizing a provisioned stream to its peak. */
    readonly shardWriteRecordsPerSecond: number;
    readonly shardWriteBytesPerSecond: number;
  };
  readonly firehose: {
    readonly directPutIngestedGb: readonly PriceTier[];
    /** Record format conversion (JSON to Parquet), per GB converted. */
    readonly formatConversionGb: number;
    readonly recordRoundingBytes: number;
  };
  readonly s3: {
    readonly standardGbMonth: number;
    readonly intelligentTieringFrequentGbMonth: number;
    readonly intelligentTieringInfrequentGbMonth: number;
    readonly intelligentTieringArchiveInstantGbMonth: number;
    readonly intelligentTieringMonitoringPer1000Objects: number;
    readonly intelligentTieringMonitoringMinObjectBytes: number;
    readonly glacierInstantRetrievalGbMonth: number;
    readonly putPer1000: number;
    readonly getPer1000: number;
    readonly transitionToIntelligentTieringPer1000: number;
    readonly transitionToGlacierInstantRetrievalPer1000: number;
  };
  readonly dynamodbOnDemand: {
    readonly writeRequestUnitsPerMillion: number;
    readonly readRequestUnitsPerMillion: number;
    readonly storageGbMonth: number;
    readonly pointInTimeRecoveryGbMonth: number;
  };
  /** Provisioned capacity (the hot table when its stage provisions it), per unit held an hour. */
  readonly dynamodbProvisioned: {
    readonly writeCapacityUnitHour: number;
    readonly readCapacityUnitHour: number;
  };
  readonly redshiftServerless: {
    readonly rpuHour: number;
    readonly minimumChargeSeconds: number;
    readonly managedStorageGbMonth: number;
  };
  readonly athena: {
    /** Per TB (2^40 bytes) of data scanned. */
    readonly perTbScanned: number;
    /** Each statement is billed at least this many bytes scanned. */
    readonly minimumBytesPerQuery: number;
  };
  readonly glue: { readonly requestsPerMillion: number };
}

export const ASSUMPTION_NAMES = [
  'eventsPerRequest',
  'graphqlDurationMs',
  'hotReadsPerEvent',
  'onDemandShards',
  'streamInvocationOverheadMs',
  'streamPerEventMs',
  'failedEventFraction',
  'lakeCompressionRatio',
  'storageMonths',
  'profilesPerRequest',
  'hotWruPerEvent',
  'hotWruPerProfileWrite',
  'hotRruPerProfileWrite',
  'hotPendingBytesPerEvent',
  'hotPendingItemBytes',
  'hotWruPerFold',
  'hotRruPerFold',
  'hotCatalogueItems',
  'hotItemsPerEvent',
  'hotFoldMs',
  'dynamoDbScalingLag',
  'profilesPerDailyEvent',
  'profileHeadBytes',
  'profileBaseBytes',
  'loadFixedSeconds',
  'loadSecondsPerGb',
  'warehouseQueryHoursPerDay',
  'warehouseStorageRatio',
  'deletionsPerMonth',
  'deletionIdleRunMs',
  'deletionSecondsPerLakeGb',
  'peakToAverage',
  'loadCheckMs',
  'athenaQueriesPerDay',
  'athenaQueryDays',
  'athenaQueryColumnFraction',
  'athenaMergeKeyBytesPerEvent',
  'athenaMergeDays',
  'athenaS3RequestsPerQuery',
  'glueRequestsPerQuery',
  'liveConnectionHoursPerDay',
  'livePublishDurationMs',
  'liveInstancesChecking',
] as const;

export type AssumptionName = (typeof ASSUMPTION_NAMES)[number];

/** Usage the prices apply to, each with the reason it was chosen (printed with every estimate). */
export type Assumptions = Readonly<Record<AssumptionName, { readonly value: number; readonly why: string }>>;

export interface PriceTable {
  readonly region: string;
  readonly currency: string;
  /** The date the prices were written down. */
  readonly asOf: string;
  readonly source: string;
  readonly units: string;
  readonly prices: Prices;
  readonly assumptions: Assumptions;
  readonly excluded: readonly string[];
}

export const DEFAULT_PRICE_TABLE = path.join(__dirname, '..', 'pricing', 'us-east-1.json');

/** Reads and checks a price table: every price a finite non-negative number, every assumption present. */
export function loadPriceTable(file: string = DEFAULT_PRICE_TABLE): PriceTable {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CostModelError(`Cannot read price table ${file}`, 'PRICE_TABLE_INVALID', { cause: error });
  }
  return checkPriceTable(raw, file);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function fail(file: string, where: string, what: string): never {
  throw new CostModelError(`Price table ${file}: ${where} ${what}`, 'PRICE_TABLE_INVALID');
}

function checkNumbers(value: unknown, where: string, file: string): void {
  if (Array.isArray(value)) {
    if (value.length === 0) fail(file, where, 'has no tiers');
    value.forEach((tier, i) => {
      if (!isRecord(tier)) fail(file, `${where}[${i}]`, 'is not a tier');
      checkNumbers(tier.price, `${where}[${i}].price`, file);
      const last = i === value.length - 1;
      if (last ? tier.upTo !== null : typeof tier.upTo !== 'number') {
        fail(file, `${where}[${i}].upTo`, last ? 'must be null (the last tier)' : 'must be a number');
      }
    });
  } else if (isRecord(value)) {
    for (const [key, child] of Object.entries(value)) checkNumbers(child, `${where}.${key}`, file);
  } else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(file, where, 'must be a non-negative number');
  }
}

/** Validates an already parsed table (exported for tests that build tables in memory). */
export function checkPriceTable(raw: unknown, file = '<memory>'): PriceTable {
  if (!isRecord(raw)) fail(file, 'the document', 'is not an object');
  for (const key of ['region', 'currency', 'asOf', 'source', 'units']) {
    if (typeof raw[key] !== 'string' || raw[key] === '') fail(file, key, 'must be a non-empty string');
  }
  if (!isRecord(raw.prices)) fail(file, 'prices', 'is missing');
  checkNumbers(raw.prices, 'prices', file);
  if (!isRecord(raw.assumptions)) fail(file, 'assumptions', 'are missing');
  for (const name of ASSUMPTION_NAMES) {
    const assumption = raw.assumptions[name];
    if (!isRecord(assumption) || typeof assumption.why !== 'string')
      fail(file, `assumptions.${name}`, 'is missing');
    checkNumbers(assumption.value, `assumptions.${name}.value`, file);
  }
  if (!Array.isArray(raw.excluded)) fail(file, 'excluded', 'must list what the estimate leaves out');
  // A price missing from `prices` is caught by estimateMonthlyCost, which rejects any line that is not a number.
  return raw as unknown as PriceTable;
}

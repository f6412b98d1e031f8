import type { PriceTable, PriceTier } from './price-table';

export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
export const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;
export const GB = 1024 ** 3;
export const MILLION = 1_000_000;

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

/**
 * Bytes Firehose bills per document when a delivery of `documentsPerCall` documents of `documentBytes`
 * packs them into records of at most `packedBytes`, each record rounded up to `increment`. Fewer than
 * one document a call on average means calls of one document, when they come at all.
 */
export function firehoseBilledBytesPerDocument(
  documentsPerCall: number,
  documentBytes: number,
  packedBytes: number,
  increment: number,
): number {
  const perCall = Math.max(1, documentsPerCall);
  const perRecord = Math.max(1, Math.floor(packedBytes / documentBytes));
  const fullRecords = Math.floor(perCall / perRecord);
  const rest = perCall - fullRecords * perRecord;
  const billed =
    fullRecords * roundUp(perRecord * documentBytes, increment) +
    (rest > 0 ? roundUp(rest * documentBytes, increment) : 0);
  return billed / perCall;
}

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

import type { KinesisCapacity } from '../config';
import { DAYS_PER_MONTH, GB, HOURS_PER_MONTH, MILLION, roundUp } from './pricing';
import { type LineItem, type Workload, lineItem } from './service-costs';

/** What the stream needs at its peak rate, and what the other capacity mode would cost. */
export interface KinesisSizing {
  readonly mode: KinesisCapacity['mode'];
  /** Shards the peak rate (`peakToAverage` times the day's average) needs: 1 MB/s and 1,000 records/s each. */
  readonly shardsNeededAtPeak: number;
  /** The same traffic in the other mode: on-demand, or as many provisioned shards as the peak needs. */
  readonly otherMode: {
    readonly mode: KinesisCapacity['mode'];
    readonly shards?: number;
    readonly cost: number;
  };
}

/** Kinesis in the stage's capacity mode. */
export function kinesisCost(w: Workload): LineItem[] {
  const { capacity } = w.stage.kinesis;
  return capacity.mode === 'ON_DEMAND' ? onDemandCost(w) : provisionedCost(w, capacity.shardCount);
}

/** Shards needed at the peak rate, and the other mode's monthly cost. */
export function kinesisSizing(w: Workload): KinesisSizing {
  const { eventsPerDay, eventBytes, assumption: a, prices: p } = w;
  const { capacity } = w.stage.kinesis;
  const peakRecords = (eventsPerDay / 86_400) * a('peakToAverage');
  const { shardWriteRecordsPerSecond, shardWriteBytesPerSecond } = p.kinesisProvisioned;
  const shardsNeededAtPeak = Math.max(
    1,
    Math.ceil(peakRecords / shardWriteRecordsPerSecond),
    Math.ceil((peakRecords * eventBytes) / shardWriteBytesPerSecond),
  );
  const sum = (lines: LineItem[]) => lines.reduce((total, line) => total + line.cost, 0);
  const otherMode =
    capacity.mode === 'ON_DEMAND'
      ? {
          mode: 'PROVISIONED' as const,
          shards: shardsNeededAtPeak,
          cost: sum(provisionedCost(w, shardsNeededAtPeak)),
        }
      : { mode: 'ON_DEMAND' as const, cost: sum(onDemandCost(w)) };
  return { mode: capacity.mode, shardsNeededAtPeak, otherMode };
}

/** On-demand: the stream hour, every record rounded up to 1 KB, written once and read once (one consumer). */
function onDemandCost(w: Workload): LineItem[] {
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

/** Provisioned: shard hours whatever the traffic, PUT payload units (25 KB each), reads included. */
function provisionedCost(w: Workload, shards: number): LineItem[] {
  const { events, eventBytes, stage } = w;
  const prices = w.prices.kinesisProvisioned;
  const shardHours = shards * HOURS_PER_MONTH;
  const units = events * Math.ceil(eventBytes / prices.putPayloadUnitBytes);
  const lines = [
    lineItem(
      'Kinesis',
      `shard hours (${shards} provisioned)`,
      shardHours,
      'shard-hours',
      shardHours * prices.shardHour,
    ),
    lineItem(
      'Kinesis',
      'PUT payload units (25 KB)',
      units,
      'units',
      (units / MILLION) * prices.putPayloadUnitsPerMillion,
    ),
  ];
  if (stage.kinesis.retention.toHours() > 24) {
    lines.push(
      lineItem(
        'Kinesis',
        'extended retention (up to 7 days)',
        shardHours,
        'shard-hours',
        shardHours * prices.extendedRetentionShardHour,
      ),
    );
  }
  return lines;
}

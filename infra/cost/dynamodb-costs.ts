import type { CapacityRange, HotTierCapacity } from '../config';
import { GB, HOURS_PER_MONTH, MILLION, SECONDS_PER_MONTH } from './pricing';
import { type LineItem, type Workload, hotTableRequestUnits, lineItem } from './service-costs';

type ProvisionedCapacity = Extract<HotTierCapacity, { mode: 'PROVISIONED' }>;

/**
 * What an on-demand stage is compared with: auto scaling at the usual 70 % target, from a single
 * unit a side up, so the comparison has no floor of its own choosing.
 */
export const COMPARED_PROVISIONED_CAPACITY: ProvisionedCapacity = {
  mode: 'PROVISIONED',
  read: { min: 1, max: Number.POSITIVE_INFINITY },
  write: { min: 1, max: Number.POSITIVE_INFINITY },
  targetUtilizationPercent: 70,
};

/** The hot table's load in capacity units a second, and what the other capacity mode would cost. */
export interface DynamoDbSizing {
  readonly mode: HotTierCapacity['mode'];
  /** Units a second at the day's average, and at its peak (`peakToAverage` times the average). */
  readonly average: { readonly read: number; readonly write: number };
  readonly peak: { readonly read: number; readonly write: number };
  /** Units auto scaling holds on average (provisioned stages only). */
  readonly held?: { readonly read: number; readonly write: number };
  readonly otherMode: {
    readonly mode: HotTierCapacity['mode'];
    /** The bounds the provisioned comparison assumed. */
    readonly capacity?: ProvisionedCapacity;
    readonly cost: number;
  };
}

/** The hot table in the stage's capacity mode: requests or held capacity, storage, point-in-time recovery. */
export function dynamoDbCost(w: Workload): LineItem[] {
  const { capacity } = w.stage.hotTier;
  const requests = capacity.mode === 'ON_DEMAND' ? onDemandCost(w) : provisionedCost(w, capacity);
  return [...requests, ...storageCost(w)];
}

/** The average and peak load, what auto scaling holds, and the other mode's monthly cost. */
export function dynamoDbSizing(w: Workload): DynamoDbSizing {
  const { capacity } = w.stage.hotTier;
  const { wru, rru } = hotTableRequestUnits(w);
  const average = { read: rru / SECONDS_PER_MONTH, write: wru / SECONDS_PER_MONTH };
  const peakToAverage = w.assumption('peakToAverage');
  const peak = { read: average.read * peakToAverage, write: average.write * peakToAverage };
  const sum = (lines: LineItem[]) => lines.reduce((total, line) => total + line.cost, 0);
  if (capacity.mode === 'ON_DEMAND') {
    const compared = COMPARED_PROVISIONED_CAPACITY;
    return {
      mode: capacity.mode,
      average,
      peak,
      otherMode: { mode: 'PROVISIONED', capacity: compared, cost: sum(provisionedCost(w, compared)) },
    };
  }
  return {
    mode: capacity.mode,
    average,
    peak,
    held: heldUnits(w, capacity),
    otherMode: { mode: 'ON_DEMAND', cost: sum(onDemandCost(w)) },
  };
}

/** A provisioned table whose max is below its peak load throttles there: the estimate says so. */
export function dynamoDbWarnings(w: Workload, sizing: DynamoDbSizing): string[] {
  const { capacity } = w.stage.hotTier;
  if (capacity.mode !== 'PROVISIONED') return [];
  return (['read', 'write'] as const)
    .filter((side) => sizing.peak[side] > capacity[side].max)
    .map(
      (side) =>
        `${w.stage.stage}'s hot table may hold ${capacity[side].max} ${side} units a second, but this rate needs ${Math.ceil(sizing.peak[side])} at its peak: it throttles there (retried, so later, not lost); raise hotTier.capacity.${side}.max (infra/config.ts) or switch to on-demand`,
    );
}

/**
 * Units a second auto scaling holds on average, each side: target tracking keeps consumed units at
 * the target share of provisioned ones, following the day's curve, so the average held is the
 * average consumed ÷ target, times `dynamoDbScalingLag` for scaling in late; never below the min,
 * nor above the max (past it, requests throttle and wait).
 */
function heldUnits(w: Workload, capacity: ProvisionedCapacity): { read: number; write: number } {
  const { wru, rru } = hotTableRequestUnits(w);
  const target = capacity.targetUtilizationPercent / 100;
  const lag = w.assumption('dynamoDbScalingLag');
  const held = (unitsPerMonth: number, range: CapacityRange): number =>
    Math.min(range.max, Math.max(range.min, (unitsPerMonth / SECONDS_PER_MONTH / target) * lag));
  return { read: held(rru, capacity.read), write: held(wru, capacity.write) };
}

/** On-demand: every request unit. */
function onDemandCost(w: Workload): LineItem[] {
  const prices = w.prices.dynamodbOnDemand;
  const { wru, rru } = hotTableRequestUnits(w);
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
  ];
}

/** Provisioned: the capacity held, hour by hour, whatever share of it the requests use. */
function provisionedCost(w: Workload, capacity: ProvisionedCapacity): LineItem[] {
  const prices = w.prices.dynamodbProvisioned;
  const held = heldUnits(w, capacity);
  const bounds = (range: CapacityRange) =>
    Number.isFinite(range.max) ? `${range.min}–${range.max}` : `at least ${range.min}`;
  const scaling = `auto scaling at ${capacity.targetUtilizationPercent} %`;
  const writeHours = held.write * HOURS_PER_MONTH;
  const readHours = held.read * HOURS_PER_MONTH;
  return [
    lineItem(
      'DynamoDB',
      `write capacity (provisioned, ${scaling}, ${bounds(capacity.write)} WCU)`,
      writeHours,
      'WCU-hours',
      writeHours * prices.writeCapacityUnitHour,
    ),
    lineItem(
      'DynamoDB',
      `read capacity (provisioned, ${scaling}, ${bounds(capacity.read)} RCU)`,
      readHours,
      'RCU-hours',
      readHours * prices.readCapacityUnitHour,
    ),
  ];
}

/** The profiles stored, and point-in-time recovery of them: the same in either mode. */
function storageCost(w: Workload): LineItem[] {
  const { eventsPerDay, assumption: a } = w;
  const prices = w.prices.dynamodbOnDemand;
  const tableGb =
    (eventsPerDay * a('profilesPerDailyEvent') * (a('profileHeadBytes') + a('profileBaseBytes'))) / GB;
  return [
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

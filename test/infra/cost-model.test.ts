import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { type StageConfig, stageConfig } from '../../infra/config';
import { CostModelError } from '../../infra/cost/errors';
import {
  type CostEstimate,
  type LineItem,
  estimateMonthlyCost,
  firehoseObjectsPerMonth,
  lakePriceByAgeMonth,
  roundUp,
  tieredCost,
} from '../../infra/cost/model';
import { type PriceTable, checkPriceTable, loadPriceTable } from '../../infra/cost/price-table';

const table = loadPriceTable();
const dev = stageConfig('dev');
const prod = stageConfig('prod');
const GB = 1024 ** 3;
/** 1M events a day over a 730-hour month. */
const EVENTS = (1_000_000 * 730) / 24;

const line = (estimate: CostEstimate, service: string, item: RegExp): LineItem => {
  const found = estimate.lines.filter((l) => l.service === service && item.test(l.item));
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('price table', () => {
  it('records its region and date and holds the published us-east-1 prices', () => {
    expect(table.region).toBe('us-east-1');
    expect(table.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(table.prices.kinesisOnDemand).toMatchObject({
      streamHour: 0.04,
      ingestedGb: 0.08,
      retrievedGb: 0.04,
    });
    expect(table.prices.firehose.recordRoundingBytes).toBe(5120);
    expect(table.prices.redshiftServerless.rpuHour).toBe(0.375);
  });

  it('rejects a table without an assumption or with a non-numeric price', () => {
    const raw = JSON.parse(JSON.stringify(table)) as Record<string, Record<string, unknown>>;
    delete raw.assumptions!.wruPerEvent;
    expect(() => checkPriceTable(raw)).toThrow(/assumptions.wruPerEvent is missing/);
    const bad = JSON.parse(JSON.stringify(table)) as { prices: { s3: Record<string, unknown> } };
    bad.prices.s3.putPer1000 = 'five';
    expect(() => checkPriceTable(bad)).toThrow(
      expect.objectContaining({
        code: 'PRICE_TABLE_INVALID',
        message: expect.stringMatching(/prices.s3.putPer1000/),
      }),
    );
  });

  it('refuses to price with a price missing rather than print NaN', () => {
    const partial = JSON.parse(JSON.stringify(table)) as { prices: { s3: Record<string, unknown> } };
    delete partial.prices.s3.getPer1000;
    const unchecked = partial as unknown as PriceTable;
    expect(() => estimateMonthlyCost({ eventsPerDay: 1e6, eventBytes: 1024 }, unchecked, dev)).toThrow(
      expect.objectContaining({ code: 'PRICE_TABLE_INVALID' }),
    );
  });
});

describe('pricing rules', () => {
  it('rounds records up to the billing increment', () => {
    expect(roundUp(1, 5120)).toBe(5120);
    expect(roundUp(5120, 5120)).toBe(5120);
    expect(roundUp(5121, 5120)).toBe(10240);
    expect(roundUp(1500, 1024)).toBe(2048);
  });

  it('applies graduated tiers to the part of the quantity in each tier', () => {
    const api = table.prices.apiGateway.httpApiRequestsPerMillion;
    expect(tieredCost(100_000_000, api, 1e6)).toBeCloseTo(100, 9);
    // 300M at $1.00 plus 100M at $0.90.
    expect(tieredCost(400_000_000, api, 1e6)).toBeCloseTo(390, 9);
  });

  it('counts Firehose objects by interval when traffic is low, by buffer size when it is high', () => {
    const month = 730 * 3600;
    expect(firehoseObjectsPerMonth(1e9, 1e6, 300, 64 * 1024 ** 2)).toBeCloseTo(month / 300, 6);
    expect(firehoseObjectsPerMonth(1e13, 1e10, 300, 64 * 1024 ** 2)).toBeCloseTo(1e13 / (64 * 1024 ** 2), 6);
    expect(firehoseObjectsPerMonth(1000, 3, 300, 64 * 1024 ** 2)).toBe(3);
    expect(firehoseObjectsPerMonth(0, 0, 300, 1)).toBe(0);
  });

  it('follows the lake lifecycle: Standard, Intelligent-Tiering tiers, then Glacier IR', () => {
    const s3 = table.prices.s3;
    expect([1, 2, 3, 4, 5, 6, 7, 12].map((age) => lakePriceByAgeMonth(age, s3))).toEqual([
      0.023, 0.023, 0.0125, 0.0125, 0.004, 0.004, 0.004, 0.004,
    ]);
  });
});

describe('estimateMonthlyCost', () => {
  it('prices Kinesis on-demand by the hour and by 1 KB-rounded GB in and out (1M events/day of 1500 B)', () => {
    const estimate = estimateMonthlyCost({ eventsPerDay: 1_000_000, eventBytes: 1500 }, table, dev);
    const gb = (EVENTS * 2048) / GB; // 58.0152 GB
    expect(gb).toBeCloseTo(58.0152, 4);
    expect(line(estimate, 'Kinesis', /stream hours/).cost).toBeCloseTo(29.2, 9);
    expect(line(estimate, 'Kinesis', /ingested/).cost).toBeCloseTo(4.6412, 4);
    expect(line(estimate, 'Kinesis', /retrieved/).cost).toBeCloseTo(2.3206, 4);
    // dev keeps 24 h, which is included.
    expect(estimate.lines.some((l) => /retention/.test(l.item))).toBe(false);
    expect(estimate.byService.Kinesis).toBeCloseTo(29.2 + 4.6412 + 2.3206, 3);
  });

  it('bills a week of Kinesis retention beyond the first day (prod)', () => {
    const estimate = estimateMonthlyCost({ eventsPerDay: 1_000_000, eventBytes: 1024 }, table, prod);
    // 1M × 1 KB a day = 0.9537 GB/day held 6 extra days = 5.722 GB-months × $0.10.
    expect(line(estimate, 'Kinesis', /retention/).cost).toBeCloseTo(0.5722, 4);
  });

  it('rounds every Firehose record up to 5 KB', () => {
    const cost = (eventBytes: number) =>
      line(estimateMonthlyCost({ eventsPerDay: 1_000_000, eventBytes }, table, dev), 'Firehose', /ingested/)
        .cost;
    // 30,416,667 records × 5 KiB = 145.0379 GB × $0.029.
    expect(cost(1500)).toBeCloseTo(4.2061, 4);
    expect(cost(1)).toBeCloseTo(cost(5120), 12);
    expect(cost(5121)).toBeCloseTo(2 * cost(5120), 12);
  });

  it('charges converting the valid events to Parquet, on the same rounded volume', () => {
    const estimate = estimateMonthlyCost({ eventsPerDay: 1_000_000, eventBytes: 1500 }, table, dev);
    // 99 % of 30,416,667 records × 5 KiB = 143.5875 GB × $0.018.
    expect(line(estimate, 'Firehose', /format conversion/).cost).toBeCloseTo(2.5846, 4);
  });

  it('charges API Gateway per request and DynamoDB per write unit', () => {
    const estimate = estimateMonthlyCost({ eventsPerDay: 1_000_000, eventBytes: 1024 }, table, dev);
    // One request per event plus one read request per ten events: 1.1 × 30,416,667 requests at $1/M.
    expect(estimate.byService['API Gateway']).toBeCloseTo(33.4583, 4);
    // One WRU per event at $0.625/M.
    expect(line(estimate, 'DynamoDB', /write/).cost).toBeCloseTo(19.0104, 4);
    const batched = estimateMonthlyCost(
      { eventsPerDay: 1_000_000, eventBytes: 1024, overrides: { eventsPerRequest: 10 } },
      table,
      dev,
    );
    expect(batched.byService['API Gateway']).toBeCloseTo((EVENTS * 0.2) / 1e6, 4);
  });

  it('bills each scheduled load at least 60 s of the base RPUs', () => {
    const estimate = estimateMonthlyCost({ eventsPerDay: 1_000_000, eventBytes: 1024 }, table, dev);
    // Every 15 min: 2,920 runs × 60 s × 8 RPU = 389.33 RPU-hours × $0.375.
    const loads = line(estimate, 'Redshift Serverless', /loads/);
    expect(loads.quantity).toBeCloseTo(389.333, 3);
    expect(loads.cost).toBeCloseTo(146, 6);
  });

  it('runs the deletion function every 15 minutes and once per deletion, which reads the whole lake', () => {
    const input = { eventsPerDay: 1_000_000, eventBytes: 1024 };
    const estimate = estimateMonthlyCost(input, table, prod);
    const none = estimateMonthlyCost({ ...input, overrides: { deletionsPerMonth: 0 } }, table, prod);
    // Each deletion is one more request.
    const requests = (e: CostEstimate) => line(e, 'Lambda', /^requests/).quantity;
    expect(requests(estimate) - requests(none)).toBeCloseTo(30, 6);
    // 2,920 scheduled runs of 1 s, plus 30 deletions each reading month 12's lake (12 months of a
    // fifth of the raw JSON) at 20 s per GB; 2 GB of memory.
    const lakeGb = ((EVENTS * 1024) / GB) * 0.2 * 12;
    expect(line(none, 'Lambda', /^deletion compute/).quantity).toBeCloseTo(2920 * 1 * 2, 6);
    expect(line(estimate, 'Lambda', /^deletion compute/).quantity).toBeCloseTo(
      (2920 * 1 + 30 * lakeGb * 20) * 2,
      6,
    );
  });

  it('adds up per service, in total and per million events', () => {
    const estimate = estimateMonthlyCost({ eventsPerDay: 10_000_000, eventBytes: 800 }, table, prod);
    const sum = Object.values(estimate.byService).reduce((a, b) => a + b, 0);
    expect(estimate.total).toBeCloseTo(sum, 9);
    expect(estimate.perMillionEvents).toBeCloseTo(estimate.total / ((10_000_000 * 730) / 24 / 1e6), 9);
    expect(Object.keys(estimate.byService)).toEqual([
      'API Gateway',
      'Lambda',
      'Kinesis',
      'Firehose',
      'S3',
      'DynamoDB',
      'Redshift Serverless',
    ]);
    for (const service of Object.values(estimate.byService)) expect(service).toBeGreaterThan(0);
    expect(estimate.assumptions.map((a) => a.name)).toEqual(Object.keys(table.assumptions));
  });

  it('rejects what it cannot price', () => {
    expect(() => estimateMonthlyCost({ eventsPerDay: 0, eventBytes: 1 }, table, dev)).toThrow(CostModelError);
    expect(() => estimateMonthlyCost({ eventsPerDay: 1, eventBytes: Number.NaN }, table, dev)).toThrow(
      expect.objectContaining({ code: 'INPUT_INVALID' }),
    );
    const provisioned: StageConfig = {
      ...dev,
      kinesis: { capacity: { mode: 'PROVISIONED', shardCount: 2 }, retention: Duration.hours(24) },
    };
    expect(() => estimateMonthlyCost({ eventsPerDay: 1, eventBytes: 1 }, table, provisioned)).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_CAPACITY' }),
    );
  });
});

describe('npm run cost', () => {
  const script = path.join(__dirname, '..', '..', 'scripts', 'cost.ts');
  const tsx = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');

  it('prints every service, the total, the cost per million events and the assumptions', () => {
    const output = execFileSync(tsx, [script, '--events-per-day', '1000000', '--event-bytes', '1024'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    for (const service of [
      'API Gateway',
      'Lambda',
      'Kinesis',
      'Firehose',
      'S3',
      'DynamoDB',
      'Redshift Serverless',
    ]) {
      expect(output).toContain(`| ${service} | $`);
    }
    expect(output).toMatch(/\*\*per million events\*\* \| \*\*\$\d/);
    expect(output).toContain(`as of ${table.asOf}`);
    expect(output).toContain('`wruPerEvent` = 1');
  }, 30_000);

  it('exits 2 with usage on a bad argument', () => {
    const result = spawnSync(tsx, [script, '--events-per-day', 'many', '--event-bytes', '1024'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--events-per-day must be a positive number');
  }, 30_000);
});

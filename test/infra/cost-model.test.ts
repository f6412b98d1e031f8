import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { type StageConfig, stageConfig, withWarehouseEngine } from '../../infra/config';
import { CostModelError } from '../../infra/cost/errors';
import {
  type CostEstimate,
  type LineItem,
  REFERENCE_VOLUMES,
  estimateMonthlyCost,
  estimateSummary,
  firehoseObjectsPerMonth,
  lakePriceByAgeMonth,
  roundUp,
  tieredCost,
} from '../../infra/cost/model';
import {
  type AssumptionName,
  type PriceTable,
  checkPriceTable,
  loadPriceTable,
} from '../../infra/cost/price-table';
import { liveViewCost, workloadOf } from '../../infra/cost/service-costs';

const table = loadPriceTable();
const dev = stageConfig('dev');
const prod = stageConfig('prod');
/** dev with an on-demand stream: its own is one provisioned shard. */
const onDemandDev: StageConfig = { ...dev, kinesis: { ...dev.kinesis, capacity: { mode: 'ON_DEMAND' } } };
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
    const estimate = estimateMonthlyCost({ eventsPerDay: 1_000_000, eventBytes: 1500 }, table, onDemandDev);
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
    expect(line(estimate, 'API Gateway', /HTTP API/).cost).toBeCloseTo(33.4583, 4);
    // One WRU per event at $0.625/M.
    expect(line(estimate, 'DynamoDB', /write/).cost).toBeCloseTo(19.0104, 4);
    const batched = estimateMonthlyCost(
      { eventsPerDay: 1_000_000, eventBytes: 1024, overrides: { eventsPerRequest: 10 } },
      table,
      dev,
    );
    expect(line(batched, 'API Gateway', /HTTP API/).cost).toBeCloseTo((EVENTS * 0.2) / 1e6, 4);
  });

  it('bills each load at least 60 s of the base RPUs, and loads only when the gate lets it', () => {
    const redshiftDev = withWarehouseEngine(dev, 'redshift');
    const estimate = estimateMonthlyCost({ eventsPerDay: 1_000_000, eventBytes: 1024 }, table, redshiftDev);
    // 1M × 1 KiB a day is 6.2 GB of lake a month: 64 MiB take 7.7 hours to gather, so the hour of
    // freshness decides: one load an hour (730), not one per 15-minute run (2,920).
    // 730 loads × 60 s × 8 RPU = 97.33 RPU-hours × $0.375.
    const loads = line(estimate, 'Redshift Serverless', /loads/);
    expect(loads.quantity).toBeCloseTo(97.333, 3);
    expect(loads.cost).toBeCloseTo(36.5, 6);
    // At 10M a day, 64 MiB gather in 46 minutes, so the fourth 15-minute run loads: hourly again.
    const busy = estimateMonthlyCost({ eventsPerDay: 10_000_000, eventBytes: 1024 }, table, redshiftDev);
    expect(line(busy, 'Redshift Serverless', /loads/).quantity).toBeCloseTo(((2920 / 4) * 60 * 8) / 3600, 1);
    // Idle: one load a day, for the retention purge.
    const idle = estimateMonthlyCost({ eventsPerDay: 0, eventBytes: 1024 }, table, redshiftDev);
    expect(line(idle, 'Redshift Serverless', /loads/).quantity).toBeCloseTo(((730 / 24) * 60 * 8) / 3600, 6);
    // Every run lists the lake: the loader runs every 15 minutes either way.
    expect(line(idle, 'Lambda', /^requests/).quantity).toBeGreaterThanOrEqual(2920);
  });

  it('prices Athena by bytes scanned, at least 10 MB a statement, and nothing of Redshift', () => {
    const estimate = estimateMonthlyCost({ eventsPerDay: 1_000_000, eventBytes: 1000 }, table, dev);
    expect(estimate.byService['Redshift Serverless']).toBe(0);
    const queries = line(estimate, 'Athena', /analytics queries/);
    // 200 queries a day, each reading a tenth of 7 days of a fifth of 1M × 1000 B.
    const perQueryTb = (1_000_000 * 1000 * 0.2 * 7 * 0.1) / 1024 ** 4;
    expect(queries.quantity).toBeCloseTo(200 * (730 / 24) * perQueryTb, 6);
    expect(queries.cost).toBeCloseTo(queries.quantity * 5, 9);
    // Loads: the same hour-or-64-MiB gate; each reads its new files (8 MB, billed 10 MB) three
    // times, the keys of the two days its MERGE is bound to (28 bytes each), and seven small
    // statements at the minimum.
    const loads = line(estimate, 'Athena', /loads/);
    expect(loads.item).toContain('(730 a month)');
    const minimum = 10 * 1024 ** 2;
    const keyBytes = 1_000_000 * 2 * 28;
    expect(loads.quantity * 1024 ** 4).toBeCloseTo(730 * (3 * minimum + keyBytes + 7 * minimum), 0);
    // The keys read do not grow with what the table keeps: prod keeps 395 days, or 30 here.
    const atTenMillion = { eventsPerDay: 10_000_000, eventBytes: 1000 };
    const prodAthena = withWarehouseEngine(prod, 'athena');
    const shortRetention = { ...prodAthena, retention: { ...prodAthena.retention, warehouseDays: 30 } };
    const loadTb = (stage: StageConfig) =>
      line(estimateMonthlyCost(atTenMillion, table, stage), 'Athena', /loads/).quantity;
    expect(loadTb(prodAthena)).toBeCloseTo(loadTb(shortRetention), 12);
    // The Iceberg files are as large as the month of lake Parquet dev keeps; Glue is priced per request.
    expect(line(estimate, 'S3', /warehouse tables/).quantity).toBeCloseTo(
      ((EVENTS * 1000 * 0.2) / GB) * (30 / (730 / 24)),
      6,
    );
    expect(line(estimate, 'Glue', /requests/).cost).toBeGreaterThan(0);

    // Idle: each statement of the daily run and each query at the 10 MB minimum; no load has files.
    const idle = estimateMonthlyCost({ eventsPerDay: 0, eventBytes: 1000 }, table, dev);
    expect(line(idle, 'Athena', /loads/).quantity).toBe(0);
    expect(line(idle, 'Athena', /analytics/).quantity).toBeCloseTo(
      (200 * (730 / 24) * 10 * 1024 ** 2) / 1024 ** 4,
      9,
    );
  });

  it('prices one provisioned shard in dev, and says what on-demand would cost and when to grow', () => {
    const estimate = estimateMonthlyCost({ eventsPerDay: 1_000_000, eventBytes: 1000 }, table, dev);
    expect(line(estimate, 'Kinesis', /shard hours \(1 provisioned\)/).cost).toBeCloseTo(730 * 0.015, 9);
    // One 25 KB PUT payload unit per event.
    expect(line(estimate, 'Kinesis', /PUT payload units/).cost).toBeCloseTo((EVENTS / 1e6) * 0.014, 9);
    expect(estimate.kinesis).toEqual({
      mode: 'PROVISIONED',
      shardsNeededAtPeak: 1,
      otherMode: { mode: 'ON_DEMAND', cost: expect.closeTo(29.2 + (EVENTS * 1024 * 0.12) / GB, 6) },
    });
    expect(estimate.warnings).toEqual([]);
    // 100M a day peaks at 4,630 records a second: five shards at least.
    const busy = estimateMonthlyCost({ eventsPerDay: 100_000_000, eventBytes: 1000 }, table, dev);
    expect(busy.kinesis.shardsNeededAtPeak).toBe(5);
    expect(busy.warnings).toEqual([expect.stringContaining('needs 5 at its peak')]);
    // prod stays on-demand, and is told what its peak's shards would cost.
    const onDemand = estimateMonthlyCost({ eventsPerDay: 1_000_000, eventBytes: 1000 }, table, prod);
    expect(onDemand.kinesis.otherMode).toEqual({ mode: 'PROVISIONED', shards: 1, cost: expect.any(Number) });
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
      'Athena',
      'Glue',
    ]);
    // prod runs Redshift: the other engine's services cost nothing.
    for (const [service, cost] of Object.entries(estimate.byService)) {
      if (service === 'Athena' || service === 'Glue') expect(cost).toBe(0);
      else expect(cost).toBeGreaterThan(0);
    }
    expect(estimate.assumptions.map((a) => a.name)).toEqual(Object.keys(table.assumptions));
  });

  it('prices the idle floor, and rejects what it cannot price', () => {
    const idle = estimateMonthlyCost({ eventsPerDay: 0, eventBytes: 1 }, table, dev);
    expect(idle.total).toBeGreaterThan(0);
    expect(idle.perMillionEvents).toBeUndefined();
    expect(() => estimateMonthlyCost({ eventsPerDay: -1, eventBytes: 1 }, table, dev)).toThrow(
      CostModelError,
    );
    expect(() => estimateMonthlyCost({ eventsPerDay: 1, eventBytes: Number.NaN }, table, dev)).toThrow(
      expect.objectContaining({ code: 'INPUT_INVALID' }),
    );
  });
});

describe('the targets the stages are set for (events of 1000 B, 20 per request)', () => {
  const cells = estimateSummary(table, [dev, prod], { eventBytes: 1000, eventsPerRequest: 20 });
  const cell = (stage: string, engine: string, eventsPerDay: number) =>
    cells.find((c) => c.stage === stage && c.engine === engine && c.eventsPerDay === eventsPerDay)!;

  it('prices every stage on both engines at the idle floor and the three reference volumes', () => {
    expect(REFERENCE_VOLUMES).toEqual([0, 10_000, 1_000_000, 10_000_000]);
    expect(cells).toHaveLength(2 * 2 * 4);
  });

  it('keeps an idle Athena stage under $15 a month, and one at 1M events a day under $60 (dev)', () => {
    expect(cell('dev', 'athena', 0).total).toBeLessThanOrEqual(15);
    expect(cell('dev', 'athena', 1_000_000).total).toBeLessThanOrEqual(60);
  });

  it("halves prod's Redshift bill at 10M events a day against loading every 10 minutes ($331)", () => {
    expect(cell('prod', 'redshift', 10_000_000).warehouse).toBeLessThanOrEqual(331 / 2);
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

  it('prints, without a volume, each stage on each engine from the idle floor to 10M events a day', () => {
    const output = execFileSync(tsx, [script], { encoding: 'utf8', timeout: 30_000 });
    expect(output).toContain(
      '| events a day | dev · athena | dev · redshift | prod · athena | prod · redshift |',
    );
    for (const volume of ['0 (idle floor)', '10,000', '1,000,000', '10,000,000']) {
      expect(output).toMatch(new RegExp(`\\| ${volume.replace(/[()]/g, '\\$&')} \\| \\$\\d`));
    }
  }, 30_000);

  it('exits 2 with usage on a bad argument', () => {
    const result = spawnSync(tsx, [script, '--events-per-day', 'many', '--event-bytes', '1024'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--events-per-day must be a non-negative number');
  }, 30_000);
});

describe('live view lines', () => {
  const HOURS = table.assumptions.liveConnectionHoursPerDay.value;
  const DAYS = 730 / 24;
  const workload = (
    stage: StageConfig,
    eventsPerDay: number,
    overrides: Partial<Record<AssumptionName, number>> = {},
  ) =>
    workloadOf(
      eventsPerDay,
      1500,
      (name) => overrides[name] ?? table.assumptions[name].value,
      table.prices,
      stage,
    );
  const item = (lines: LineItem[], pattern: RegExp): LineItem => {
    const found = lines.filter((l) => pattern.test(l.item));
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  it('prices WebSocket connection minutes and messages for the hours someone watches', () => {
    const lines = liveViewCost(workload(prod, 1_000_000));
    const minutes = item(lines, /WebSocket connection minutes/);
    expect(minutes.quantity).toBeCloseTo(HOURS * 60 * DAYS);
    expect(minutes.cost).toBeCloseTo((minutes.quantity / 1e6) * 0.25, 6);
    // 1M events a day is about 11.6 a second, all sent to the one subscriber while connected.
    const messages = item(lines, /WebSocket messages/);
    const connectedSeconds = HOURS * 3600 * DAYS;
    expect(messages.quantity).toBeGreaterThan((1_000_000 / 86_400) * connectedSeconds);
    expect(messages.quantity).toBeLessThan((1_000_000 / 86_400) * connectedSeconds * 1.01);
    expect(messages.cost).toBeCloseTo(messages.quantity / 1e6, 6);
    expect(lines.map((l) => l.service)).toEqual([
      'API Gateway',
      'API Gateway',
      'Lambda',
      'Lambda',
      'DynamoDB',
    ]);
  });

  it('sends a subscriber no more than its rate, however many events arrive', () => {
    const busy = item(liveViewCost(workload(prod, 100_000_000)), /WebSocket messages/);
    expect(busy.quantity).toBeLessThan(100 * HOURS * 3600 * DAYS * 1.01);
  });

  it('with nobody watching, costs only the heartbeat schedule and the subscriber checks', () => {
    const lines = liveViewCost(workload(prod, 1_000_000, { liveConnectionHoursPerDay: 0 }));
    expect(item(lines, /connection minutes/).quantity).toBe(0);
    expect(item(lines, /WebSocket messages/).quantity).toBe(0);
    // One heartbeat run a minute.
    expect(item(lines, /requests$/).quantity).toBeCloseTo(730 * 60);
    expect(lines.reduce((sum, l) => sum + l.cost, 0)).toBeLessThan(0.5);
  });

  it('has no lines where the stage turns the live view off', () => {
    expect(liveViewCost(workload({ ...dev, live: { ...dev.live, enabled: false } }, 1_000_000))).toEqual([]);
  });
});

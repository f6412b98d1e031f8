import { DAYS_PER_MONTH, GB, MILLION } from './pricing';
import { type LineItem, type Workload, lineItem } from './service-costs';

const TB = 1024 * GB;
/** Statements of one Athena load besides its MERGEs: loaded files, batch days, outcome, records, load log. */
const ATHENA_LOAD_SMALL_STATEMENTS = 7;
/** MERGEs of one Athena load that read the new event files: events, identity claims, userIds. */
const ATHENA_MERGES_READING_EVENTS = 3;
/** Tables the daily run compacts and vacuums, and its purge statements, each billed at least the minimum. */
const ATHENA_DAILY_STATEMENTS = 2 * 7 + 3;

/** Months of events the warehouse holds in the month priced: its retention, or the months it has run. */
function storedMonths(w: Workload): number {
  return Math.min(w.assumption('storageMonths'), w.stage.retention.warehouseDays / DAYS_PER_MONTH);
}

/** Redshift Serverless: base RPUs while a load or a query keeps it awake, each wake-up billed at least 60 s. */
export function redshiftServerlessCost(w: Workload): LineItem[] {
  if (w.stage.warehouse.engine !== 'redshift') return [];
  const { loads, loadSeconds, rawGb, stage, assumption: a } = w;
  const prices = w.prices.redshiftServerless;
  const rpus = stage.warehouse.redshift.baseCapacity;
  const months = storedMonths(w);
  const billedLoadSeconds = Math.max(prices.minimumChargeSeconds, loadSeconds);
  const loadRpuHours = (loads * billedLoadSeconds * rpus) / 3600;
  const queryRpuHours = a('warehouseQueryHoursPerDay') * DAYS_PER_MONTH * rpus;
  const warehouseGb = rawGb * a('warehouseStorageRatio') * months;
  return [
    lineItem(
      'Redshift Serverless',
      `RPU-hours, loads (${Math.round(loads)} a month, when the gate lets them)`,
      loadRpuHours,
      'RPU-hours',
      loadRpuHours * prices.rpuHour,
    ),
    lineItem(
      'Redshift Serverless',
      'RPU-hours, queries',
      queryRpuHours,
      'RPU-hours',
      queryRpuHours * prices.rpuHour,
    ),
    lineItem(
      'Redshift Serverless',
      `managed storage (${months.toFixed(1)} months of events)`,
      warehouseGb,
      'GB-months',
      warehouseGb * prices.managedStorageGbMonth,
    ),
  ];
}

/** What Athena scans in a month, per kind of statement, in bytes. */
interface AthenaScans {
  queries: number;
  queryBytes: number;
  loadBytes: number;
  dailyBytes: number;
  statements: number;
  tableBytes: number;
}

function athenaScans(w: Workload): AthenaScans {
  const { events, loads, lakeBytes, assumption: a } = w;
  const minimum = w.prices.athena.minimumBytesPerQuery;
  const billed = (bytes: number) => Math.max(minimum, bytes);
  const months = storedMonths(w);
  // The Iceberg files hold what the lake's Parquet holds.
  const tableBytes = lakeBytes * months;
  const lakeBytesPerDay = lakeBytes / DAYS_PER_MONTH;

  const queries = a('athenaQueriesPerDay') * DAYS_PER_MONTH;
  const queryDays = Math.min(a('athenaQueryDays'), months * DAYS_PER_MONTH);
  const queryBytes = queries * billed(lakeBytesPerDay * queryDays * a('athenaQueryColumnFraction'));

  // A load with new files: its MERGEs read the new files, and the keys of the stored events of the
  // days its rows fall on (the MERGE is bound to them); a run with nothing new runs no statement.
  const loadsWithFiles = events > 0 ? loads : 0;
  const newBytesPerLoad = loadsWithFiles > 0 ? lakeBytes / loadsWithFiles : 0;
  const mergedDays = Math.min(a('athenaMergeDays'), months * DAYS_PER_MONTH);
  const keyEvents = (events / DAYS_PER_MONTH) * mergedDays;
  const perLoad =
    ATHENA_MERGES_READING_EVENTS * billed(newBytesPerLoad) +
    billed(keyEvents * a('athenaMergeKeyBytesPerEvent')) +
    ATHENA_LOAD_SMALL_STATEMENTS * minimum;
  const loadBytes = loadsWithFiles * perLoad;

  // The daily run: the purge's count and deletes, then OPTIMIZE (rewrites the day's small files) and VACUUM.
  const dailyBytes = DAYS_PER_MONTH * (ATHENA_DAILY_STATEMENTS * minimum + lakeBytesPerDay);
  const statements =
    queries +
    loadsWithFiles * (ATHENA_MERGES_READING_EVENTS + 2 + ATHENA_LOAD_SMALL_STATEMENTS) +
    DAYS_PER_MONTH * ATHENA_DAILY_STATEMENTS;
  return { queries, queryBytes, loadBytes, dailyBytes, statements, tableBytes };
}

/** Athena: bytes scanned, at least 10 MB per statement; DDL is free. */
export function athenaCost(w: Workload): LineItem[] {
  if (w.stage.warehouse.engine !== 'athena') return [];
  const scans = athenaScans(w);
  const perTb = w.prices.athena.perTbScanned;
  const line = (item: string, bytes: number) =>
    lineItem('Athena', item, bytes / TB, 'TB scanned', (bytes / TB) * perTb);
  return [
    line(`analytics queries (${Math.round(scans.queries)} a month)`, scans.queryBytes),
    line(
      `loads: MERGE of new lake files (${Math.round(w.events > 0 ? w.loads : 0)} a month)`,
      scans.loadBytes,
    ),
    line('daily purge, OPTIMIZE and VACUUM', scans.dailyBytes),
  ];
}

/** The Iceberg tables' files in S3 (Standard, no lifecycle), and the requests queries and loads make. */
export function icebergStorageCost(w: Workload): LineItem[] {
  if (w.stage.warehouse.engine !== 'athena') return [];
  const scans = athenaScans(w);
  const prices = w.prices.s3;
  const tableGb = scans.tableBytes / GB;
  // Reads: Parquet footers, row groups and Iceberg metadata; writes: data files, manifests, results.
  const gets = scans.statements * w.assumption('athenaS3RequestsPerQuery');
  const puts = scans.statements * 2;
  return [
    lineItem(
      'S3',
      'warehouse tables (Iceberg, Standard)',
      tableGb,
      'GB-months',
      tableGb * prices.standardGbMonth,
    ),
    lineItem('S3', 'warehouse requests (Athena GET)', gets, 'requests', (gets / 1000) * prices.getPer1000),
    lineItem(
      'S3',
      'warehouse requests (Athena PUT: files, results)',
      puts,
      'requests',
      (puts / 1000) * prices.putPer1000,
    ),
  ];
}

/** Glue Data Catalog requests: each statement reads a few table and partition entries. */
export function glueCost(w: Workload): LineItem[] {
  if (w.stage.warehouse.engine !== 'athena') return [];
  const requests = athenaScans(w).statements * w.assumption('glueRequestsPerQuery');
  return [
    lineItem(
      'Glue',
      'Data Catalog requests',
      requests,
      'requests',
      (requests / MILLION) * w.prices.glue.requestsPerMillion,
    ),
  ];
}

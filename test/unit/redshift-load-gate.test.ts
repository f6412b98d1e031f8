import type * as S3Module from '@aws-sdk/client-s3';
import type * as WarehouseLoad from '../../src/handlers/warehouse-load';
import { LOAD_STATE_KEY, type LoadState } from '../../src/sinks/lake/firehose/s3-load-state';
import { SETTLE_MS } from '../../src/sinks/warehouse/load-gate';
import type * as FakeModule from '../helpers/fake-redshift';
import type { FakeRedshiftLake } from '../helpers/fake-redshift';

const BUCKET = 'tributary-lake-123';
const MINUTE = 60_000;
const savedEnv = { ...process.env };
let fake: FakeRedshiftLake;

/** Lake objects by key, with the size and date S3 lists them with. */
let lake: Map<string, { size: number; lastModified: number }>;
/** The gate's state object, as the load step last wrote it. */
let stored: string | undefined;

afterEach(() => {
  fake.restore();
  process.env = { ...savedEnv };
});

/**
 * The handler reads its configuration on import: each test imports a fresh copy, with the fake
 * Redshift Data API and S3 built in the same module registry. S3 lists sizes and dates, and keeps
 * the gate's state object.
 */
function loadHandler(env: Record<string, string> = {}): typeof WarehouseLoad {
  process.env = {
    ...savedEnv,
    AWS_REGION: 'eu-west-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics',
    TRIBUTARY_LAKE_BUCKET: BUCKET,
    TRIBUTARY_LOAD_MIN_PENDING_BYTES: '1000',
    TRIBUTARY_LOAD_MAX_PENDING_MINUTES: '30',
    ...env,
  };
  let module: typeof WarehouseLoad | undefined;
  let s3: typeof S3Module | undefined;
  jest.isolateModules(() => {
    fake = new (jest.requireActual<typeof FakeModule>('../helpers/fake-redshift').FakeRedshiftLake)();
    module = jest.requireActual<typeof WarehouseLoad>('../../src/handlers/warehouse-load');
    // The commands of the registry the handler's client comes from, which the mock matches on.
    s3 = jest.requireActual<typeof S3Module>('@aws-sdk/client-s3');
  });
  if (module === undefined || s3 === undefined) throw new Error('handler module did not load');
  const { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } = s3;
  fake.s3.on(ListObjectsV2Command).callsFake((input: { Prefix?: string }) => {
    const prefix = input.Prefix ?? '';
    fake.log.push(`list:${prefix}`);
    const keys = [...lake.keys()].sort().filter((key) => key.startsWith(prefix));
    return {
      Contents: keys.map((key) => ({
        Key: key,
        Size: lake.get(key)!.size,
        LastModified: new Date(lake.get(key)!.lastModified),
      })),
      IsTruncated: false,
    };
  });
  fake.s3.on(GetObjectCommand, { Key: LOAD_STATE_KEY }).callsFake(() => {
    if (stored === undefined)
      throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    const text = stored;
    return { Body: { transformToString: () => Promise.resolve(text) } };
  });
  fake.s3.on(PutObjectCommand, { Key: LOAD_STATE_KEY }).callsFake((input: { Body: string }) => {
    stored = input.Body;
    return {};
  });
  return module;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A Firehose Parquet file in the hour partition of `at`, stored by S3 at `at`. */
function lakeFile(name: string, at: number, size: number): string {
  const d = new Date(at);
  const key = `events/year=${d.getUTCFullYear()}/month=${pad(d.getUTCMonth() + 1)}/day=${pad(d.getUTCDate())}/hour=${pad(d.getUTCHours())}/tributary-events-1-${name}.parquet`;
  lake.set(key, { size, lastModified: at });
  return key;
}

const state = (): LoadState => JSON.parse(stored ?? 'null') as LoadState;
const redshiftCalls = () => fake.redshift.calls().length;
const copied = () => fake.batches.flat().filter((sql) => sql.startsWith('COPY'));

beforeEach(() => {
  lake = new Map();
  stored = undefined;
});

describe('the Redshift load step, gated', () => {
  it('loads on its first run, with no state yet, and records what it loaded', async () => {
    const { handler } = loadHandler();
    const key = lakeFile('a', Date.now() - MINUTE, 10);
    const before = Date.now();
    await expect(handler({})).resolves.toMatchObject({ files: 1, pendingFiles: 0 });
    expect(copied()).toEqual([expect.stringContaining(key)]);
    // Everything stored up to the listing, less the settling margin, counts as loaded.
    expect(state().loadedThrough).toBeGreaterThanOrEqual(before - SETTLE_MS);
    expect(state().loadedThrough).toBeLessThanOrEqual(Date.now() - SETTLE_MS);
  });

  it('runs no Redshift statement when no file arrived since the last load', async () => {
    const { handler } = loadHandler();
    const now = Date.now();
    lakeFile('old', now - 2 * 60 * MINUTE, 5000);
    stored = JSON.stringify({ loadedThrough: now - 60 * MINUTE, lastLoadAt: now - 60 * MINUTE });
    await expect(handler({})).resolves.toMatchObject({ skipped: true, pendingFiles: 0, pendingBytes: 0 });
    expect(redshiftCalls()).toBe(0);
    expect(fake.log.every((entry) => entry.startsWith('list:'))).toBe(true);
  });

  it('runs no Redshift statement while too little is pending and the oldest file is young', async () => {
    const { handler } = loadHandler();
    const now = Date.now();
    stored = JSON.stringify({ loadedThrough: now - 20 * MINUTE, lastLoadAt: now - 15 * MINUTE });
    lakeFile('a', now - 10 * MINUTE, 400);
    lakeFile('b', now - 2 * MINUTE, 500);
    const skipped = await handler({});
    expect(skipped).toMatchObject({ skipped: true, pendingFiles: 2, pendingBytes: 900 });
    expect((skipped as { oldestPendingAgeMs: number }).oldestPendingAgeMs).toBeGreaterThanOrEqual(
      10 * MINUTE,
    );
    expect(redshiftCalls()).toBe(0);
    // The state stays: the files are pending until a load takes them.
    expect(state().loadedThrough).toBe(now - 20 * MINUTE);
  });

  it('loads once the pending files reach the size threshold', async () => {
    const { handler } = loadHandler();
    const now = Date.now();
    stored = JSON.stringify({ loadedThrough: now - 20 * MINUTE, lastLoadAt: now - 15 * MINUTE });
    const keys = [lakeFile('a', now - 3 * MINUTE, 600), lakeFile('b', now - 2 * MINUTE, 400)];
    await expect(handler({})).resolves.toMatchObject({ files: 2 });
    expect(copied()).toEqual(keys.map((key) => expect.stringContaining(key)));
    expect(fake.batches.some((sqls) => sqls.includes('DELETE FROM staging_events'))).toBe(true);
    expect(state().loadedThrough).toBeGreaterThan(now - 20 * MINUTE);
  });

  it('loads a small file once it waited longer than the freshness setting', async () => {
    const { handler } = loadHandler();
    const now = Date.now();
    stored = JSON.stringify({ loadedThrough: now - 40 * MINUTE, lastLoadAt: now - 40 * MINUTE });
    const key = lakeFile('late', now - 31 * MINUTE, 10);
    await expect(handler({})).resolves.toMatchObject({ files: 1 });
    expect(copied()).toEqual([expect.stringContaining(key)]);
  });

  it('loads once a day whatever is pending, so that the retention purge runs', async () => {
    const { handler } = loadHandler();
    const now = Date.now();
    stored = JSON.stringify({ loadedThrough: now - 25 * 60 * MINUTE, lastLoadAt: now - 25 * 60 * MINUTE });
    await expect(handler({})).resolves.toMatchObject({ files: 0, purged: { events: 0, failedEvents: 0 } });
    expect(fake.batches.some((sqls) => sqls.includes('DELETE FROM staging_events'))).toBe(true);
    expect(state().lastLoadAt).toBeGreaterThanOrEqual(now);
  });

  it('keeps the mark where it was when the load leaves files for the next run', async () => {
    const { handler } = loadHandler({ TRIBUTARY_REDSHIFT_COPY_MAX_FILES: '1' });
    const now = Date.now();
    stored = JSON.stringify({ loadedThrough: now - 20 * MINUTE, lastLoadAt: now - 15 * MINUTE });
    lakeFile('a', now - 3 * MINUTE, 600);
    lakeFile('b', now - 2 * MINUTE, 600);
    await expect(handler({})).resolves.toMatchObject({ files: 1, pendingFiles: 1 });
    expect(state().loadedThrough).toBe(now - 20 * MINUTE);
    // So the next run finds the rest pending, over the threshold, and loads it.
    fake.batches.length = 0;
    await expect(handler({})).resolves.toMatchObject({ files: 1, pendingFiles: 0 });
  });

  it('loads when asked for a full listing, whatever the gate says', async () => {
    const { handler } = loadHandler();
    const now = Date.now();
    stored = JSON.stringify({ loadedThrough: now - MINUTE, lastLoadAt: now - MINUTE });
    await expect(handler({ fullListing: true })).resolves.toMatchObject({ files: 0 });
    expect(redshiftCalls()).toBeGreaterThan(0);
  });
});

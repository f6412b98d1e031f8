import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { RedshiftDataApi } from '../../src/sinks/warehouse/redshift/redshift-data-api';
import {
  MAX_STATEMENTS_PER_BATCH,
  RedshiftLakeCopy,
} from '../../src/sinks/warehouse/redshift/redshift-lake-copy';
import type { RedshiftLakeCopyOptions } from '../../src/sinks/warehouse/redshift/redshift-lake-copy';
import {
  copyStatement,
  recordLakeFilesStatement,
  sqlLiteral,
} from '../../src/sinks/warehouse/redshift/redshift-sql';
import { S3LakeLister } from '../../src/sinks/lake/firehose/s3-lake-lister';
import { S3LakeQuarantine } from '../../src/sinks/lake/firehose/s3-lake-quarantine';
import { FakeRedshiftLake, LOAD_FAILED, recordedKeys } from '../helpers/fake-redshift';

const BUCKET = 'tributary-lake-123';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/tributary-copy';
const NOW = Date.UTC(2024, 4, 10, 12, 30);

const fake = new FakeRedshiftLake();
afterAll(() => fake.restore());
beforeEach(() => fake.reset());

function lister(): S3LakeLister {
  return new S3LakeLister({ client: new S3Client({ region: 'eu-west-1' }), bucket: BUCKET });
}

function quarantine(): S3LakeQuarantine {
  return new S3LakeQuarantine({ client: new S3Client({ region: 'eu-west-1' }), bucket: BUCKET });
}

function lakeCopy(overrides: Partial<RedshiftLakeCopyOptions> = {}): RedshiftLakeCopy {
  const api = new RedshiftDataApi({
    client: new RedshiftDataClient({ region: 'eu-west-1' }),
    workgroupName: 'analytics',
    database: 'tributary',
    sleep: async () => undefined,
  });
  return new RedshiftLakeCopy({
    api,
    lister: lister(),
    role: { arn: ROLE_ARN },
    now: () => NOW,
    ...overrides,
  });
}

/** A Firehose-style data file key in the hour partition of `time`. */
function dataKey(root: 'events' | 'failed', time: string, name = 'a', suffix = '.gz'): string {
  const t = new Date(time);
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${root}/year=${t.getUTCFullYear()}/month=${p(t.getUTCMonth() + 1)}/day=${p(t.getUTCDate())}/` +
    `hour=${p(t.getUTCHours())}/tributary-${root}-1-${name}-0f8fad5b${suffix}`
  );
}

const copied = () => fake.batches.flat().flatMap((sql) => (sql.startsWith('COPY') ? [sql] : []));

describe('S3LakeLister', () => {
  it('follows continuation tokens until the listing is no longer truncated', async () => {
    fake.objects = ['events/a.gz', 'events/b.gz', 'events/c.gz', 'events/d.gz', 'events/e.gz', 'failed/x.gz'];
    const objects = await lister().list('events/');
    expect(objects.map((o) => o.key)).toEqual([
      'events/a.gz',
      'events/b.gz',
      'events/c.gz',
      'events/d.gz',
      'events/e.gz',
    ]);
    expect(fake.listCalls).toEqual([
      { prefix: 'events/', token: undefined },
      { prefix: 'events/', token: '2' },
      { prefix: 'events/', token: '4' },
    ]);
  });

  it('translates a missing bucket and a refusal, and rethrows what it does not know', async () => {
    const denied = new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: {} });
    const odd = new Error('socket hang up');
    fake.s3
      .on(ListObjectsV2Command)
      .rejectsOnce(new NoSuchBucket({ message: 'gone', $metadata: {} }))
      .rejectsOnce(denied)
      .rejectsOnce(odd);
    await expect(lister().list('events/')).rejects.toMatchObject({
      name: 'LakeListError',
      code: 'LAKE_BUCKET_NOT_FOUND',
    });
    await expect(lister().list('failed/')).rejects.toMatchObject({
      code: 'LAKE_ACCESS_DENIED',
      cause: denied,
    });
    await expect(lister().list('failed/')).rejects.toBe(odd);
  });
});

describe('S3LakeQuarantine', () => {
  it('copies the file below quarantine/, then deletes it, keys URL-encoded segment by segment', async () => {
    const key = "events/year=2024/month=05/day=10/hour=10/it's a file.parquet";
    fake.objects = [key];
    expect(await quarantine().quarantine(key)).toBe(`quarantine/${key}`);
    expect(fake.objects).toEqual([`quarantine/${key}`]);
    expect(fake.s3.commandCalls(CopyObjectCommand)[0]?.args[0].input.CopySource).toBe(
      `${BUCKET}/events/year%3D2024/month%3D05/day%3D10/hour%3D10/it's%20a%20file.parquet`,
    );
  });

  it('translates a refusal, and deletes nothing when the copy failed', async () => {
    fake.s3
      .on(CopyObjectCommand)
      .rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: {} }));
    await expect(quarantine().quarantine('events/x.parquet')).rejects.toMatchObject({
      name: 'LakeQuarantineError',
      code: 'LAKE_ACCESS_DENIED',
    });
    expect(fake.s3.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });
});

describe('Redshift COPY SQL', () => {
  it('quotes keys as Redshift literals: quotes and backslashes doubled, control characters refused', () => {
    expect(sqlLiteral("it's")).toBe("'it''s'");
    expect(sqlLiteral('a\\b')).toBe("'a\\\\b'");
    expect(sqlLiteral("x'; DROP TABLE events; --")).toBe("'x''; DROP TABLE events; --'");
    expect(() => sqlLiteral('a\nb')).toThrow(/control characters/);
    expect(() => sqlLiteral('a\u007fb')).toThrow(/control characters/);
  });

  it('COPYs one file whole into the staging SUPER column, gzip, with the given role or the default', () => {
    expect(copyStatement('staging_events', BUCKET, "events/o'k.gz", { arn: ROLE_ARN })).toBe(
      `COPY staging_events FROM 's3://${BUCKET}/events/o''k.gz' IAM_ROLE '${ROLE_ARN}' FORMAT JSON 'noshred' GZIP`,
    );
    expect(copyStatement('staging_failed', BUCKET, 'failed/f.gz', 'default')).toBe(
      `COPY staging_failed FROM 's3://${BUCKET}/failed/f.gz' IAM_ROLE default FORMAT JSON 'noshred' GZIP`,
    );
  });

  it('COPYs a Parquet events file column by column into the Parquet staging table', () => {
    expect(copyStatement('staging_events_parquet', BUCKET, 'events/e.parquet', { arn: ROLE_ARN })).toBe(
      `COPY staging_events_parquet FROM 's3://${BUCKET}/events/e.parquet' IAM_ROLE '${ROLE_ARN}' FORMAT AS PARQUET SERIALIZETOJSON`,
    );
  });

  it('records files with one multi-row insert whose keys read back unchanged', () => {
    const keys = ["events/it's.gz", 'events/back\\slash.gz'];
    expect(recordedKeys(recordLakeFilesStatement(keys))).toEqual(keys);
  });
});

describe('RedshiftLakeCopy', () => {
  it('on the first run lists both roots whole and COPYs each data file into its staging table', async () => {
    const events = dataKey('events', '2024-05-01T03:00:00Z');
    const failed = dataKey('failed', '2024-05-01T04:00:00Z');
    fake.objects = [events, failed];
    const report = await lakeCopy().copyNew();
    expect(report).toEqual({ files: 2, pendingFiles: 0, skippedKeys: [], quarantined: [] });
    expect(fake.listCalls.map((c) => c.prefix)).toEqual(['events/', 'failed/']);
    expect(fake.batches).toEqual([
      [
        copyStatement('staging_events', BUCKET, events, { arn: ROLE_ARN }),
        copyStatement('staging_failed', BUCKET, failed, { arn: ROLE_ARN }),
        recordLakeFilesStatement([events, failed]),
      ],
    ]);
    expect([...fake.lakeFiles].sort()).toEqual([events, failed]);
  });

  it('COPYs Parquet events into the Parquet staging table and older gzip events into the JSON one', async () => {
    const parquet = dataKey('events', '2024-05-01T05:00:00Z', 'new', '.parquet');
    const ndjson = dataKey('events', '2024-05-01T03:00:00Z', 'old');
    const failedParquet = dataKey('failed', '2024-05-01T04:00:00Z', 'odd', '.parquet');
    fake.objects = [parquet, ndjson, failedParquet];
    const report = await lakeCopy().copyNew();
    expect(report).toEqual({ files: 2, pendingFiles: 0, skippedKeys: [failedParquet], quarantined: [] });
    expect(copied()).toEqual([
      copyStatement('staging_events', BUCKET, ndjson, { arn: ROLE_ARN }),
      copyStatement('staging_events_parquet', BUCKET, parquet, { arn: ROLE_ARN }),
    ]);
  });

  it('lists only the day partitions of the lookback before the newest loaded file, and skips loaded keys', async () => {
    const loaded = dataKey('events', '2024-05-09T20:00:00Z', 'loaded');
    const fresh = dataKey('events', '2024-05-10T11:00:00Z', 'fresh');
    const tooOld = dataKey('events', '2024-05-01T10:00:00Z', 'old');
    fake.lakeFiles.add(loaded);
    fake.objects = [loaded, fresh, tooOld];
    const report = await lakeCopy({ lookbackHours: 30 }).copyNew();
    // Newest loaded partition 2024-05-09 20:00, minus 30 h: 2024-05-08 14:00, so days 8, 9 and 10.
    const days = ['day=08', 'day=09', 'day=10'].map((d) => `year=2024/month=05/${d}/`);
    expect(fake.listCalls.map((c) => c.prefix)).toEqual([
      ...days.map((d) => `events/${d}`),
      ...days.map((d) => `failed/${d}`),
    ]);
    expect(report.files).toBe(1);
    expect(copied()).toEqual([copyStatement('staging_events', BUCKET, fresh, { arn: ROLE_ARN })]);
  });

  it('lists everything when asked, and still COPYs no file twice', async () => {
    const old = dataKey('events', '2024-04-01T10:00:00Z', 'old');
    const loaded = dataKey('events', '2024-05-10T10:00:00Z', 'loaded');
    fake.lakeFiles.add(loaded);
    fake.objects = [old, loaded];
    const report = await lakeCopy().copyNew({ fullListing: true });
    expect(fake.listCalls.map((c) => c.prefix)).toEqual(['events/', 'failed/']);
    expect(report.files).toBe(1);
    expect(copied()).toEqual([copyStatement('staging_events', BUCKET, old, { arn: ROLE_ARN })]);
  });

  it('reports, and never COPYs, keys that are not Firehose data files', async () => {
    const good = dataKey('events', '2024-05-10T10:00:00Z');
    const odd = [
      'events/errors/processing-failed/2024/05/10/x.gz',
      'events/year=2024/month=05/day=10/hour=10/',
      'events/year=2024/month=05/day=10/hour=10/notes.txt',
      'events/year=2024/month=05/day=10/hour=10/bad\nname.gz',
    ];
    fake.objects = [good, ...odd];
    const report = await lakeCopy().copyNew();
    expect(report.skippedKeys.sort()).toEqual([...odd].sort());
    expect(copied()).toEqual([copyStatement('staging_events', BUCKET, good, { arn: ROLE_ARN })]);
  });

  it('batches at most 40 statements, each batch its COPYs plus the insert recording exactly their files', async () => {
    fake.pageSize = 1000;
    fake.objects = Array.from({ length: 100 }, (_, i) =>
      dataKey(i % 2 === 0 ? 'events' : 'failed', '2024-05-10T10:00:00Z', String(i).padStart(3, '0')),
    );
    const report = await lakeCopy().copyNew();
    expect(report.files).toBe(100);
    expect(fake.batches.map((b) => b.length)).toEqual([40, 40, 23]);
    for (const batch of fake.batches) {
      expect(batch.length).toBeLessThanOrEqual(MAX_STATEMENTS_PER_BATCH);
      const copiedKeys = batch.slice(0, -1).map((sql) => /FROM 's3:\/\/[^/]+\/([^']+)'/.exec(sql)?.[1]);
      expect(recordedKeys(batch.at(-1) ?? '')).toEqual(copiedKeys);
    }
    expect(fake.lakeFiles.size).toBe(100);
  });

  it('a failed batch records none of its files, and the next run COPYs exactly those again', async () => {
    fake.pageSize = 1000;
    fake.objects = Array.from({ length: 50 }, (_, i) =>
      dataKey('events', '2024-05-10T10:00:00Z', String(i).padStart(3, '0')),
    );
    fake.failBatch = (sqls) => sqls.length === 12;
    await expect(lakeCopy().copyNew()).rejects.toMatchObject({ code: 'WAREHOUSE_STATEMENT_FAILED' });
    const firstBatch = fake.objects.slice(0, 39);
    expect([...fake.lakeFiles].sort()).toEqual(firstBatch);

    fake.failBatch = () => false;
    fake.batches.length = 0;
    const retry = await lakeCopy().copyNew();
    expect(retry.files).toBe(11);
    expect(recordedKeys(fake.batches[0]?.at(-1) ?? '')).toEqual(fake.objects.slice(39));
    expect(fake.lakeFiles.size).toBe(50);
  });

  it('COPYs at most maxFilesPerRun, oldest first, and the next run resumes where it stopped', async () => {
    const hours = ['2024-03-01T01:00:00Z', '2024-03-01T02:00:00Z', '2024-03-20T05:00:00Z'];
    fake.objects = [
      dataKey('failed', hours[2] ?? ''),
      dataKey('events', hours[1] ?? ''),
      dataKey('events', hours[0] ?? ''),
      dataKey('events', hours[2] ?? ''),
    ];
    const first = await lakeCopy({ maxFilesPerRun: 2, lookbackHours: 24 }).copyNew();
    expect(first).toEqual({ files: 2, pendingFiles: 2, skippedKeys: [], quarantined: [] });
    expect([...fake.lakeFiles].sort()).toEqual([
      dataKey('events', hours[0] ?? ''),
      dataKey('events', hours[1] ?? ''),
    ]);

    // Not a full listing any more, yet weeks-old partitions after the newest loaded one are found.
    const second = await lakeCopy({ maxFilesPerRun: 2, lookbackHours: 24 }).copyNew();
    expect(second).toEqual({ files: 2, pendingFiles: 0, skippedKeys: [], quarantined: [] });
    expect(fake.lakeFiles.size).toBe(4);
  });

  it('refuses a non-positive lookback or file limit', () => {
    expect(() => lakeCopy({ lookbackHours: 0 })).toThrow(RangeError);
    expect(() => lakeCopy({ maxFilesPerRun: 0 })).toThrow(RangeError);
    expect(() => lakeCopy({ maxQuarantinedPerRun: 0 })).toThrow(RangeError);
  });

  describe('a file whose COPY fails', () => {
    const files = (n: number) =>
      Array.from({ length: n }, (_, i) => dataKey('events', '2024-05-10T10:00:00Z', `f${i}`, '.parquet'));
    const copies = (key: string) => (sqls: string[]) =>
      sqls.some((sql) => sql.startsWith('COPY') && sql.includes(key));

    it('is moved to quarantine when it fails on its content, and the files around it load', async () => {
      fake.pageSize = 1000;
      fake.objects = files(5);
      const bad = fake.objects[2] ?? '';
      fake.failBatch = copies(bad);
      const report = await lakeCopy({ quarantine: quarantine() }).copyNew();
      expect(report).toEqual({
        files: 4,
        pendingFiles: 0,
        skippedKeys: [],
        quarantined: [
          { key: bad, quarantineKey: `quarantine/${bad}`, reason: expect.stringContaining(LOAD_FAILED) },
        ],
      });
      expect([...fake.lakeFiles].sort()).toEqual(files(5).filter((key) => key !== bad));
      expect(fake.objects).toContain(`quarantine/${bad}`);
      expect(fake.objects).not.toContain(bad);
      expect(fake.log.filter((entry) => /^(copy|delete):/.test(entry))).toEqual([
        `copy:${bad}->quarantine/${bad}`,
        `delete:${bad}`,
      ]);

      // The next run neither finds it nor tries it again.
      fake.batches.length = 0;
      expect(await lakeCopy({ quarantine: quarantine() }).copyNew()).toMatchObject({
        files: 0,
        quarantined: [],
      });
      expect(copied()).toEqual([]);
    });

    it('goes into the staging table of its layout when Firehose wrote it before merges_users', async () => {
      for (const withQuarantine of [true, false]) {
        fake.reset();
        fake.pageSize = 1000;
        fake.objects = files(3);
        const old = fake.objects[1] ?? '';
        // COPY wants the table's number of columns: the old file fails on the current table only.
        fake.failBatch = (sqls) =>
          sqls.some((sql) => sql.startsWith(`COPY staging_events_parquet FROM 's3://${BUCKET}/${old}'`));
        const report = await lakeCopy(withQuarantine ? { quarantine: quarantine() } : {}).copyNew();
        expect(report).toEqual({ files: 3, pendingFiles: 0, skippedKeys: [], quarantined: [] });
        expect([...fake.lakeFiles].sort()).toEqual(files(3));
        // In the batch of three, alone, then into the table of its layout.
        expect(copied().filter((sql) => sql.includes(old))).toEqual([
          copyStatement('staging_events_parquet', BUCKET, old, { arn: ROLE_ARN }),
          copyStatement('staging_events_parquet', BUCKET, old, { arn: ROLE_ARN }),
          copyStatement('staging_events_parquet_v1', BUCKET, old, { arn: ROLE_ARN }),
        ]);
        expect(fake.objects).toEqual(files(3));
      }
    });

    it("is quarantined with the current layout's error when no layout takes it", async () => {
      fake.pageSize = 1000;
      fake.objects = files(1);
      const bad = fake.objects[0] ?? '';
      fake.failBatch = (sqls) =>
        copies(bad)(sqls) &&
        (sqls.some((sql) => sql.startsWith('COPY staging_events_parquet_v1'))
          ? 'ERROR: Spectrum Scan Error: v1'
          : true);
      const report = await lakeCopy({ quarantine: quarantine() }).copyNew();
      expect(report.quarantined).toEqual([
        { key: bad, quarantineKey: `quarantine/${bad}`, reason: expect.stringContaining(LOAD_FAILED) },
      ]);
      expect(copied()).toEqual([
        copyStatement('staging_events_parquet', BUCKET, bad, { arn: ROLE_ARN }),
        copyStatement('staging_events_parquet_v1', BUCKET, bad, { arn: ROLE_ARN }),
      ]);
      expect(fake.lakeFiles.size).toBe(0);
    });

    it('stops the run, moving nothing, when it fails for another reason', async () => {
      fake.pageSize = 1000;
      fake.objects = files(3);
      fake.failBatch = (sqls) =>
        copies(fake.objects[1] ?? '')(sqls) &&
        'ERROR: S3ServiceException:Access Denied,Status 403,Error AccessDenied';
      await expect(lakeCopy({ quarantine: quarantine() }).copyNew()).rejects.toMatchObject({
        code: 'WAREHOUSE_STATEMENT_FAILED',
      });
      expect(fake.log.some((entry) => /^(copy|delete):/.test(entry))).toBe(false);
      expect(fake.lakeFiles.size).toBe(0);
    });

    it('stops the run when more files fail than a run may set aside', async () => {
      fake.pageSize = 1000;
      fake.objects = files(4);
      const keys = files(4);
      // The batch of all four fails, then each but the first alone.
      fake.failBatch = (sqls) => sqls.length > 2 || keys.slice(1).some((key) => copies(key)(sqls));
      await expect(
        lakeCopy({ quarantine: quarantine(), maxQuarantinedPerRun: 2 }).copyNew(),
      ).rejects.toMatchObject({
        code: 'WAREHOUSE_LOAD_FAILED',
        message: expect.stringContaining(keys[3] ?? '-'),
      });
      expect([...fake.lakeFiles]).toEqual([keys[0]]);
      expect(fake.objects.filter((key) => key.startsWith('quarantine/'))).toEqual(
        keys.slice(1, 3).map((key) => `quarantine/${key}`),
      );
      expect(fake.objects).toContain(keys[3]);
    });
  });
});

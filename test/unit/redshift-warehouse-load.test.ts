import type * as WarehouseLoad from '../../src/handlers/warehouse-load';
import { DEFAULT_IDENTITY_RULES } from '../../src/events/identity';
import { erasureBatch } from '../../src/sinks/warehouse/redshift/redshift-sql';
import type * as FakeModule from '../helpers/fake-redshift';
import type { FakeRedshiftLake } from '../helpers/fake-redshift';

const BUCKET = 'tributary-lake-123';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/tributary-copy';
const KEY = 'events/year=2024/month=05/day=10/hour=10/tributary-events-1-2024-05-10-10-00-00-0f8fad5b.gz';
/** The graphql function's role signed in by IAM; CDK names roles in mixed case, which Redshift keeps. */
const READER = 'IAMR:Tributary-dev-IngestApiHandlerRole5B2E3A1C-Xy7Zq2LmN4pR';
/** The deletion function's role, signed in by IAM. */
const DELETER = 'IAMR:Tributary-dev-DeletionHandlerRole0A1B2C3D-Ab1Cd2Ef3Gh4';

const savedEnv = { ...process.env };
let fake: FakeRedshiftLake;

afterEach(() => {
  fake.restore();
  process.env = { ...savedEnv };
});

/**
 * The handler module reads its configuration on import, so each test imports a fresh copy; the
 * fake is built in the same module registry, so that it mocks the SDK classes the handler uses.
 */
function loadHandler(env: Record<string, string>): typeof WarehouseLoad {
  process.env = { ...savedEnv, AWS_REGION: 'eu-west-1', POWERTOOLS_LOG_LEVEL: 'SILENT', ...env };
  let module: typeof WarehouseLoad | undefined;
  jest.isolateModules(() => {
    fake = new (jest.requireActual<typeof FakeModule>('../helpers/fake-redshift').FakeRedshiftLake)();
    module = jest.requireActual<typeof WarehouseLoad>('../../src/handlers/warehouse-load');
  });
  if (module === undefined) throw new Error('handler module did not load');
  return module;
}

/** Each Redshift or S3 call as the load phase it belongs to, repeats collapsed. */
function phases(): string[] {
  let batch = 0;
  const named = fake.log.map((entry) => {
    if (entry.startsWith('list:')) return 'list';
    if (entry.startsWith('copy:') || entry.startsWith('delete:')) return 'quarantine';
    if (entry.startsWith('batch:')) {
      const sqls = fake.batches[batch++] ?? [];
      if (sqls.some((sql) => sql.startsWith('INSERT INTO schema_migrations'))) return 'migrate';
      if (sqls.every((sql) => /^(CREATE USER|GRANT ROLE) /.test(sql))) return 'reader';
      if (sqls.every((sql) => sql.startsWith('COPY') || sql.startsWith('INSERT INTO lake_files')))
        return 'copy';
      if (sqls.includes('DELETE FROM staging_events')) return 'merge';
      return 'other batch';
    }
    if (/schema_migrations/.test(entry)) return 'migrate';
    if (/FROM pg_user/.test(entry)) return 'reader';
    if (/lake_files/.test(entry)) return 'find new files';
    if (/FROM load_log/.test(entry)) return 'report';
    return entry;
  });
  return named.filter((name, i) => name !== named[i - 1]);
}

describe('warehouse load handler', () => {
  it('migrates, then COPYs new lake files, then merges, in that order; migrations only once', async () => {
    const { handler } = loadHandler({
      TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics',
      TRIBUTARY_LAKE_BUCKET: BUCKET,
      TRIBUTARY_REDSHIFT_COPY_ROLE_ARN: ROLE_ARN,
    });
    fake.objects = [KEY];
    fake.rowsFor = (sql) =>
      /FROM load_log WHERE load_id/.test(sql)
        ? [{ inserted_events: { longValue: 7 }, inserted_failed: { longValue: 1 } }]
        : undefined;

    await expect(handler({})).resolves.toEqual({
      files: 1,
      rows: 8,
      pendingFiles: 0,
      skippedKeys: [],
      quarantined: [],
      purged: { events: 0, failedEvents: 0 },
    });
    expect(phases()).toEqual(['migrate', 'find new files', 'list', 'copy', 'merge', 'report']);
    expect(fake.batches.flat()).toContain(
      `COPY staging_events FROM 's3://${BUCKET}/${KEY}' IAM_ROLE '${ROLE_ARN}' FORMAT JSON 'noshred' GZIP`,
    );
    expect(fake.lakeFiles).toEqual(new Set([KEY]));

    fake.log.length = 0;
    fake.batches.length = 0;
    await expect(handler({})).resolves.toMatchObject({ files: 0 });
    expect(phases()).toEqual(['find new files', 'list', 'merge', 'report']);
  });

  it('does not merge when the COPY fails for a reason other than its file, and reports the load as failed', async () => {
    const { handler } = loadHandler({
      TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics',
      TRIBUTARY_LAKE_BUCKET: BUCKET,
    });
    fake.objects = [KEY];
    fake.failBatch = (sqls) =>
      sqls.some((sql) => sql.startsWith('COPY')) && 'ERROR: S3ServiceException:Access Denied,Status 403';
    await expect(handler({})).rejects.toMatchObject({ code: 'WAREHOUSE_LOAD_FAILED' });
    expect(phases()).not.toContain('merge');
    expect(fake.lakeFiles.size).toBe(0);
    // Without a role ARN, COPY uses the namespace's default IAM role.
    expect(fake.batches.flat().find((sql) => sql.startsWith('COPY'))).toMatch(/IAM_ROLE default FORMAT/);
  });

  it('moves a file COPY cannot load to quarantine, merges the others, and logs the count the alarm watches', async () => {
    const { handler } = loadHandler({
      TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics',
      TRIBUTARY_LAKE_BUCKET: BUCKET,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    const bad = KEY.replace('0f8fad5b', 'bad00000');
    fake.objects = [KEY, bad];
    fake.failBatch = (sqls) => sqls.some((sql) => sql.startsWith('COPY') && sql.includes(bad));
    const written: string[] = [];
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      await expect(handler({})).resolves.toMatchObject({
        files: 1,
        quarantined: [{ key: bad, quarantineKey: `quarantine/${bad}` }],
      });
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    expect(phases()).toEqual(['migrate', 'find new files', 'list', 'copy', 'quarantine', 'merge', 'report']);
    expect(fake.lakeFiles).toEqual(new Set([KEY]));
    const lines = written.flatMap((chunk) => chunk.split('\n')).filter((line) => line.startsWith('{'));
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ level: 'ERROR', quarantinedFiles: 1 }),
    );
  });

  it('after the migrations, creates the API reader signing in by IAM only and makes it a reader, then loads', async () => {
    const { handler } = loadHandler({
      TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics',
      TRIBUTARY_LAKE_BUCKET: BUCKET,
      TRIBUTARY_REDSHIFT_READER_USER: READER,
    });
    await expect(handler({})).resolves.toMatchObject({ files: 0 });
    expect(phases()).toEqual(['migrate', 'reader', 'find new files', 'list', 'merge', 'report']);
    // The role it joins is created, and given read access only, by a migration that runs first.
    const migrations = fake.batches.filter((sqls) =>
      sqls.at(-1)?.startsWith('INSERT INTO schema_migrations'),
    );
    expect(migrations.flat()).toEqual(
      expect.arrayContaining([
        'CREATE ROLE tributary_reader',
        'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
        'GRANT SELECT ON ALL TABLES IN SCHEMA public TO ROLE tributary_reader',
        'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ROLE tributary_reader',
      ]),
    );
    expect(fake.batches.at(-2)).toEqual([
      `CREATE USER "${READER}" PASSWORD DISABLE`,
      `GRANT ROLE tributary_reader TO "${READER}"`,
    ]);
    expect(fake.users).toEqual(new Map([[READER, new Set(['tributary_reader'])]]));

    // Once per environment, like the migrations.
    fake.log.length = 0;
    fake.batches.length = 0;
    await handler({});
    expect(phases()).toEqual(['find new files', 'list', 'merge', 'report']);
  });

  it('makes the deletion function an eraser, a role that may erase people and do nothing else', async () => {
    const { handler } = loadHandler({
      TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics',
      TRIBUTARY_LAKE_BUCKET: BUCKET,
      TRIBUTARY_REDSHIFT_READER_USER: READER,
      TRIBUTARY_REDSHIFT_DELETER_USER: DELETER,
    });
    await handler({});
    expect(fake.users).toEqual(
      new Map([
        [READER, new Set(['tributary_reader'])],
        [DELETER, new Set(['tributary_eraser'])],
      ]),
    );
    const grants = fake.batches
      .flat()
      .filter((sql) => /^(CREATE ROLE|GRANT .* TO ROLE) tributary_eraser$/.test(sql));
    expect(grants).toEqual([
      'CREATE ROLE tributary_eraser',
      'GRANT USAGE ON SCHEMA public TO ROLE tributary_eraser',
      'GRANT SELECT, DELETE ON events, failed_events, user_ids TO ROLE tributary_eraser',
      'GRANT SELECT, INSERT, DELETE ON identity_claims, identities TO ROLE tributary_eraser',
      'GRANT SELECT, INSERT, UPDATE, DELETE ON erasure_ids TO ROLE tributary_eraser',
      'GRANT SELECT, INSERT ON erasure_log TO ROLE tributary_eraser',
    ]);
    // Every table an erasure writes, and no other, is among those it may write.
    const written = new Set(
      erasureBatch('11111111-1111-4111-8111-111111111111', DEFAULT_IDENTITY_RULES).flatMap((sql) =>
        [...sql.matchAll(/^\s*(?:DELETE FROM|INSERT INTO|UPDATE) (\w+)/gm)].map((m) => m[1]),
      ),
    );
    const temporary = ['removed_events', 'erased_failed', 'erasure_counts', 'erasure_subject'];
    expect([...written].filter((table) => !temporary.includes(table as string)).sort()).toEqual([
      'erasure_ids',
      'erasure_log',
      'events',
      'failed_events',
      'identities',
      'identity_claims',
      'user_ids',
    ]);
    expect(fake.batches.at(-2)).toEqual([
      `CREATE USER "${DELETER}" PASSWORD DISABLE`,
      `GRANT ROLE tributary_eraser TO "${DELETER}"`,
    ]);
  });

  it('only grants the role to a reader that signed in before the load step ran, and leaves a set-up reader alone', async () => {
    // The Data API creates an IAM user on its first sign-in; Redshift has no CREATE USER IF NOT EXISTS.
    let { handler } = loadHandler({
      TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics',
      TRIBUTARY_LAKE_BUCKET: BUCKET,
      TRIBUTARY_REDSHIFT_READER_USER: READER,
    });
    fake.users.set(READER, new Set());
    await handler({});
    expect(fake.batches.flat().filter((sql) => sql.includes(READER))).toEqual([
      `GRANT ROLE tributary_reader TO "${READER}"`,
    ]);
    expect(fake.users.get(READER)).toEqual(new Set(['tributary_reader']));

    ({ handler } = loadHandler({
      TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics',
      TRIBUTARY_LAKE_BUCKET: BUCKET,
      TRIBUTARY_REDSHIFT_READER_USER: READER,
    }));
    fake.users.set(READER, new Set(['tributary_reader']));
    await handler({});
    expect(phases()).toEqual(['migrate', 'reader', 'find new files', 'list', 'merge', 'report']);
    expect(fake.batches.flat().filter((sql) => sql.includes(READER))).toEqual([]);
  });

  it('loads nothing while the reader cannot be set up, and tries again on the next run', async () => {
    const { handler } = loadHandler({
      TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics',
      TRIBUTARY_LAKE_BUCKET: BUCKET,
      TRIBUTARY_REDSHIFT_READER_USER: READER,
    });
    fake.objects = [KEY];
    fake.failBatch = (sqls) =>
      sqls.some((sql) => sql.startsWith('GRANT ROLE')) && 'ERROR: role does not exist';
    await expect(handler({})).rejects.toMatchObject({
      code: 'WAREHOUSE_MIGRATION_FAILED',
      message: expect.stringContaining(READER),
    });
    expect(phases()).toEqual(['migrate', 'reader']);
    expect(fake.users.size).toBe(0);

    fake.failBatch = () => false;
    await expect(handler({})).resolves.toMatchObject({ files: 1 });
    expect(fake.users.get(READER)).toEqual(new Set(['tributary_reader']));
  });

  it('refuses to start without the lake bucket', () => {
    expect(() => loadHandler({ TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics' })).toThrow(/TRIBUTARY_LAKE_BUCKET/);
  });
});

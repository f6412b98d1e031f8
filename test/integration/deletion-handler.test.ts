import type * as RedshiftSdk from '@aws-sdk/client-redshift-data';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { ListObjectVersionsCommandInput } from '@aws-sdk/client-s3';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import type * as DeletionHandler from '../../src/handlers/deletion';
import { loadConfig } from '../../src/config';
import { awsDeletionStores } from '../../src/handlers/deletion-stores';
import { newDeletionRequest } from '../../src/privacy/deletion-plan';
import { DynamoDbDeletionRequestStore } from '../../src/privacy/dynamodb/dynamodb-deletion-request-store';
import type { DeletionRequest } from '../../src/privacy/port';
import { DynamoDbHotStore, ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import type { HotActivity } from '../../src/sinks/hot-tier/port';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';

jest.setTimeout(60_000);

const BUCKET = 'tributary-lake-test';
const TABLE = 'hot';

/** Recent times, so the hot tier keeps the profiles (it lets idle ones expire). */
const START = Date.now() - 3_600_000;
const at = (minute: number) => new Date(START + minute * 60_000).toISOString();

const activity = (n: number, userId: string, anonymousId: string): HotActivity => ({
  event: 'product_viewed',
  itemIds: ['sku-1'],
  traits: null,
  isBot: false,
  previousId: null,
  mergesUsers: false,
  profileId: userId,
  messageId: `m-${n}`,
  timestamp: at(n),
  receivedAt: at(n),
  shardId: 's-a',
  sequenceNumber: String(n),
  userId,
  anonymousId,
});

type S3Stub = AwsStub<S3Sdk.ServiceInputTypes, S3Sdk.ServiceOutputTypes, S3Sdk.S3ClientResolvedConfig>;
type RedshiftStub = AwsStub<
  RedshiftSdk.ServiceInputTypes,
  RedshiftSdk.ServiceOutputTypes,
  RedshiftSdk.RedshiftDataClientResolvedConfig
>;

/** The handler module as one cold start loads it, with the SDK classes it uses mocked. */
interface LoadedHandler {
  module: typeof DeletionHandler;
  s3: S3Stub;
  s3Sdk: typeof S3Sdk;
  redshift: RedshiftStub;
  redshiftSdk: typeof RedshiftSdk;
}

const savedEnv = { ...process.env };
let emulators: TestEmulators;
let hot: DynamoDbHotStore;
let requests: DynamoDbDeletionRequestStore;
let requestNumber = 0;

beforeAll(async () => {
  emulators = await startTestEmulators('tributary-deletion-handler-');
  await ensureHotTable(emulators.dynamodb, TABLE);
  hot = new DynamoDbHotStore({ client: emulators.dynamodb, tableName: TABLE });
  requests = new DynamoDbDeletionRequestStore({ client: emulators.dynamodb, tableName: TABLE });
});

afterAll(async () => {
  process.env = { ...savedEnv };
  await emulators?.stop();
});

/**
 * The module reads its configuration on import, so each describe loads a fresh copy, with mocks of
 * the S3 and Redshift Data API client classes of its own module registry (neither has an emulator
 * here); DynamoDB is dynalite.
 */
function loadHandler(env: Record<string, string> = {}): LoadedHandler {
  process.env = {
    ...savedEnv,
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    TRIBUTARY_DYNAMODB_ENDPOINT: emulators.dynamodbEndpoint,
    TRIBUTARY_TABLE_NAME: TABLE,
    TRIBUTARY_LAKE_BUCKET: BUCKET,
    ...env,
  };
  let loaded: LoadedHandler | undefined;
  jest.isolateModules(() => {
    const s3Sdk = jest.requireActual<typeof S3Sdk>('@aws-sdk/client-s3');
    const redshiftSdk = jest.requireActual<typeof RedshiftSdk>('@aws-sdk/client-redshift-data');
    const s3 = mockClient(s3Sdk.S3Client);
    const redshift = mockClient(redshiftSdk.RedshiftDataClient);
    const module = jest.requireActual<typeof DeletionHandler>('../../src/handlers/deletion');
    loaded = { module, s3, s3Sdk, redshift, redshiftSdk };
  });
  if (loaded === undefined) throw new Error('handler module did not load');
  return loaded;
}

/** A Lambda context with this much time left. */
const context = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs });

/** A new request in the store, made with the steps the GraphQL function gives every request. */
async function storedRequest(subjectIds: string[], stores: readonly string[]): Promise<DeletionRequest> {
  requestNumber += 1;
  const request = newDeletionRequest({
    id: `del_handlerTest${String(requestNumber).padStart(4, '0')}`,
    subjectIds,
    suppress: true,
    requestedAt: at(requestNumber),
    stores,
  });
  await requests.create(request);
  return request;
}

describe('deletion function handler', () => {
  const stores = awsDeletionStores(loadConfig({}));
  let handler: typeof DeletionHandler.handler;
  let marginMs: number;
  let stuckAfter: number;
  let s3: S3Stub;
  let s3Sdk: typeof S3Sdk;

  beforeAll(() => {
    const loaded = loadHandler();
    ({ handler, STEP_START_MARGIN_MS: marginMs, STUCK_AFTER_ATTEMPTS: stuckAfter } = loaded.module);
    ({ s3, s3Sdk } = loaded);
  });

  afterAll(() => s3?.restore());

  beforeEach(() => {
    s3.reset();
    // An empty lake, unless a test says otherwise.
    s3.on(s3Sdk.ListObjectVersionsCommand).resolves({ IsTruncated: false });
  });

  /** The prefixes the lake steps listed, in order. */
  const listedPrefixes = (): string[] =>
    s3
      .commandCalls(s3Sdk.ListObjectVersionsCommand)
      .map((call) => (call.args[0].input as ListObjectVersionsCommandInput).Prefix ?? '');

  it('runs a stored request through the hot tier and both lake prefixes to COMPLETED', async () => {
    await hot.applyActivity([activity(1, 'ada', 'ada-phone'), activity(2, 'bob', 'bob-phone')]);
    expect(await hot.getUser('ada')).not.toBeNull();
    const request = await storedRequest(['ada', 'ada-phone'], stores);

    await expect(handler({}, context(15 * 60_000))).resolves.toEqual({ unfinished: 0, stoppedEarly: false });

    const done = await requests.get(request.id);
    expect(done).toMatchObject({ status: 'COMPLETED', completedAt: expect.any(String) });
    expect(done?.steps.map((step) => [step.store, step.status])).toEqual(
      stores.map((store) => [store, 'COMPLETED']),
    );
    expect(done?.steps[0]?.removed).toBeGreaterThan(0);
    expect(await hot.getUser('ada')).toBeNull();
    expect(await hot.getUser('bob')).not.toBeNull();
    expect(listedPrefixes()).toEqual(['events/', 'failed/']);
    expect(s3.commandCalls(s3Sdk.ListObjectVersionsCommand)[0]?.args[0].input).toMatchObject({
      Bucket: BUCKET,
    });
    expect(await requests.unfinished()).toEqual([]);
  });

  it('starts no step once the margin before the timeout is reached, and leaves the request RUNNING', async () => {
    // The events/ listing takes longer than the time left before the margin.
    s3.on(s3Sdk.ListObjectVersionsCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return { IsTruncated: false };
    });
    const request = await storedRequest(['cyd'], stores);

    await expect(handler({}, context(marginMs + 300))).resolves.toEqual({
      unfinished: 1,
      stoppedEarly: true,
    });

    const stopped = await requests.get(request.id);
    expect(stopped?.status).toBe('RUNNING');
    expect(stopped?.steps[0]).toMatchObject({ store: 'hot-tier', status: 'COMPLETED' });
    expect(stopped?.steps.at(-1)).toMatchObject({ store: 'lake-failed', status: 'PENDING', attempts: 0 });
    expect(listedPrefixes()).not.toContain('failed/');

    // The next run finishes it.
    s3.reset();
    s3.on(s3Sdk.ListObjectVersionsCommand).resolves({ IsTruncated: false });
    await expect(handler({}, context(15 * 60_000))).resolves.toEqual({ unfinished: 0, stoppedEarly: false });
    expect((await requests.get(request.id))?.status).toBe('COMPLETED');
  });

  it('leaves a failed step for the next run, and fails the run once the step has failed again and again', async () => {
    s3.on(s3Sdk.ListObjectVersionsCommand).rejects(
      new s3Sdk.S3ServiceException({
        name: 'ServiceUnavailable',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
        message: 'Please reduce your request rate.',
      }),
    );
    const request = await storedRequest(['dee'], stores);

    for (let attempt = 1; attempt < stuckAfter; attempt += 1) {
      await expect(handler({}, context(15 * 60_000))).resolves.toEqual({
        unfinished: 1,
        stoppedEarly: false,
      });
      expect((await requests.get(request.id))?.steps[1]).toMatchObject({
        store: 'lake-events',
        status: 'FAILED',
        attempts: attempt,
      });
    }
    const stuck = handler({}, context(15 * 60_000));
    await expect(stuck).rejects.toMatchObject({ name: 'DeletionStuckError', code: 'DELETION_STUCK' });
    await expect(stuck).rejects.toThrow(`${request.id} lake-events (${stuckAfter} attempts)`);
    const failed = await requests.get(request.id);
    expect(failed?.status).toBe('FAILED');
    // The steps after a failed one wait for it.
    expect(failed?.steps[2]).toMatchObject({ store: 'lake-failed', status: 'PENDING' });
    expect(listedPrefixes()).not.toContain('failed/');

    // Once the lake answers, the next run completes the request.
    s3.reset();
    s3.on(s3Sdk.ListObjectVersionsCommand).resolves({ IsTruncated: false });
    await expect(handler({}, context(15 * 60_000))).resolves.toEqual({ unfinished: 0, stoppedEarly: false });
    expect((await requests.get(request.id))?.status).toBe('COMPLETED');
  });
});

describe('deletion function handler, with a warehouse', () => {
  const stores = awsDeletionStores(loadConfig({ TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics' }));
  let loaded: LoadedHandler;
  /** Every S3 listing and Redshift statement, in the order the handler sent them. */
  const calls: string[] = [];

  beforeAll(() => {
    loaded = loadHandler({ TRIBUTARY_REDSHIFT_WORKGROUP: 'analytics' });
    const { s3, s3Sdk, redshift, redshiftSdk } = loaded;
    s3.on(s3Sdk.ListObjectVersionsCommand).callsFake((input: ListObjectVersionsCommandInput) => {
      calls.push(`list ${input.Prefix ?? ''}`);
      return { IsTruncated: false };
    });
    // Statements finish at once; only the erasure's count query has rows.
    const sqlById = new Map<string, string>();
    redshift.on(redshiftSdk.ExecuteStatementCommand).callsFake((input: { Sql?: string }) => {
      const id = `q${sqlById.size}`;
      sqlById.set(id, input.Sql ?? '');
      calls.push(`statement ${(input.Sql ?? '').trim().split(/\s+/)[0] ?? ''}`);
      return { Id: id };
    });
    redshift.on(redshiftSdk.BatchExecuteStatementCommand).callsFake((input: { Sqls?: string[] }) => {
      const id = `b${sqlById.size}`;
      sqlById.set(id, 'BATCH');
      calls.push(`batch of ${input.Sqls?.length ?? 0}`);
      return { Id: id };
    });
    redshift.on(redshiftSdk.DescribeStatementCommand).callsFake((input: { Id?: string }) => ({
      Status: 'FINISHED',
      HasResultSet: /^\s*SELECT/i.test(sqlById.get(input.Id ?? '') ?? ''),
    }));
    redshift.on(redshiftSdk.GetStatementResultCommand).resolves({
      ColumnMetadata: [{ name: 'events' }, { name: 'failed_events' }],
      Records: [[{ longValue: 3 }, { longValue: 1 }]],
    });
  });

  afterAll(() => {
    loaded?.s3.restore();
    loaded?.redshift.restore();
  });

  it('erases the warehouse last, as its own database user, and completes the request', async () => {
    expect(stores.at(-1)).toBe('warehouse');
    const request = await storedRequest(['eve', 'eve-phone'], stores);

    await expect(loaded.module.handler({}, context(15 * 60_000))).resolves.toEqual({
      unfinished: 0,
      stoppedEarly: false,
    });

    const done = await requests.get(request.id);
    expect(done?.status).toBe('COMPLETED');
    expect(done?.steps.map((step) => step.store)).toEqual(stores);
    expect(done?.steps.at(-1)).toMatchObject({ store: 'warehouse', status: 'COMPLETED', removed: 4 });
    // The lake is erased before the warehouse, which loads from it.
    const firstStatement = calls.findIndex((call) => !call.startsWith('list '));
    expect(calls.slice(0, firstStatement)).toEqual(['list events/', 'list failed/']);
    expect(calls.slice(firstStatement).some((call) => call.startsWith('batch of '))).toBe(true);
    // Signed in by IAM: no statement carries a secret (the load step's admin secret).
    const targets = [
      ...loaded.redshift.commandCalls(loaded.redshiftSdk.ExecuteStatementCommand),
      ...loaded.redshift.commandCalls(loaded.redshiftSdk.BatchExecuteStatementCommand),
    ].map((call) => call.args[0].input as { WorkgroupName?: string; SecretArn?: string });
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      expect(target).toMatchObject({ WorkgroupName: 'analytics', SecretArn: undefined });
    }
  });
});

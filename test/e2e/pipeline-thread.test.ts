import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import os from 'node:os';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { ensureStream } from '../../src/local/emulators';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { PipelineThreadError } from '../../src/local/pipeline/errors';
import { PipelineThread } from '../../src/local/pipeline/thread';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';
import { gql } from '../helpers/graphql-client';
import { testConfig } from '../helpers/test-config';

// The API thread must never load the pipeline's modules: should the stack import one of them on
// this thread again, these stand-ins throw and the stack fails to start. The pipeline thread loads
// the real ones (jest's module registry does not reach into worker threads).
jest.mock('../../src/stream/process-batch', () => {
  throw new Error('the stream processor was loaded on the API thread');
});
jest.mock('../../src/local/poller/local-poller', () => {
  throw new Error('the poller was loaded on the API thread');
});
jest.mock('../../src/sinks/lake/local/local-lake-delivery', () => {
  throw new Error('the lake delivery was loaded on the API thread');
});

jest.setTimeout(60_000);

/** A thread's nice value: field 19 of its stat line (after the parenthesised name). */
function threadNice(threadId: string): number {
  const stat = readFileSync(`/proc/self/task/${threadId}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

const API_KEY = 'pipeline-thread-key-1';
const TRACK = `mutation($events: [TrackEventInput!]!) { trackEvents(events: $events) { accepted } }`;
const USER = `query($id: ID!) { user(id: $id) { id eventCount } }`;
const ROWS = `{ warehouse { rows } }`;

describe('the pipeline thread', () => {
  let dataDir: string;
  let stack: LocalStack;
  let sequence = 0;

  const send = async (userId: string, count: number) => {
    const events = Array.from({ length: count }, () => ({
      event: 'page_viewed',
      userId,
      messageId: `pipeline-thread-${++sequence}`,
    }));
    const response = await gql<{ trackEvents: { accepted: number } }>(
      stack.graphqlUrl,
      TRACK,
      { events },
      API_KEY,
    );
    expect(response.data?.trackEvents.accepted).toBe(count);
  };
  const eventCount = async (id: string) =>
    (await gql<{ user: { eventCount: number } | null }>(stack.graphqlUrl, USER, { id }, API_KEY)).data?.user
      ?.eventCount;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-pipeline-thread-'));
    stack = await startLocalStack(testConfig(dataDir, API_KEY, { TRIBUTARY_BACKGROUND_NICENESS: '7' }));
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('processes events on a thread of its own, into the hot tier and the warehouse', async () => {
    expect(stack.pipeline.threadId).toBeGreaterThan(0);
    expect(stack.pipeline.threadId).not.toBe(threadId);
    await send('off-thread', 3);
    await stack.settle();
    expect(await eventCount('off-thread')).toBe(3);
    const rows = await gql<{ warehouse: { rows: number } }>(stack.graphqlUrl, ROWS, {}, API_KEY);
    expect(rows.data?.warehouse.rows).toBe(3);
  });

  it('runs behind the API: its thread and the DynamoDB emulator at the configured nice value', () => {
    // Per-thread nice values are a Linux property; the suite's machines run Linux.
    const niceness = readdirSync('/proc/self/task').map((id) => ({ id: Number(id), nice: threadNice(id) }));
    const behind = niceness.filter((t) => t.nice === 7);
    // The pipeline's thread and dynalite's, and any thread either started (DuckDB's, for Parquet).
    expect(behind.length).toBeGreaterThanOrEqual(2);
    expect(niceness.find((t) => t.id === process.pid)?.nice).toBe(os.getPriority());
    expect(niceness.filter((t) => t.nice !== 7).length).toBeGreaterThan(1);
  });

  it("has the API's caches forget what each batch changed before the batch counts as processed", async () => {
    await send('cached', 1);
    await stack.settle();
    // Read twice: the profile and the whole answer are now cached, and would stay so for ever.
    expect(await eventCount('cached')).toBe(1);
    expect(await eventCount('cached')).toBe(1);
    await send('cached', 2);
    await stack.settle();
    expect(await eventCount('cached')).toBe(3);
  });
});

describe('the pipeline thread, as lake files land', () => {
  let emulators: TestEmulators;

  beforeAll(async () => {
    emulators = await startTestEmulators('tributary-pipeline-lake-');
  });

  afterAll(async () => {
    await emulators?.stop();
  });

  it('tells the API thread once they are durable, so the loader need not list the lake', async () => {
    const config = testConfig(emulators.dataDir, API_KEY);
    await ensureStream(emulators.kinesis, config.streamName, config.localShards);
    await ensureHotTable(emulators.dynamodb, config.tableName);
    const thread = await PipelineThread.start({
      data: { config: { ...config, aws: emulators.aws }, piiSecret: 'pipeline-thread-secret' },
      hotReads: { forgetWritesOf: () => undefined, forgetFolded: () => undefined },
      onCrash: (error) => {
        throw error;
      },
    });
    try {
      const lakeFiles = async () =>
        (await readdir(path.join(emulators.dataDir, 'lake'), { recursive: true })).filter((file) =>
          file.endsWith('.gz'),
        );
      const told = new Promise<string[]>((resolve) => thread.onLakeFilesWritten(() => resolve(lakeFiles())));
      // Not an event: it lands as a failed event, in a lake file of its own.
      await emulators.kinesis.send(
        new PutRecordCommand({ StreamName: config.streamName, PartitionKey: 'p', Data: Buffer.from('{') }),
      );
      thread.wake();
      expect(await told).toHaveLength(1);
    } finally {
      await thread.stop();
    }
  });
});

describe('a failing pipeline thread', () => {
  let emulators: TestEmulators;

  beforeAll(async () => {
    emulators = await startTestEmulators('tributary-pipeline-fail-');
  });

  afterAll(async () => {
    await emulators?.stop();
  });

  it('fails the start when it cannot start, with what went wrong there', async () => {
    const config = testConfig(emulators.dataDir, API_KEY, { TRIBUTARY_STREAM_NAME: 'no-such-stream' });
    const onCrash = jest.fn();
    const started = PipelineThread.start({
      data: { config: { ...config, aws: emulators.aws }, piiSecret: 'pipeline-thread-secret' },
      hotReads: { forgetWritesOf: () => undefined, forgetFolded: () => undefined },
      onCrash,
    });
    await expect(started).rejects.toThrow(PipelineThreadError);
    await expect(started).rejects.toMatchObject({ code: 'PIPELINE_THREAD_FAILED' });
    await expect(started).rejects.toThrow(/no-such-stream/);
    expect(onCrash).not.toHaveBeenCalled();
  });

  it('reports a thread that dies once, and fails what was asked of it', async () => {
    const config = testConfig(emulators.dataDir, API_KEY);
    const onCrash = jest.fn();
    const thread = await PipelineThread.start({
      data: { config: { ...config, aws: emulators.aws }, piiSecret: 'pipeline-thread-secret' },
      hotReads: { forgetWritesOf: () => undefined, forgetFolded: () => undefined },
      onCrash,
      entry: path.join(__dirname, '../helpers/crashing-pipeline-worker.js'),
    });
    await expect(thread.drain()).rejects.toMatchObject({
      code: 'PIPELINE_THREAD_FAILED',
      message: expect.stringContaining('a bug in the pipeline'),
    });
    expect(onCrash).toHaveBeenCalledTimes(1);
    expect(onCrash.mock.calls[0]?.[0]).toBeInstanceOf(PipelineThreadError);
    await expect(thread.drain()).rejects.toThrow(/a bug in the pipeline/);
    await thread.stop();
    expect(onCrash).toHaveBeenCalledTimes(1);
  });
});

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ExpiredIteratorException,
  type GetRecordsCommandInput,
  type KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-kinesis';
import type { InitializeMiddleware } from '@smithy/types';
import { createKinesisClient } from '../../src/aws/clients';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { ensureStream } from '../../src/local/emulators';
import { FileCheckpointStore } from '../../src/local/poller/checkpoint-store';
import {
  type KinesisBatchHandler,
  LocalPoller,
  type PollerLogger,
} from '../../src/local/poller/local-poller';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';
import { KinesisStreamReader } from '../../src/stream/kinesis/kinesis-stream-reader';

const quiet: PollerLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const decode = (data: string) => Buffer.from(data, 'base64').toString('utf8');
const payloads = (event: KinesisStreamEvent) => event.Records.map((r) => decode(r.kinesis.data));

describe('LocalPoller', () => {
  let env: TestEmulators;
  let streamSeq = 0;
  let streamName: string;
  let checkpointDir: string;
  const pollers: LocalPoller[] = [];

  beforeAll(async () => {
    env = await startTestEmulators();
  });
  afterAll(async () => {
    await env.stop();
  });
  beforeEach(async () => {
    streamName = `poller-${++streamSeq}`;
    checkpointDir = path.join(env.dataDir, `checkpoints-${streamSeq}`);
    await ensureStream(env.kinesis, streamName, 1);
  });
  afterEach(async () => {
    await Promise.all(pollers.splice(0).map((p) => p.stop()));
  });

  async function put(values: string[], partitionKey = 'pk'): Promise<string[]> {
    const res = await env.kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: values.map((v) => ({ PartitionKey: partitionKey, Data: Buffer.from(v) })),
      }),
    );
    expect(res.FailedRecordCount).toBe(0);
    return (res.Records ?? []).map((r) => r.SequenceNumber ?? '');
  }

  function poller(
    handler: KinesisBatchHandler,
    overrides: { batchSize?: number; client?: KinesisClient } = {},
  ): LocalPoller {
    const p = new LocalPoller({
      reader: new KinesisStreamReader({ client: overrides.client ?? env.kinesis, streamName }),
      handler,
      checkpoints: new FileCheckpointStore(checkpointDir, streamName),
      batchSize: overrides.batchSize ?? 100,
      batchWindowMs: 20,
      idleMs: 10,
      retryBaseDelayMs: 5,
      maxRetryDelayMs: 20,
      shardDiscoveryMs: 30,
      logger: quiet,
    });
    pollers.push(p);
    return p;
  }

  async function checkpoints(): Promise<Record<string, string>> {
    return JSON.parse(await readFile(path.join(checkpointDir, 'checkpoints.json'), 'utf8')) as Record<
      string,
      string
    >;
  }

  it('delivers every record in order, in batches no bigger than batchSize', async () => {
    const values = Array.from({ length: 47 }, (_, i) => `v${i}`);
    await put(values);
    const batches: string[][] = [];
    const p = poller(
      async (event) => {
        batches.push(payloads(event));
      },
      { batchSize: 10 },
    );
    await p.start();
    await p.drain();

    expect(batches.flat()).toEqual(values);
    expect(Math.max(...batches.map((b) => b.length))).toBe(10);
    expect(batches.length).toBeGreaterThanOrEqual(5);

    // Records put while running are delivered too.
    await put(['late-1', 'late-2']);
    await p.drain();
    expect(batches.flat().slice(-2)).toEqual(['late-1', 'late-2']);
  });

  it('backs off while a shard stays idle, and reads at once when woken', async () => {
    const inner = new KinesisStreamReader({ client: env.kinesis, streamName });
    let reads = 0;
    const reader = {
      describe: () => inner.describe(),
      listShards: () => inner.listShards(),
      shardIterator: (shardId: string, position: Parameters<typeof inner.shardIterator>[1]) =>
        inner.shardIterator(shardId, position),
      getRecords: (iterator: string, limit: number) => {
        reads += 1;
        return inner.getRecords(iterator, limit);
      },
    };
    const delivered: Array<{ value: string; at: number }> = [];
    const p = new LocalPoller({
      reader,
      handler: async (event) => {
        for (const value of payloads(event)) delivered.push({ value, at: Date.now() });
      },
      checkpoints: new FileCheckpointStore(checkpointDir, streamName),
      batchSize: 100,
      batchWindowMs: 20,
      idleMs: 200,
      maxIdleMs: 60_000,
      shardDiscoveryMs: 60_000,
      logger: quiet,
    });
    pollers.push(p);
    await p.start();
    // Reads at about 0, 200, 600 and 1400 ms; the next pause lasts 1.6 s. Without backoff: 8 reads.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(reads).toBeGreaterThanOrEqual(3);
    expect(reads).toBeLessThanOrEqual(5);

    await put(['woken']);
    const putAt = Date.now();
    p.wake();
    while (delivered.length === 0 && Date.now() - putAt < 5_000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(delivered.map((d) => d.value)).toEqual(['woken']);
    expect((delivered[0]?.at ?? Infinity) - putAt).toBeLessThan(1_000);
  });

  it('builds the event Lambda delivers', async () => {
    const [seq] = await put(['{"event":"page_view"}'], 'user-42');
    const events: KinesisStreamEvent[] = [];
    const p = poller(async (event) => {
      events.push(event);
    });
    const before = Date.now() / 1000;
    await p.start();
    await p.drain();

    expect(events).toHaveLength(1);
    const record = events[0]?.Records[0];
    expect(record).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'user-42',
        sequenceNumber: seq,
        data: Buffer.from('{"event":"page_view"}').toString('base64'),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${seq}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: expect.stringMatching(/^arn:aws:iam::\d{12}:role\//),
      awsRegion: 'us-east-1',
      eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${streamName}`,
    });
    expect(decode(record?.kinesis.data ?? '')).toBe('{"event":"page_view"}');
    // Seconds since the epoch, not milliseconds.
    expect(Math.abs((record?.kinesis.approximateArrivalTimestamp ?? 0) - before)).toBeLessThan(60);
  });

  it('persists checkpoints, and a new poller resumes after them', async () => {
    const first = await put(['a', 'b', 'c']);
    const seen1: string[] = [];
    const p1 = poller(async (event) => {
      seen1.push(...payloads(event));
    });
    await p1.start();
    await p1.drain();
    await p1.stop();
    expect(seen1).toEqual(['a', 'b', 'c']);
    expect(await checkpoints()).toEqual({ [`${streamName}/shardId-000000000000`]: first[2] });

    await put(['d', 'e']);
    const seen2: string[] = [];
    const p2 = poller(async (event) => {
      seen2.push(...payloads(event));
    });
    await p2.start();
    await p2.drain();
    expect(seen2).toEqual(['d', 'e']);
  });

  it('retries from the lowest failed sequence number on partial failure', async () => {
    const seqs = await put(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    const batches: string[][] = [];
    let checkpointAtRetry: string | undefined;
    const p = poller(async (event): Promise<KinesisStreamBatchResponse> => {
      batches.push(payloads(event));
      if (batches.length === 1) {
        // Reported out of order: the lowest one (r2) is where processing resumes.
        return { batchItemFailures: [{ itemIdentifier: seqs[4] ?? '' }, { itemIdentifier: seqs[2] ?? '' }] };
      }
      if (batches.length === 2)
        checkpointAtRetry = (await checkpoints())[`${streamName}/shardId-000000000000`];
      return { batchItemFailures: [] };
    });
    await p.start();
    await p.drain();

    expect(batches).toEqual([
      ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'],
      ['r2', 'r3', 'r4', 'r5'],
    ]);
    expect(checkpointAtRetry).toBe(seqs[1]);
    expect((await checkpoints())[`${streamName}/shardId-000000000000`]).toBe(seqs[5]);
  });

  it('retries the whole batch when the handler throws', async () => {
    await put(['x', 'y']);
    const batches: string[][] = [];
    const p = poller(async (event) => {
      batches.push(payloads(event));
      if (batches.length <= 2) throw new Error('downstream unavailable');
    });
    await p.start();
    await p.drain();
    expect(batches).toEqual([
      ['x', 'y'],
      ['x', 'y'],
      ['x', 'y'],
    ]);
  });

  it('stop() waits for the in-flight batch and its checkpoint', async () => {
    const seqs = await put(['slow']);
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    let finished = false;
    const p = poller(async () => {
      started();
      await new Promise((resolve) => setTimeout(resolve, 100));
      finished = true;
    });
    await p.start();
    await handlerStarted;
    await p.stop();
    expect(finished).toBe(true);
    expect(await checkpoints()).toEqual({ [`${streamName}/shardId-000000000000`]: seqs[0] });
  });

  it('finishes a parent shard before its children after a split', async () => {
    await put(['p0', 'p1', 'p2'], 'same-key');
    await env.kinesis.send(
      new SplitShardCommand({
        StreamName: streamName,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await ensureStream(env.kinesis, streamName, 1);
    const { Shards = [] } = await env.kinesis.send(new ListShardsCommand({ StreamName: streamName }));
    expect(Shards).toHaveLength(3);
    await put(['c0', 'c1'], 'same-key');

    const seen: Array<{ shard: string; value: string }> = [];
    const p = poller(async (event) => {
      for (const r of event.Records)
        seen.push({ shard: r.eventID.split(':')[0] ?? '', value: decode(r.kinesis.data) });
    });
    await p.start();
    await p.drain();
    expect(seen.map((s) => s.value)).toEqual(['p0', 'p1', 'p2', 'c0', 'c1']);
    expect(seen[0]?.shard).toBe('shardId-000000000000');
    expect(seen[3]?.shard).not.toBe('shardId-000000000000');
  });

  it('replaces an expired shard iterator without losing or repeating records', async () => {
    await put(['e0', 'e1', 'e2', 'e3', 'e4']);
    // kinesalite expires iterators only after five minutes; expire the second read's instead.
    const client = createKinesisClient({ aws: env.aws });
    let reads = 0;
    const expire: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => async (args) => {
      if ((args.input as GetRecordsCommandInput).ShardIterator !== undefined && ++reads === 2) {
        throw new ExpiredIteratorException({ message: 'Iterator expired', $metadata: {} });
      }
      return next(args);
    };
    client.middlewareStack.add(expire, { step: 'initialize', name: 'expireIterator' });
    const seen: string[] = [];
    const p = poller(
      async (event) => {
        seen.push(...payloads(event));
      },
      { batchSize: 2, client },
    );
    await p.start();
    await p.drain();
    await p.stop();
    client.destroy();
    expect(reads).toBeGreaterThan(2);
    expect(seen).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  });
});

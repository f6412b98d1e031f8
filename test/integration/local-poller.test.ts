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
  type PollerClock,
  type PollerLogger,
} from '../../src/local/poller/local-poller';
import type { StreamReader } from '../../src/stream/port';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';
import { KinesisStreamReader } from '../../src/stream/kinesis/kinesis-stream-reader';

const quiet: PollerLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const decode = (data: string) => Buffer.from(data, 'base64').toString('utf8');
const payloads = (event: KinesisStreamEvent) => event.Records.map((r) => decode(r.kinesis.data));

/** Waits (in real time: the emulator answers in real time) until `condition` holds. */
async function eventually(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A clock that moves only when the test says: a sleep ends once advance() reaches it, or its signal aborts. */
class ManualClock implements PollerClock {
  private time = 0;
  private readonly sleepers = new Set<{ until: number; ms: number; wake: () => void }>();

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const sleeper = { until: this.time + ms, ms, wake: resolve };
      this.sleepers.add(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers.delete(sleeper);
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  }

  /** Whether something sleeps for exactly `ms`. */
  sleeping(ms: number): boolean {
    return [...this.sleepers].some((s) => s.ms === ms);
  }

  advance(ms: number): void {
    this.time += ms;
    for (const sleeper of [...this.sleepers]) {
      if (sleeper.until > this.time) continue;
      this.sleepers.delete(sleeper);
      sleeper.wake();
    }
  }
}

/** A reader that counts the reads of an inner one. */
function countingReader(inner: StreamReader): StreamReader & { reads: number } {
  const reader = {
    reads: 0,
    describe: () => inner.describe(),
    listShards: () => inner.listShards(),
    shardIterator: (...args: Parameters<StreamReader['shardIterator']>) => inner.shardIterator(...args),
    getRecords: (...args: Parameters<StreamReader['getRecords']>) => {
      reader.reads += 1;
      return inner.getRecords(...args);
    },
  };
  return reader;
}

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
    const reader = countingReader(new KinesisStreamReader({ client: env.kinesis, streamName }));
    const clock = new ManualClock();
    const delivered: string[] = [];
    const p = new LocalPoller({
      reader,
      handler: async (event) => {
        delivered.push(...payloads(event));
      },
      checkpoints: new FileCheckpointStore(checkpointDir, streamName),
      batchSize: 100,
      batchWindowMs: 0,
      idleMs: 200,
      maxIdleMs: 1_000,
      shardDiscoveryMs: 60_000,
      logger: quiet,
      clock,
    });
    pollers.push(p);
    await p.start();

    // Each empty read at the tip doubles the pause, up to maxIdleMs; no read happens before it ends.
    const pauses = [200, 400, 800, 1_000, 1_000];
    for (const [i, pause] of pauses.entries()) {
      await eventually(() => clock.sleeping(pause) && reader.reads === i + 1);
      clock.advance(pause);
    }
    await eventually(() => reader.reads === pauses.length + 1 && clock.sleeping(1_000));

    // wake() ends the pause: the record is read with no time passing, and the pause starts over at idleMs.
    await put(['woken']);
    const now = clock.now();
    p.wake();
    await eventually(() => delivered.length > 0 && clock.sleeping(200));
    expect(delivered).toEqual(['woken']);
    expect(clock.now()).toBe(now);
  });

  it('reads again instead of sleeping when onIdle says records were put during the empty read', async () => {
    const inner = new KinesisStreamReader({ client: env.kinesis, streamName });
    let crossed = false;
    // The first empty read at the tip misses a record put while it was in flight.
    const reader = countingReader({
      describe: () => inner.describe(),
      listShards: () => inner.listShards(),
      shardIterator: (shardId, position) => inner.shardIterator(shardId, position),
      getRecords: async (iterator, limit) => {
        const response = await inner.getRecords(iterator, limit);
        if (!crossed && response.records.length === 0) {
          crossed = true;
          await put(['crossed']);
        }
        return response;
      },
    });
    const clock = new ManualClock();
    const delivered: string[] = [];
    const asked: string[] = [];
    const p = new LocalPoller({
      reader,
      handler: async (event) => {
        delivered.push(...payloads(event));
      },
      checkpoints: new FileCheckpointStore(checkpointDir, streamName),
      batchSize: 100,
      batchWindowMs: 0,
      idleMs: 200,
      maxIdleMs: 1_000,
      shardDiscoveryMs: 60_000,
      logger: quiet,
      clock,
      // As the stack's wake latch answers: records were put since the shard last asked, once.
      onIdle: (shardId) => {
        asked.push(shardId);
        return asked.length > 1;
      },
    });
    pollers.push(p);
    await p.start();

    await eventually(() => delivered.length > 0 && clock.sleeping(200));
    expect(delivered).toEqual(['crossed']);
    // No time passed: the shard read again at once, with no wake() and no pause.
    expect(clock.now()).toBe(0);
    expect(new Set(asked).size).toBe(1);
  });

  it('stop() during start waits for the stream calls in flight, and start() ends quietly', async () => {
    const stopAt = ['start', 'describe', 'listShards', 'shardIterator', 'getRecords'] as const;
    for (const moment of stopAt) {
      for (let round = 0; round < 4; round += 1) {
        const inner = new KinesisStreamReader({ client: env.kinesis, streamName });
        let inFlight = 0;
        let gone = false;
        let callsAfterGone = 0;
        let stopped: Promise<void> | undefined;
        // What a stack does after stop(): closes its emulator; a call then fails as it would on a closed port.
        const call = async <T>(name: string, send: () => Promise<T>): Promise<T> => {
          if (gone) {
            callsAfterGone += 1;
            throw new Error('connect ECONNREFUSED');
          }
          // stop() comes from elsewhere, while this call is in flight.
          if (name === moment) void Promise.resolve().then(() => (stopped ??= p.stop()));
          inFlight += 1;
          try {
            const result = await send();
            if (gone) throw new Error('connect ECONNREFUSED');
            return result;
          } finally {
            inFlight -= 1;
          }
        };
        const reader: StreamReader = {
          describe: () => call('describe', () => inner.describe()),
          listShards: () => call('listShards', () => inner.listShards()),
          shardIterator: (...args) => call('shardIterator', () => inner.shardIterator(...args)),
          getRecords: (...args) => call('getRecords', () => inner.getRecords(...args)),
        };
        const p = new LocalPoller({
          reader,
          handler: async () => undefined,
          checkpoints: new FileCheckpointStore(checkpointDir, streamName),
          batchSize: 100,
          batchWindowMs: 0,
          idleMs: 5,
          shardDiscoveryMs: 5,
          logger: quiet,
        });
        const started = p.start();
        if (moment === 'start') stopped = p.stop();
        await eventually(() => stopped !== undefined);
        await stopped;

        expect({ moment, inFlight }).toEqual({ moment, inFlight: 0 });
        gone = true;
        await expect(started).resolves.toBeUndefined();
        // Longer than every pause the poller takes: a loop still running would call again by now.
        await new Promise((resolve) => setTimeout(resolve, 25));
        expect({ moment, callsAfterGone }).toEqual({ moment, callsAfterGone: 0 });
      }
    }
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

import {
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
  type PutRecordsResultEntry,
  ProvisionedThroughputExceededException,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-kinesis';
import type { InitializeHandlerOutput, InitializeMiddleware } from '@smithy/types';
import { ensureStream } from '../../src/local/emulators';
import { createKinesisClient } from '../../src/aws/clients';
import { KinesisProducer } from '../../src/stream/kinesis/kinesis-producer';
import type { StreamPutRecord } from '../../src/stream/port';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';
import { decodeText, readAllRecords } from '../helpers/kinesis-records';

const text = (s: string) => new TextEncoder().encode(s);

interface Injection {
  /** Per call: returns the partition keys to fail as entries in this call (they are not sent). */
  failEntries?: (call: number, keys: string[]) => Set<string>;
  /** Per call: an exception to throw instead of sending. */
  throwOnCall?: (call: number) => Error | undefined;
}

/**
 * A client whose PutRecords is intercepted before serialisation: chosen entries are withheld
 * from kinesalite and reported as failed, like a throttled shard would.
 */
function faultyClient(env: TestEmulators, injection: Injection) {
  const client = createKinesisClient({ aws: env.aws });
  const calls: string[][] = [];
  const inject: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => async (args) => {
    const input = args.input as PutRecordsCommandInput;
    if (!Array.isArray(input.Records)) return next(args);
    const keys = input.Records.map((r) => r.PartitionKey ?? '');
    const call = calls.push(keys);
    const thrown = injection.throwOnCall?.(call);
    if (thrown) throw thrown;
    const failing = injection.failEntries?.(call, keys) ?? new Set<string>();
    const kept = input.Records.filter((r) => !failing.has(r.PartitionKey ?? ''));
    const sent: InitializeHandlerOutput<PutRecordsCommandOutput> = kept.length
      ? ((await next({
          ...args,
          input: { ...input, Records: kept },
        })) as InitializeHandlerOutput<PutRecordsCommandOutput>)
      : { output: { Records: [], FailedRecordCount: 0, $metadata: {} }, response: undefined };
    const results = [...(sent.output.Records ?? [])];
    const merged: PutRecordsResultEntry[] = input.Records.map((r) =>
      failing.has(r.PartitionKey ?? '')
        ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
        : (results.shift() as PutRecordsResultEntry),
    );
    return { ...sent, output: { ...sent.output, Records: merged, FailedRecordCount: failing.size } };
  };
  client.middlewareStack.add(inject, { step: 'initialize', name: 'injectFaults' });
  return { client, calls };
}

describe('KinesisProducer', () => {
  let env: TestEmulators;
  let streamSeq = 0;
  let streamName: string;
  const sleeps: number[] = [];
  const sleep = (ms: number) => {
    sleeps.push(ms);
    return Promise.resolve();
  };

  beforeAll(async () => {
    env = await startTestEmulators();
  });
  afterAll(async () => {
    await env.stop();
  });
  beforeEach(async () => {
    streamName = `producer-${++streamSeq}`;
    sleeps.length = 0;
    await ensureStream(env.kinesis, streamName, 2);
  });

  it('puts records that land on the stream in order, with sequence numbers', async () => {
    const producer = new KinesisProducer({ client: env.kinesis, streamName, sleep });
    const records = Array.from({ length: 20 }, (_, i) => ({
      partitionKey: 'user-1',
      data: text(`event-${i}`),
    }));
    const outcomes = await producer.putRecords(records);

    expect(outcomes).toHaveLength(20);
    const seqs = outcomes.map((o) => {
      if (!o.ok) throw new Error(`unexpected failure ${o.errorCode}`);
      expect(o.shardId).toMatch(/^shardId-/);
      return BigInt(o.sequenceNumber);
    });
    for (let i = 1; i < seqs.length; i++) expect((seqs[i] as bigint) > (seqs[i - 1] as bigint)).toBe(true);
    const stored = await readAllRecords(env.kinesis, streamName);
    expect(stored.map((r) => r.data)).toEqual(records.map((_, i) => `event-${i}`));
    expect(sleeps).toEqual([]);
  });

  it('splits more than 500 records into several calls and keeps input order in outcomes', async () => {
    const { client, calls } = faultyClient(env, {});
    const producer = new KinesisProducer({ client, streamName, sleep });
    const records = Array.from({ length: 1203 }, (_, i) => ({
      partitionKey: `k${i % 7}`,
      data: text(`r${i}`),
    }));
    const outcomes = await producer.putRecords(records);
    client.destroy();

    expect(calls.map((c) => c.length)).toEqual([500, 500, 203]);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const stored = await readAllRecords(env.kinesis, streamName);
    expect(stored).toHaveLength(1203);
    // Within a partition key, stream order is input order.
    for (let k = 0; k < 7; k++) {
      const expected = records.filter((r) => r.partitionKey === `k${k}`).map((r) => decodeText(r.data));
      expect(stored.filter((r) => r.key === `k${k}`).map((r) => r.data)).toEqual(expected);
    }
  });

  it('splits by the 5 MiB request limit', async () => {
    const { client, calls } = faultyClient(env, {});
    const producer = new KinesisProducer({ client, streamName, sleep });
    const big = new Uint8Array(1000 * 1024).fill(65);
    const records = Array.from({ length: 7 }, (_, i) => ({ partitionKey: `p${i}`, data: big }));
    const outcomes = await producer.putRecords(records);
    client.destroy();
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(calls.map((c) => c.length)).toEqual([5, 2]);
  });

  it('rejects a record over 1 MiB without sending it', async () => {
    const { client, calls } = faultyClient(env, {});
    const producer = new KinesisProducer({ client, streamName, sleep });
    const outcomes = await producer.putRecords([
      { partitionKey: 'a', data: text('small') },
      { partitionKey: 'b', data: new Uint8Array(1024 * 1024) },
    ]);
    client.destroy();
    expect(outcomes[0]?.ok).toBe(true);
    expect(outcomes[1]).toMatchObject({ ok: false, errorCode: 'RecordTooLarge' });
    expect(calls).toEqual([['a']]);
  });

  it('retries only the entries Kinesis rejected, with backoff', async () => {
    const { client, calls } = faultyClient(env, {
      failEntries: (call) => (call === 1 ? new Set(['b', 'd']) : call === 2 ? new Set(['d']) : new Set()),
    });
    const producer = new KinesisProducer({ client, streamName, sleep, random: () => 1, baseDelayMs: 10 });
    const records: StreamPutRecord[] = ['a', 'b', 'c', 'd', 'e'].map((k) => ({
      partitionKey: k,
      data: text(k),
    }));
    const outcomes = await producer.putRecords(records);
    client.destroy();

    expect(calls).toEqual([['a', 'b', 'c', 'd', 'e'], ['b', 'd'], ['d']]);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(sleeps).toEqual([10, 20]);
    const stored = await readAllRecords(env.kinesis, streamName);
    // Each record landed exactly once.
    expect(stored.map((r) => r.data).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('reports entries still failing after maxAttempts as failed, never as success', async () => {
    const { client, calls } = faultyClient(env, { failEntries: () => new Set(['x']) });
    const producer = new KinesisProducer({ client, streamName, sleep, maxAttempts: 3 });
    const outcomes = await producer.putRecords([
      { partitionKey: 'x', data: text('x') },
      { partitionKey: 'y', data: text('y') },
    ]);
    client.destroy();

    expect(calls).toEqual([['x', 'y'], ['x'], ['x']]);
    expect(outcomes[0]).toEqual({
      ok: false,
      errorCode: 'ProvisionedThroughputExceededException',
      errorMessage: 'Rate exceeded for shard',
    });
    expect(outcomes[1]?.ok).toBe(true);
    expect((await readAllRecords(env.kinesis, streamName)).map((r) => r.data)).toEqual(['y']);
  });

  it('retries a whole call on throttling and network exceptions', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    const { client, calls } = faultyClient(env, {
      throwOnCall: (call) => (call === 1 ? throttled : call === 2 ? reset : undefined),
    });
    const producer = new KinesisProducer({ client, streamName, sleep });
    const outcomes = await producer.putRecords([{ partitionKey: 'a', data: text('a') }]);
    client.destroy();
    expect(calls).toHaveLength(3);
    expect(outcomes[0]?.ok).toBe(true);
    expect(sleeps).toHaveLength(2);
  });

  it('caps the backoff at maxDelayMs', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    const { client } = faultyClient(env, { throwOnCall: () => throttled });
    const producer = new KinesisProducer({
      client,
      streamName,
      sleep,
      random: () => 1,
      maxAttempts: 6,
      baseDelayMs: 100,
      maxDelayMs: 500,
    });
    const outcomes = await producer.putRecords([{ partitionKey: 'a', data: text('a') }]);
    client.destroy();
    expect(sleeps).toEqual([100, 200, 400, 500, 500]);
    expect(outcomes[0]).toMatchObject({ ok: false, errorCode: 'ProvisionedThroughputExceededException' });
  });

  it('fails every entry without retrying when the stream does not exist', async () => {
    const producer = new KinesisProducer({ client: env.kinesis, streamName: 'no-such-stream', sleep });
    const outcomes = await producer.putRecords([
      { partitionKey: 'a', data: text('a') },
      { partitionKey: 'b', data: text('b') },
    ]);
    expect(outcomes).toEqual([
      expect.objectContaining({ ok: false, errorCode: 'StreamNotFound' }),
      expect.objectContaining({ ok: false, errorCode: 'StreamNotFound' }),
    ]);
    expect(sleeps).toEqual([]);
  });

  it('rethrows exceptions it does not know', async () => {
    const { client } = faultyClient(env, { throwOnCall: () => new TypeError('bug') });
    const producer = new KinesisProducer({ client, streamName, sleep });
    await expect(producer.putRecords([{ partitionKey: 'a', data: text('a') }])).rejects.toThrow(TypeError);
    client.destroy();
  });
});

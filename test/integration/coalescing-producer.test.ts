import {
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-kinesis';
import type { InitializeHandlerOutput, InitializeMiddleware } from '@smithy/types';
import { createKinesisClient } from '../../src/aws/clients';
import { ensureStream } from '../../src/local/emulators';
import { CoalescingProducer } from '../../src/stream/coalescing-producer';
import { KinesisProducer } from '../../src/stream/kinesis/kinesis-producer';
import type { EventStreamProducer, StreamPutOutcome, StreamPutRecord } from '../../src/stream/port';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';
import { decodeText, readAllRecords } from '../helpers/kinesis-records';

const text = (s: string) => new TextEncoder().encode(s);

/**
 * A client to the emulator that records each PutRecords call's records (as text) and has the
 * emulator's answer report records whose data starts with `fail:` as throttled, without sending
 * them: a partial failure (FailedRecordCount > 0) as Kinesis gives it.
 */
function recordingClient(env: TestEmulators) {
  const client = createKinesisClient({ aws: env.aws });
  const calls: string[][] = [];
  const inject: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => async (args) => {
    const input = args.input as PutRecordsCommandInput;
    if (!Array.isArray(input.Records)) return next(args);
    calls.push(input.Records.map((r) => decodeText(r.Data)));
    const failing = (r: { Data?: Uint8Array }) => decodeText(r.Data).startsWith('fail:');
    const kept = input.Records.filter((r) => !failing(r));
    const sent: InitializeHandlerOutput<PutRecordsCommandOutput> = kept.length
      ? ((await next({
          ...args,
          input: { ...input, Records: kept },
        })) as InitializeHandlerOutput<PutRecordsCommandOutput>)
      : { output: { Records: [], FailedRecordCount: 0, $metadata: {} }, response: undefined };
    const results = [...(sent.output.Records ?? [])];
    const Records = input.Records.map((r) =>
      failing(r)
        ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
        : results.shift(),
    );
    const FailedRecordCount = input.Records.length - kept.length;
    return { ...sent, output: { ...sent.output, Records, FailedRecordCount } };
  };
  client.middlewareStack.add(inject, { step: 'initialize', name: 'recordCalls' });
  return { client, calls };
}

/** A producer that notes, synchronously, each time it is called. */
function spied(inner: EventStreamProducer): EventStreamProducer & { started: number } {
  const spy = {
    started: 0,
    putRecords: (records: StreamPutRecord[]) => {
      spy.started += 1;
      return inner.putRecords(records);
    },
  };
  return spy;
}

const sequenceOf = (outcome: StreamPutOutcome | undefined): string => {
  if (!outcome?.ok) throw new Error(`unexpected failure ${JSON.stringify(outcome)}`);
  return outcome.sequenceNumber;
};

describe('CoalescingProducer on the Kinesis emulator', () => {
  let env: TestEmulators;
  let streamSeq = 0;
  let streamName: string;

  beforeAll(async () => {
    env = await startTestEmulators();
  });
  afterAll(async () => {
    await env.stop();
  });
  beforeEach(async () => {
    streamName = `coalescing-${++streamSeq}`;
    await ensureStream(env.kinesis, streamName, 2);
  });

  it("lands concurrent callers' records once each, in each caller's order, with each caller's own outcomes", async () => {
    const { client, calls } = recordingClient(env);
    const producer = new CoalescingProducer(new KinesisProducer({ client, streamName }));
    // 30 callers at once, 1 to 12 records each, some sharing a partition key with another caller.
    const requests = Array.from({ length: 30 }, (_, caller) =>
      Array.from({ length: 1 + (caller % 12) }, (_, i) => ({
        partitionKey: `user-${caller % 7}`,
        data: text(`c${caller}-r${i}`),
      })),
    );
    const outcomes = await Promise.all(requests.map((records) => producer.putRecords(records)));
    client.destroy();

    const stored = await readAllRecords(env.kinesis, streamName);
    const sent = requests.flat().map((r) => decodeText(r.data));
    expect(stored.map((r) => r.data).sort()).toEqual([...sent].sort());
    // Fewer calls than callers, and the first went out alone, before anyone else had asked.
    expect(calls.length).toBeLessThan(requests.length);
    expect(calls[0]).toEqual(['c0-r0']);
    const bySequence = new Map(stored.map((r) => [r.sequenceNumber, r]));
    requests.forEach((records, caller) => {
      const own = outcomes[caller] ?? [];
      expect(own).toHaveLength(records.length);
      // Each outcome names the stream record holding this caller's record at that position.
      expect(own.map((o) => bySequence.get(sequenceOf(o))?.data)).toEqual(
        records.map((r) => decodeText(r.data)),
      );
      // In the caller's order on the stream.
      const seqs = own.map((o) => BigInt(sequenceOf(o)));
      for (let i = 1; i < seqs.length; i++) expect((seqs[i] as bigint) > (seqs[i - 1] as bigint)).toBe(true);
    });
  });

  it('maps a partial failure of a shared call to the caller and record that failed', async () => {
    const { client, calls } = recordingClient(env);
    const sleeps: number[] = [];
    const kinesis = new KinesisProducer({
      client,
      streamName,
      maxAttempts: 2,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    });
    const producer = new CoalescingProducer(kinesis);
    const first = producer.putRecords([{ partitionKey: 'a', data: text('a1') }]);
    const second = producer.putRecords([
      { partitionKey: 'b', data: text('b1') },
      { partitionKey: 'b', data: text('fail:b2') },
    ]);
    const third = producer.putRecords([{ partitionKey: 'c', data: text('c1') }]);
    const [one, two, three] = await Promise.all([first, second, third]);
    client.destroy();

    // The second and third shared a call; only the failing record was tried again, once.
    expect(calls).toEqual([['a1'], ['b1', 'fail:b2', 'c1'], ['fail:b2']]);
    expect(sleeps).toHaveLength(1);
    expect(one?.map((o) => o.ok)).toEqual([true]);
    expect(two?.map((o) => o.ok)).toEqual([true, false]);
    expect(two?.[1]).toMatchObject({ errorCode: 'ProvisionedThroughputExceededException' });
    expect(three?.map((o) => o.ok)).toEqual([true]);
    expect((await readAllRecords(env.kinesis, streamName)).map((r) => r.data).sort()).toEqual([
      'a1',
      'b1',
      'c1',
    ]);
  });

  it('keeps each call within 500 records and 5 MiB, counting whole requests', async () => {
    const { client, calls } = recordingClient(env);
    const producer = new CoalescingProducer(new KinesisProducer({ client, streamName }));
    const many = (caller: number) =>
      Array.from({ length: 200 }, (_, i) => ({ partitionKey: `k${i % 5}`, data: text(`m${caller}-${i}`) }));
    const big = new Uint8Array(1000 * 1024).fill(66);
    const heavy = (caller: number) => [{ partitionKey: `h${caller}`, data: big }];
    const results = await Promise.all([
      producer.putRecords([{ partitionKey: 'first', data: text('first') }]),
      ...[1, 2, 3].map((caller) => producer.putRecords(many(caller))),
      ...[1, 2, 3, 4, 5, 6].map((caller) => producer.putRecords(heavy(caller))),
    ]);
    client.destroy();

    expect(results.flat().every((o) => o.ok)).toBe(true);
    // 1, then 200 + 200 (a third would pass 500), then 200 + five of the 1,000 KiB records (a
    // sixth would pass 5 MiB), then the last.
    expect(calls.map((c) => c.length)).toEqual([1, 400, 205, 1]);
    expect(await readAllRecords(env.kinesis, streamName)).toHaveLength(1 + 600 + 6);
  }, 60_000);

  it('sends a lone request at once, in a call of its own', async () => {
    const { client, calls } = recordingClient(env);
    const inner = spied(new KinesisProducer({ client, streamName }));
    const producer = new CoalescingProducer(inner);
    const put = producer.putRecords([{ partitionKey: 'solo', data: text('solo') }]);
    // Called before this test gave up the thread: no timer, no waiting for company.
    expect(inner.started).toBe(1);
    expect((await put)[0]?.ok).toBe(true);
    const again = await producer.putRecords([{ partitionKey: 'solo', data: text('solo-2') }]);
    client.destroy();
    expect(again[0]?.ok).toBe(true);
    expect(calls).toEqual([['solo'], ['solo-2']]);
  });
});

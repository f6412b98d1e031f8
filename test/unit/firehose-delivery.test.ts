import {
  FirehoseClient,
  PutRecordBatchCommand,
  type PutRecordBatchCommandInput,
  type PutRecordBatchOutput,
  ResourceNotFoundException,
  ServiceUnavailableException,
} from '@aws-sdk/client-firehose';
import { mockClient } from 'aws-sdk-client-mock';
import {
  FirehoseDelivery,
  type FirehoseDeliveryOptions,
  MAX_BYTES_PER_CALL,
  MAX_BYTES_PER_RECORD,
  translateFirehoseError,
} from '../../src/sinks/lake/firehose/firehose-delivery';
import { DeliveryError, RecordTooLargeError } from '../../src/sinks/lake/errors';

interface Rec {
  id: number;
  pad?: string;
}

const firehose = mockClient(FirehoseClient);
const client = new FirehoseClient({ region: 'eu-west-1' });

let sleeps: number[];

function delivery(overrides: Partial<FirehoseDeliveryOptions<Rec>> = {}): FirehoseDelivery<Rec> {
  return new FirehoseDelivery<Rec>({
    client,
    deliveryStreamName: 'events',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.999,
    ...overrides,
  });
}

function recs(n: number, pad?: string): Rec[] {
  return Array.from({ length: n }, (_, id) => (pad === undefined ? { id } : { id, pad }));
}

function inputs(): PutRecordBatchCommandInput[] {
  return firehose.commandCalls(PutRecordBatchCommand).map((call) => call.args[0].input);
}

function lines(input: PutRecordBatchCommandInput): string[] {
  return (input.Records ?? []).map((r) => Buffer.from(r.Data ?? new Uint8Array()).toString('utf8'));
}

function ids(input: PutRecordBatchCommandInput): number[] {
  return lines(input).map((line) => (JSON.parse(line) as Rec).id);
}

/** Answers every call with success for all entries it carries. */
function allOk(input: PutRecordBatchCommandInput): PutRecordBatchOutput {
  return {
    FailedPutCount: 0,
    RequestResponses: (input.Records ?? []).map((_, i) => ({ RecordId: `r${i}` })),
  };
}

/** Answers a call by failing the entries whose record id is in `failIds`. */
function failing(failIds: Set<number>) {
  return (input: PutRecordBatchCommandInput): PutRecordBatchOutput => {
    const responses = ids(input).map((id, i) =>
      failIds.has(id)
        ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
        : { RecordId: `r${i}` },
    );
    return { FailedPutCount: responses.filter((r) => 'ErrorCode' in r).length, RequestResponses: responses };
  };
}

beforeEach(() => {
  firehose.reset();
  sleeps = [];
});

describe('FirehoseDelivery', () => {
  it('delivers a small batch in one call as newline-terminated JSON', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);
    const records = [{ id: 1, pad: 'é ü' }, { id: 2 }, { id: 3 }];

    const result = await delivery().deliver(records);

    expect(result.failed).toEqual([]);
    expect(inputs()).toHaveLength(1);
    const [input] = inputs();
    expect(input?.DeliveryStreamName).toBe('events');
    const payloads = lines(input as PutRecordBatchCommandInput);
    expect(payloads).toEqual(records.map((r) => `${JSON.stringify(r)}\n`));
    expect(payloads.every((line) => line.indexOf('\n') === line.length - 1)).toBe(true);
    expect(sleeps).toEqual([]);
  });

  it('uses the injected serializer', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);
    await delivery({ serialize: (r) => JSON.stringify({ messageId: `m${r.id}` }) }).deliver([{ id: 7 }]);
    expect(lines(inputs()[0] as PutRecordBatchCommandInput)).toEqual(['{"messageId":"m7"}\n']);
  });

  it('splits more than 500 records into several calls, keeping every record once', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);

    const result = await delivery().deliver(recs(1201));

    expect(result.failed).toEqual([]);
    expect(inputs().map((i) => i.Records?.length)).toEqual([500, 500, 201]);
    expect(inputs().flatMap(ids)).toEqual(recs(1201).map((r) => r.id));
  });

  it('splits by bytes so no call carries more than 4 MiB', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);
    // ~900 KB each: 4 fit under 4 MiB, a fifth would not.
    const records = recs(10, 'x'.repeat(900_000));

    const result = await delivery().deliver(records);

    expect(result.failed).toEqual([]);
    const sizes = inputs().map((i) =>
      (i.Records ?? []).reduce((sum, r) => sum + (r.Data?.byteLength ?? 0), 0),
    );
    expect(inputs().map((i) => i.Records?.length)).toEqual([4, 4, 2]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BYTES_PER_CALL);
    expect(inputs().flatMap(ids)).toEqual(records.map((r) => r.id));
  });

  it('retries only the entries Firehose rejected, then succeeds', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .callsFakeOnce(failing(new Set([1, 3])))
      .callsFake(allOk);

    const result = await delivery().deliver(recs(5));

    expect(result.failed).toEqual([]);
    expect(inputs()).toHaveLength(2);
    expect(ids(inputs()[0] as PutRecordBatchCommandInput)).toEqual([0, 1, 2, 3, 4]);
    expect(ids(inputs()[1] as PutRecordBatchCommandInput)).toEqual([1, 3]);
    expect(sleeps).toHaveLength(1);
  });

  it('checks FailedPutCount on a successful call and retries failed entries even with no exception', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .resolvesOnce({
        FailedPutCount: 1,
        RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }],
      })
      .callsFake(allOk);

    const result = await delivery().deliver(recs(2));

    expect(result.failed).toEqual([]);
    expect(ids(inputs()[1] as PutRecordBatchCommandInput)).toEqual([1]);
  });

  it('reports entries still failing after maxAttempts by index, with the Firehose error', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(failing(new Set([2, 4])));

    const result = await delivery({ maxAttempts: 3 }).deliver(recs(6));

    expect(inputs()).toHaveLength(3);
    expect(inputs().slice(1).map(ids)).toEqual([
      [2, 4],
      [2, 4],
    ]);
    expect(result.failed.map((f) => f.index)).toEqual([2, 4]);
    for (const { error } of result.failed) {
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as DeliveryError).code).toBe('DELIVERY_ENTRY_FAILED');
      expect(error.message).toContain('ServiceUnavailableException');
      expect(error.message).toContain('Slow down.');
      expect(error.message).toContain('3 attempts');
    }
  });

  it('retries the whole call after a throttling exception, then succeeds', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .rejectsOnce(
        new ServiceUnavailableException({ message: 'Slow down.', $metadata: { httpStatusCode: 503 } }),
      )
      .callsFake(allOk);

    const result = await delivery().deliver(recs(3));

    expect(result.failed).toEqual([]);
    expect(inputs().map(ids)).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ]);
  });

  it('retries network errors and, if they persist, fails every entry with the last error as cause', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    firehose.on(PutRecordBatchCommand).rejects(reset);

    const result = await delivery({ maxAttempts: 2 }).deliver(recs(2));

    expect(inputs()).toHaveLength(2);
    expect(result.failed.map((f) => f.index)).toEqual([0, 1]);
    const error = result.failed[0]?.error as DeliveryError;
    expect(error.code).toBe('DELIVERY_UNAVAILABLE');
    expect(error.cause).toBe(reset);
  });

  it('fails every entry at once with a typed error on a non-retryable exception', async () => {
    const sdkError = new ResourceNotFoundException({ message: 'Stream events not found', $metadata: {} });
    firehose.on(PutRecordBatchCommand).rejects(sdkError);

    const result = await delivery().deliver(recs(3));

    expect(inputs()).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(result.failed.map((f) => f.index)).toEqual([0, 1, 2]);
    const error = result.failed[0]?.error as DeliveryError;
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error.code).toBe('DELIVERY_STREAM_NOT_FOUND');
    expect(error.cause).toBe(sdkError);
  });

  it('treats unknown exceptions as transient, then reports them as the cause', async () => {
    const odd = Object.assign(new Error('something odd'), { name: 'WeirdException' });
    firehose.on(PutRecordBatchCommand).rejectsOnce(odd).rejectsOnce(odd).callsFake(allOk);
    expect((await delivery().deliver(recs(1))).failed).toEqual([]);

    firehose.reset();
    firehose.on(PutRecordBatchCommand).rejects(odd);
    const result = await delivery({ maxAttempts: 2 }).deliver(recs(1));
    expect(result.failed[0]?.index).toBe(0);
    expect((result.failed[0]?.error as DeliveryError).code).toBe('DELIVERY_FAILED');
    expect(result.failed[0]?.error.cause).toBe(odd);
  });

  it('fails an oversize record at once, without sending it, and delivers its neighbours', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);
    const records: Rec[] = [{ id: 0 }, { id: 1, pad: 'x'.repeat(MAX_BYTES_PER_RECORD) }, { id: 2 }];

    const result = await delivery().deliver(records);

    expect(inputs().map(ids)).toEqual([[0, 2]]);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]?.index).toBe(1);
    const error = result.failed[0]?.error as RecordTooLargeError;
    expect(error).toBeInstanceOf(RecordTooLargeError);
    expect(error.code).toBe('RECORD_TOO_LARGE');
  });

  it('accepts a record of exactly the limit once serialised, newline included', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);
    const overhead = `${JSON.stringify({ id: 0, pad: '' })}\n`.length;

    const result = await delivery().deliver([{ id: 0, pad: 'x'.repeat(MAX_BYTES_PER_RECORD - overhead) }]);

    expect(result.failed).toEqual([]);
    expect(inputs()[0]?.Records?.[0]?.Data?.byteLength).toBe(MAX_BYTES_PER_RECORD);
  });

  it('reports a record the serializer cannot handle without failing the batch', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);
    const serialize = (r: Rec) => {
      if (r.id === 1) throw new TypeError('Do not know how to serialize a BigInt');
      return JSON.stringify(r);
    };

    const result = await delivery({ serialize }).deliver(recs(3));

    expect(result.failed.map((f) => [f.index, (f.error as DeliveryError).code])).toEqual([
      [1, 'RECORD_NOT_SERIALIZABLE'],
    ]);
    expect(inputs().map(ids)).toEqual([[0, 2]]);
  });

  it('backs off with growing delays bounded by maxDelayMs', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(failing(new Set([0])));

    await delivery({ maxAttempts: 7, baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999 }).deliver(
      recs(1),
    );

    expect(sleeps).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it('applies full jitter: the delay scales with the random draw', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(failing(new Set([0])));

    await delivery({ maxAttempts: 4, baseDelayMs: 100, random: () => 0.5 }).deliver(recs(1));

    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('does not call Firehose for an empty batch, and close is a no-op', async () => {
    const d = delivery();
    expect(await d.deliver([])).toEqual({ failed: [] });
    await d.close();
    expect(inputs()).toHaveLength(0);
  });
});

describe('translateFirehoseError', () => {
  it.each([
    [new ServiceUnavailableException({ message: 'x', $metadata: {} }), 'DELIVERY_UNAVAILABLE', true],
    [Object.assign(new Error('x'), { name: 'ThrottlingException' }), 'DELIVERY_UNAVAILABLE', true],
    [Object.assign(new Error('x'), { name: 'TimeoutError' }), 'DELIVERY_UNAVAILABLE', true],
    [
      Object.assign(new Error('x'), { name: 'Boom', $metadata: { httpStatusCode: 502 } }),
      'DELIVERY_UNAVAILABLE',
      true,
    ],
    [new ResourceNotFoundException({ message: 'x', $metadata: {} }), 'DELIVERY_STREAM_NOT_FOUND', false],
    [Object.assign(new Error('x'), { name: 'InvalidArgumentException' }), 'DELIVERY_REJECTED', false],
    [Object.assign(new Error('x'), { name: 'AccessDeniedException' }), 'DELIVERY_ACCESS_DENIED', false],
    ['a string', 'DELIVERY_FAILED', true],
  ])('translates %p', (err, code, retryable) => {
    const translated = translateFirehoseError(err);
    expect(translated.code).toBe(code);
    expect(translated.retryable).toBe(retryable);
    expect(translated.cause).toBe(err);
  });
});

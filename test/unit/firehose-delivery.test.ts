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
import { PACKED_RECORD_BYTES } from '../../src/sinks/lake/firehose/record-packing';
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

/** Records whose newline-terminated document is exactly `bytes` long. */
function sized(n: number, bytes: number, firstId = 0): Rec[] {
  return Array.from({ length: n }, (_, i) => {
    const id = firstId + i;
    const overhead = document({ id, pad: '' }).length;
    return { id, pad: 'x'.repeat(bytes - overhead) };
  });
}

const document = (record: Rec): string => `${JSON.stringify(record)}\n`;

function inputs(): PutRecordBatchCommandInput[] {
  return firehose.commandCalls(PutRecordBatchCommand).map((call) => call.args[0].input);
}

/** The data of each Firehose record of a call. */
function recordData(input: PutRecordBatchCommandInput): string[] {
  return (input.Records ?? []).map((r) => Buffer.from(r.Data ?? new Uint8Array()).toString('utf8'));
}

/** The ids of the documents packed into each Firehose record of a call. */
function packedIds(input: PutRecordBatchCommandInput): number[][] {
  return recordData(input).map((data) =>
    data
      .split('\n')
      .slice(0, -1)
      .map((line) => (JSON.parse(line) as Rec).id),
  );
}

/** The ids of every document a call carried, in order. */
function ids(input: PutRecordBatchCommandInput): number[] {
  return packedIds(input).flat();
}

/** Answers every call with success for all entries it carries. */
function allOk(input: PutRecordBatchCommandInput): PutRecordBatchOutput {
  return {
    FailedPutCount: 0,
    RequestResponses: (input.Records ?? []).map((_, i) => ({ RecordId: `r${i}` })),
  };
}

/** Answers a call by failing the Firehose records that carry a document whose id is in `failIds`. */
function failing(failIds: Set<number>) {
  return (input: PutRecordBatchCommandInput): PutRecordBatchOutput => {
    const responses = packedIds(input).map((packed, i) =>
      packed.some((id) => failIds.has(id))
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
  it('packs a small batch into one Firehose record: the newline-terminated JSON documents, concatenated', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);
    const records = [{ id: 1, pad: 'é ü' }, { id: 2 }, { id: 3 }];

    const result = await delivery().deliver(records);

    expect(result.failed).toEqual([]);
    expect(inputs()).toHaveLength(1);
    const [input] = inputs();
    expect(input?.DeliveryStreamName).toBe('events');
    expect(recordData(input as PutRecordBatchCommandInput)).toEqual([records.map(document).join('')]);
    expect(input?.Records?.[0]?.Data?.byteLength).toBe(Buffer.byteLength(records.map(document).join('')));
    expect(sleeps).toEqual([]);
  });

  it('uses the injected serializer', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);
    await delivery({ serialize: (r) => JSON.stringify({ messageId: `m${r.id}` }) }).deliver([{ id: 7 }]);
    expect(recordData(inputs()[0] as PutRecordBatchCommandInput)).toEqual(['{"messageId":"m7"}\n']);
  });

  it('fills each Firehose record up to the packed size, never past it, keeping the order', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);
    // Four documents of a quarter fill a record exactly; one byte more and only three fit.
    const quarters = sized(10, PACKED_RECORD_BYTES / 4);
    const overQuarters = sized(4, PACKED_RECORD_BYTES / 4 + 1, 10);

    const result = await delivery().deliver([...quarters, ...overQuarters]);

    expect(result.failed).toEqual([]);
    expect(inputs()).toHaveLength(1);
    const input = inputs()[0] as PutRecordBatchCommandInput;
    expect(packedIds(input)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10],
      [11, 12, 13],
    ]);
    expect(recordData(input)[0]).toBe(quarters.slice(0, 4).map(document).join(''));
    expect(recordData(input)[2]).toBe([...quarters.slice(8), overQuarters[0]!].map(document).join(''));
    expect(input.Records?.[0]?.Data?.byteLength).toBe(PACKED_RECORD_BYTES);
    for (const record of input.Records ?? []) {
      expect(record.Data?.byteLength).toBeLessThanOrEqual(PACKED_RECORD_BYTES);
    }
  });

  it('sends a document larger than the packed size alone, packing its neighbours around it', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);
    const big = sized(1, PACKED_RECORD_BYTES + 1, 2)[0]!;

    await delivery().deliver([{ id: 0 }, { id: 1 }, big, { id: 3 }, { id: 4 }]);

    expect(inputs().map(packedIds)).toEqual([[[0, 1], [2], [3, 4]]]);
    expect(recordData(inputs()[0] as PutRecordBatchCommandInput)[1]).toBe(document(big));
  });

  it('splits packed records into calls of at most 4 MiB, keeping every document once and in order', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(allOk);
    // 5,000 documents of 1,000 bytes: 61 to a record, 68 records (4.15 MB) to a call.
    const records = sized(5000, 1000);

    const result = await delivery().deliver(records);

    expect(result.failed).toEqual([]);
    expect(inputs().map((i) => i.Records?.length)).toEqual([68, 14]);
    for (const input of inputs()) {
      const bytes = (input.Records ?? []).reduce((sum, r) => sum + (r.Data?.byteLength ?? 0), 0);
      expect(bytes).toBeLessThanOrEqual(MAX_BYTES_PER_CALL);
      expect(packedIds(input).every((packed) => packed.length <= 61)).toBe(true);
    }
    expect(inputs().flatMap(ids)).toEqual(records.map((r) => r.id));
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

  it('retries only the Firehose records that failed, each with all its documents, then succeeds', async () => {
    firehose
      .on(PutRecordBatchCommand)
      .callsFakeOnce(failing(new Set([5])))
      .callsFake(allOk);
    const records = sized(12, PACKED_RECORD_BYTES / 4);

    const result = await delivery().deliver(records);

    expect(result.failed).toEqual([]);
    expect(inputs().map(packedIds)).toEqual([
      [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9, 10, 11],
      ],
      [[4, 5, 6, 7]],
    ]);
    expect(recordData(inputs()[1] as PutRecordBatchCommandInput)).toEqual([
      records.slice(4, 8).map(document).join(''),
    ]);
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

    const result = await delivery().deliver(sized(2, PACKED_RECORD_BYTES));

    expect(result.failed).toEqual([]);
    expect(inputs().map(packedIds)).toEqual([[[0], [1]], [[1]]]);
  });

  it('reports every input record of a Firehose record still failing after maxAttempts, with the Firehose error', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(failing(new Set([2, 9])));
    // Three documents to a record: ids 2 and 9 fail the records [0, 1, 2] and [9, 10, 11].
    const records = sized(14, PACKED_RECORD_BYTES / 3);

    const result = await delivery({ maxAttempts: 3 }).deliver(records);

    expect(inputs()).toHaveLength(3);
    expect(inputs().slice(1).map(packedIds)).toEqual([
      [
        [0, 1, 2],
        [9, 10, 11],
      ],
      [
        [0, 1, 2],
        [9, 10, 11],
      ],
    ]);
    expect(result.failed.map((f) => f.index)).toEqual([0, 1, 2, 9, 10, 11]);
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

    expect(inputs().map(packedIds)).toEqual([[[0, 2]]]);
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

  it('keeps every failure per input record: serialisation, size, and a packed record that keeps failing', async () => {
    firehose.on(PutRecordBatchCommand).callsFake(failing(new Set([6])));
    const serialize = (r: Rec) => {
      if (r.id === 1) throw new TypeError('Do not know how to serialize a BigInt');
      return JSON.stringify(r);
    };
    const records: Rec[] = [
      ...sized(4, PACKED_RECORD_BYTES / 2),
      { id: 4, pad: 'x'.repeat(MAX_BYTES_PER_RECORD) },
      ...sized(4, PACKED_RECORD_BYTES / 2, 5),
    ];

    const result = await delivery({ serialize, maxAttempts: 2 }).deliver(records);

    // 1 and 4 never leave; 6 takes its record-mate 7 with it; the rest are delivered.
    expect(packedIds(inputs()[0] as PutRecordBatchCommandInput)).toEqual([[0, 2], [3, 5], [6, 7], [8]]);
    expect(result.failed.map((f) => [f.index, (f.error as DeliveryError).code])).toEqual([
      [1, 'RECORD_NOT_SERIALIZABLE'],
      [4, 'RECORD_TOO_LARGE'],
      [6, 'DELIVERY_ENTRY_FAILED'],
      [7, 'DELIVERY_ENTRY_FAILED'],
    ]);
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

import {
  type FirehoseClient,
  PutRecordBatchCommand,
  type PutRecordBatchOutput,
} from '@aws-sdk/client-firehose';
import type { Delivery, DeliveryResult } from '../port';
import { DeliveryError, RecordTooLargeError } from '../errors';
import { type Document, type PackedRecord, packDocuments } from './record-packing';
import {
  ACCESS_DENIED_ERROR_NAMES,
  fullJitterDelay,
  isTransient,
  sdkErrorFacts,
  sleep,
} from '../../../aws/retry';

/** Firehose PutRecordBatch limits. */
export const MAX_RECORDS_PER_CALL = 500;
export const MAX_BYTES_PER_CALL = 4 * 1024 * 1024;
export const MAX_BYTES_PER_RECORD = 1000 * 1024;

export interface FirehoseDeliveryOptions<T> {
  client: FirehoseClient;
  deliveryStreamName: string;
  /** Attempts per PutRecordBatch chunk, the first included. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests; defaults to a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
  /** Turns a record into one JSON document; a newline is appended. Defaults to JSON.stringify. */
  serialize?: (record: T) => string;
}

const REJECTED_NAMES = new Set([
  'InvalidArgumentException',
  'InvalidKMSResourceException',
  'InvalidSourceException',
  'ValidationException',
  'SerializationException',
]);

/**
 * Maps an exception thrown by PutRecordBatch to a DeliveryError. Unknown exceptions come back
 * retryable: losing a batch to an unrecognised blip is worse than a few wasted attempts, and
 * the records still end up reported failed (never dropped) if it persists.
 */
export function translateFirehoseError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const facts = sdkErrorFacts(err);
  const { name } = facts;
  const detail = `${name}: ${facts.message}`;
  const cause = { cause: err };

  if (isTransient(facts)) {
    return new DeliveryError(`Firehose unavailable: ${detail}`, 'DELIVERY_UNAVAILABLE', {
      ...cause,
      retryable: true,
    });
  }
  if (name === 'ResourceNotFoundException') {
    return new DeliveryError(
      `Firehose delivery stream not found: ${detail}`,
      'DELIVERY_STREAM_NOT_FOUND',
      cause,
    );
  }
  if (REJECTED_NAMES.has(name)) {
    return new DeliveryError(`Firehose rejected the request: ${detail}`, 'DELIVERY_REJECTED', cause);
  }
  if (ACCESS_DENIED_ERROR_NAMES.has(name)) {
    return new DeliveryError(`Firehose denied access: ${detail}`, 'DELIVERY_ACCESS_DENIED', cause);
  }
  return new DeliveryError(`Firehose call failed: ${detail}`, 'DELIVERY_FAILED', {
    ...cause,
    retryable: true,
  });
}

/**
 * Delivery on Firehose PutRecordBatch: each input record becomes one newline-terminated JSON
 * document (so the lake files and Redshift COPY read one record per line), consecutive documents
 * are packed into Firehose records (record-packing.ts says why and how big), chunked to the
 * service limits, retrying only the Firehose records that failed. Results stay per input record:
 * a packed record that keeps failing reports every input record it carried.
 */
export class FirehoseDelivery<T> implements Delivery<T> {
  private readonly client: FirehoseClient;
  private readonly deliveryStreamName: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly serialize: (record: T) => string;

  constructor(options: FirehoseDeliveryOptions<T>) {
    this.client = options.client;
    this.deliveryStreamName = options.deliveryStreamName;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 3000;
    this.sleep = options.sleep ?? sleep;
    this.random = options.random ?? Math.random;
    this.serialize = options.serialize ?? ((record: T) => JSON.stringify(record));
  }

  /** Delivers records; the result lists the ones that could not be delivered after retries. */
  async deliver(records: T[]): Promise<DeliveryResult> {
    const failed: DeliveryResult['failed'] = [];
    const documents: Document[] = [];
    records.forEach((record, index) => {
      const encoded = this.encode(record);
      if (encoded instanceof Error) failed.push({ index, error: encoded });
      else documents.push({ index, data: encoded });
    });

    // Chunks go one after another so a failing stream is not hammered by parallel retries.
    for (const chunk of chunkPayloads(packDocuments(documents))) {
      failed.push(...(await this.putChunk(chunk)));
    }
    failed.sort((a, b) => a.index - b.index);
    return { failed };
  }

  /** Nothing is buffered: every deliver call has finished before it resolves. */
  async close(): Promise<void> {}

  private encode(record: T): Uint8Array | DeliveryError {
    let json: string | undefined;
    try {
      json = this.serialize(record);
    } catch (err) {
      return new DeliveryError(`record could not be serialised: ${String(err)}`, 'RECORD_NOT_SERIALIZABLE', {
        cause: err,
      });
    }
    // JSON.stringify returns undefined for undefined and functions; sending "undefined\n" would poison COPY.
    if (typeof json !== 'string') {
      return new DeliveryError('record serialised to nothing', 'RECORD_NOT_SERIALIZABLE');
    }
    const data = Buffer.from(`${json}\n`, 'utf8');
    if (data.byteLength > MAX_BYTES_PER_RECORD)
      return new RecordTooLargeError(data.byteLength, MAX_BYTES_PER_RECORD);
    return data;
  }

  private backoff(retry: number): number {
    return fullJitterDelay(retry, this.baseDelayMs, this.maxDelayMs, this.random);
  }

  private async putChunk(chunk: PackedRecord[]): Promise<Array<{ index: number; error: Error }>> {
    let pending = chunk;
    const lastError = new Map<PackedRecord, DeliveryError>();
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(this.backoff(attempt - 1));
      let response: PutRecordBatchOutput;
      try {
        response = await this.client.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: this.deliveryStreamName,
            Records: pending.map((p) => ({ Data: p.data })),
          }),
        );
      } catch (err) {
        const error = translateFirehoseError(err);
        if (!error.retryable) return reportEach(pending, () => error);
        for (const p of pending) lastError.set(p, error);
        continue;
      }
      // FailedPutCount is authoritative: a 200 response can still carry rejected entries.
      if ((response.FailedPutCount ?? 0) === 0) {
        pending = [];
        break;
      }
      const results = response.RequestResponses ?? [];
      const retry: PackedRecord[] = [];
      pending.forEach((p, position) => {
        const result = results[position];
        if (result !== undefined && result.ErrorCode === undefined) return;
        const code = result?.ErrorCode ?? 'MissingResult';
        const message = result?.ErrorMessage ?? 'Firehose returned no result for this record';
        lastError.set(
          p,
          new DeliveryError(`${code}: ${message}`, 'DELIVERY_ENTRY_FAILED', { retryable: true }),
        );
        retry.push(p);
      });
      pending = retry;
    }
    return reportEach(pending, (p) => {
      const last = lastError.get(p);
      return new DeliveryError(
        `not delivered to Firehose stream ${this.deliveryStreamName} after ${this.maxAttempts} attempts: ${last?.message ?? 'no attempt was made'}`,
        last?.code ?? 'DELIVERY_FAILED',
        { cause: last?.cause ?? last, retryable: true },
      );
    });
  }
}

/** One failure per input record a packed record carried, all with that record's error. */
function reportEach(
  records: readonly PackedRecord[],
  errorOf: (record: PackedRecord) => Error,
): Array<{ index: number; error: Error }> {
  return records.flatMap((record) => {
    const error = errorOf(record);
    return record.indices.map((index) => ({ index, error }));
  });
}

/**
 * Splits records into calls within both per-call limits. With packed records the 4 MiB bound comes
 * first (two neighbours together exceed the packed size, so 500 records exceed 15 MiB); the
 * 500-record bound stays because it is the service's, whatever the packed size.
 */
function chunkPayloads<P extends { data: Uint8Array }>(payloads: P[]): P[][] {
  const chunks: P[][] = [];
  let current: P[] = [];
  let bytes = 0;
  for (const payload of payloads) {
    const size = payload.data.byteLength;
    if (current.length > 0 && (current.length >= MAX_RECORDS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(payload);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

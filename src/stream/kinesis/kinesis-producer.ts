import {
  type KinesisClient,
  PutRecordsCommand,
  type PutRecordsRequestEntry,
  type PutRecordsResultEntry,
} from '@aws-sdk/client-kinesis';
import { fullJitterDelay, sleep } from '../../aws/retry';
import type { EventStreamProducer, StreamPutOutcome, StreamPutRecord } from '../port';
import { PERMANENT_ENTRY_ERROR_CODES, RecordTooLargeError, translateKinesisError } from './kinesis-errors';

/** Kinesis service limits. */
export const MAX_RECORDS_PER_CALL = 500;
export const MAX_BYTES_PER_CALL = 5 * 1024 * 1024;
export const MAX_BYTES_PER_RECORD = 1024 * 1024;
const MAX_PARTITION_KEY_LENGTH = 256;

export interface KinesisProducerOptions {
  client: KinesisClient;
  streamName: string;
  /** Attempts per PutRecords chunk, the first included. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests; defaults to a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

interface Failure {
  errorCode: string;
  errorMessage: string;
}

function recordBytes(record: StreamPutRecord): number {
  return record.data.byteLength + Buffer.byteLength(record.partitionKey, 'utf8');
}

/** EventStreamProducer on Kinesis PutRecords: chunks to the service limits and retries only what Kinesis rejected. */
export class KinesisProducer implements EventStreamProducer {
  private readonly client: KinesisClient;
  private readonly streamName: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: KinesisProducerOptions) {
    this.client = options.client;
    this.streamName = options.streamName;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 2000;
    this.sleep = options.sleep ?? sleep;
    this.random = options.random ?? Math.random;
  }

  /** Puts records, retrying only the failed entries; outcomes are in input order and never throw per record. */
  async putRecords(records: StreamPutRecord[]): Promise<StreamPutOutcome[]> {
    const outcomes: Array<StreamPutOutcome | undefined> = new Array<StreamPutOutcome | undefined>(
      records.length,
    );
    const sendable: number[] = [];
    records.forEach((record, index) => {
      const bytes = recordBytes(record);
      const keyLength = record.partitionKey.length;
      if (bytes > MAX_BYTES_PER_RECORD) {
        const err = new RecordTooLargeError(bytes);
        outcomes[index] = { ok: false, errorCode: err.code, errorMessage: err.message };
      } else if (keyLength < 1 || keyLength > MAX_PARTITION_KEY_LENGTH) {
        // Kinesis would reject the whole call for one bad key; keep it to this record.
        outcomes[index] = {
          ok: false,
          errorCode: 'InvalidPartitionKey',
          errorMessage: `partition key must be 1 to ${MAX_PARTITION_KEY_LENGTH} characters, got ${keyLength}`,
        };
      } else {
        sendable.push(index);
      }
    });

    // Chunks go one after another so records of one partition key keep their order across chunks.
    for (const chunk of this.chunk(records, sendable)) {
      await this.putChunk(records, chunk, outcomes);
    }
    return outcomes.map(
      (outcome) =>
        outcome ?? { ok: false, errorCode: 'InternalError', errorMessage: 'record was not attempted' },
    );
  }

  private chunk(records: StreamPutRecord[], indices: number[]): number[][] {
    const chunks: number[][] = [];
    let current: number[] = [];
    let bytes = 0;
    for (const index of indices) {
      const size = recordBytes(records[index] as StreamPutRecord);
      if (
        current.length > 0 &&
        (current.length >= MAX_RECORDS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL)
      ) {
        chunks.push(current);
        current = [];
        bytes = 0;
      }
      current.push(index);
      bytes += size;
    }
    if (current.length > 0) chunks.push(current);
    return chunks;
  }

  private backoff(retry: number): number {
    return fullJitterDelay(retry, this.baseDelayMs, this.maxDelayMs, this.random);
  }

  private async putChunk(
    records: StreamPutRecord[],
    chunk: number[],
    outcomes: Array<StreamPutOutcome | undefined>,
  ): Promise<void> {
    let pending = chunk;
    const failures = new Map<number, Failure>();
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(this.backoff(attempt - 1));
      const entries: PutRecordsRequestEntry[] = pending.map((index) => {
        const record = records[index] as StreamPutRecord;
        return { PartitionKey: record.partitionKey, Data: record.data };
      });
      let results: PutRecordsResultEntry[];
      try {
        const response = await this.client.send(
          new PutRecordsCommand({ StreamName: this.streamName, Records: entries }),
        );
        results = response.Records ?? [];
      } catch (err) {
        const translated = translateKinesisError(err);
        if (translated === undefined) throw err;
        for (const index of pending)
          failures.set(index, { errorCode: translated.code, errorMessage: translated.message });
        if (translated.retryable) continue;
        break;
      }
      const retry: number[] = [];
      pending.forEach((index, position) => {
        const result = results[position];
        if (result?.ErrorCode === undefined && result?.SequenceNumber && result.ShardId) {
          outcomes[index] = { ok: true, shardId: result.ShardId, sequenceNumber: result.SequenceNumber };
          failures.delete(index);
          return;
        }
        const errorCode = result?.ErrorCode ?? 'MissingResult';
        const errorMessage = result?.ErrorMessage ?? 'Kinesis returned no result for this record';
        if (PERMANENT_ENTRY_ERROR_CODES.has(errorCode)) {
          outcomes[index] = { ok: false, errorCode, errorMessage };
          failures.delete(index);
        } else {
          failures.set(index, { errorCode, errorMessage });
          retry.push(index);
        }
      });
      pending = retry;
    }
    for (const index of pending) {
      const failure = failures.get(index) ?? {
        errorCode: 'InternalError',
        errorMessage: 'no attempt was made',
      };
      outcomes[index] = { ok: false, ...failure };
    }
  }
}

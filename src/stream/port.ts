/** The event stream's port: the producer the edge writes to and the reader the local poller uses (Kinesis in both). */

/** One record to put on the event stream. */
export interface StreamPutRecord {
  partitionKey: string;
  data: Uint8Array;
}

export type StreamPutOutcome =
  | { ok: true; shardId: string; sequenceNumber: string }
  | { ok: false; errorCode: string; errorMessage: string };

/** The producer side of the event stream (Kinesis PutRecords). */
export interface EventStreamProducer {
  /** Puts records, retrying only the failed entries; outcomes are in input order and never throw per record. */
  putRecords(records: StreamPutRecord[]): Promise<StreamPutOutcome[]>;
}

/** Where to start reading a shard. */
export type ShardPosition =
  { type: 'TRIM_HORIZON' } | { type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string };

export interface ShardDescription {
  shardId: string;
  /** The shards this one was split or merged from; they are read to their end first. */
  parentShardIds: string[];
}

export interface ShardRecord {
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  approximateArrivalTimestamp: Date;
}

export interface ShardRead {
  records: ShardRecord[];
  /** Undefined once a closed shard has been read to its end. */
  nextIterator: string | undefined;
  millisBehindLatest: number | undefined;
}

/** The consumer side of the event stream (Kinesis GetRecords), for the local poller. */
export interface StreamReader {
  /** The stream's ARN and region, as Lambda puts them on every record. */
  describe(): Promise<{ streamArn: string; region: string }>;
  /** Every shard of the stream, open and closed. */
  listShards(): Promise<ShardDescription[]>;
  /** An iterator for reading a shard from a position. */
  shardIterator(shardId: string, position: ShardPosition): Promise<string>;
  /** Reads up to `limit` records; throws ExpiredIteratorError when the iterator is too old. */
  getRecords(iterator: string, limit: number): Promise<ShardRead>;
}

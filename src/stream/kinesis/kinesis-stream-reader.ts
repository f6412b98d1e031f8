import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { translateKinesisError } from './kinesis-errors';
import type { ShardDescription, ShardPosition, ShardRead, StreamReader } from '../port';

export interface KinesisStreamReaderOptions {
  client: KinesisClient;
  streamName: string;
}

/** Reads a Kinesis stream shard by shard (the calls Lambda's event source mapping makes). */
export class KinesisStreamReader implements StreamReader {
  private readonly client: KinesisClient;
  private readonly streamName: string;

  constructor(options: KinesisStreamReaderOptions) {
    this.client = options.client;
    this.streamName = options.streamName;
  }

  /** The stream's ARN and the client's region. */
  async describe(): Promise<{ streamArn: string; region: string }> {
    const summary = await this.call(() =>
      this.client.send(new DescribeStreamSummaryCommand({ StreamName: this.streamName })),
    );
    return {
      streamArn: summary.StreamDescriptionSummary?.StreamARN ?? '',
      region: await this.client.config.region(),
    };
  }

  /** Every shard, following ListShards pages. */
  async listShards(): Promise<ShardDescription[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(
          // NextToken and StreamName are mutually exclusive in ListShards.
          nextToken
            ? new ListShardsCommand({ NextToken: nextToken })
            : new ListShardsCommand({ StreamName: this.streamName }),
        ),
      );
      shards.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return shards.flatMap((shard) =>
      shard.ShardId
        ? [
            {
              shardId: shard.ShardId,
              parentShardIds: [shard.ParentShardId, shard.AdjacentParentShardId].filter(
                (id): id is string => !!id,
              ),
            },
          ]
        : [],
    );
  }

  /** A shard iterator at a position. */
  async shardIterator(shardId: string, position: ShardPosition): Promise<string> {
    const { ShardIterator } = await this.call(() =>
      this.client.send(
        new GetShardIteratorCommand({
          StreamName: this.streamName,
          ShardId: shardId,
          ShardIteratorType: position.type,
          StartingSequenceNumber: position.type === 'TRIM_HORIZON' ? undefined : position.sequenceNumber,
        }),
      ),
    );
    if (!ShardIterator) throw new Error(`no shard iterator for ${shardId}`);
    return ShardIterator;
  }

  /** Up to `limit` records from an iterator. */
  async getRecords(iterator: string, limit: number): Promise<ShardRead> {
    const response = await this.call(() =>
      this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit })),
    );
    return {
      records: (response.Records ?? []).map((record) => ({
        sequenceNumber: record.SequenceNumber ?? '',
        partitionKey: record.PartitionKey ?? '',
        data: record.Data ?? new Uint8Array(),
        approximateArrivalTimestamp: record.ApproximateArrivalTimestamp ?? new Date(),
      })),
      nextIterator: response.NextShardIterator,
      millisBehindLatest: response.MillisBehindLatest,
    };
  }

  /** Known SDK exceptions become typed errors; unknown ones pass through untouched. */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw translateKinesisError(err) ?? err;
    }
  }
}

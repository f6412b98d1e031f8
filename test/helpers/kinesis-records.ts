import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';

export const decodeText = (data: Uint8Array | undefined): string => new TextDecoder().decode(data);

export interface StoredRecord {
  key: string;
  data: string;
  sequenceNumber: string;
}

/** Every record of every shard of the stream, as text, oldest first per shard. */
export async function readAllRecords(client: KinesisClient, streamName: string): Promise<StoredRecord[]> {
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const out: StoredRecord[] = [];
  for (const shard of Shards) {
    let { ShardIterator: iterator } = await client.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    while (iterator) {
      const res = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
      for (const r of res.Records ?? [])
        out.push({
          key: r.PartitionKey ?? '',
          data: decodeText(r.Data),
          sequenceNumber: r.SequenceNumber ?? '',
        });
      if (!res.Records?.length) break;
      iterator = res.NextShardIterator;
    }
  }
  return out;
}

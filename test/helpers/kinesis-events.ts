import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

/** Builds a Kinesis record exactly as Lambda delivers it. */
export function kinesisRecord(
  data: string | Buffer | object,
  sequenceNumber: string,
  options: { shardId?: string; partitionKey?: string; arrival?: Date } = {},
): KinesisStreamRecord {
  const shardId = options.shardId ?? 'shardId-000000000000';
  const bytes = Buffer.isBuffer(data)
    ? data
    : Buffer.from(typeof data === 'string' ? data : JSON.stringify(data));
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: options.partitionKey ?? 'pk',
      sequenceNumber,
      data: bytes.toString('base64'),
      approximateArrivalTimestamp: (options.arrival ?? new Date('2026-01-02T03:04:05Z')).getTime() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/local',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/tributary-events',
  };
}

export const kinesisEvent = (records: KinesisStreamRecord[]): KinesisStreamEvent => ({ Records: records });

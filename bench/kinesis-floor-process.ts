import { PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { performance } from 'node:perf_hooks';
import { createKinesisClient } from '../src/aws/clients';

/** What the parent asks of this process: one run of PutRecords calls against the emulator. */
export interface KinesisFloorRequest {
  endpoint: string;
  region: string;
  streamName: string;
  /** The records of one call, as the ingest service would put them (data as UTF-8 JSON). */
  records: Array<{ partitionKey: string; data: string }>;
  /** Calls in flight at once, as the ingest load's connections. */
  connections: number;
  durationSec: number;
}

export interface KinesisFloorResult {
  callsPerSec: number;
  recordsPerSec: number;
  failedRecords: number;
}

/**
 * The child process `kinesisFloor()` forks: `connections` loops each sending PutRecords with the
 * same records, the next call as soon as the last is answered, through the SDK client the stack
 * uses. What the Kinesis emulator itself accepts, with no GraphQL, validation or API around it.
 */
async function run(request: KinesisFloorRequest): Promise<KinesisFloorResult> {
  const client = createKinesisClient({
    aws: { region: request.region, kinesisEndpoint: request.endpoint },
  });
  const entries: PutRecordsRequestEntry[] = request.records.map((r) => ({
    PartitionKey: r.partitionKey,
    Data: Buffer.from(r.data, 'utf8'),
  }));
  let calls = 0;
  let failedRecords = 0;
  const started = performance.now();
  const end = started + request.durationSec * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const answer = await client.send(
        new PutRecordsCommand({ StreamName: request.streamName, Records: entries }),
      );
      calls += 1;
      failedRecords += answer.FailedRecordCount ?? 0;
    }
  };
  await Promise.all(Array.from({ length: request.connections }, loop));
  const elapsedSec = (performance.now() - started) / 1000;
  client.destroy();
  return {
    callsPerSec: calls / elapsedSec,
    recordsPerSec: (calls * entries.length) / elapsedSec,
    failedRecords,
  };
}

process.once('message', (message) => {
  run(message as KinesisFloorRequest).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});

import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createKinesisClient } from '../src/aws/clients';
import { CoalescingProducer } from '../src/stream/coalescing-producer';
import { KinesisProducer } from '../src/stream/kinesis/kinesis-producer';
import { buildFloorSchema, floorStream } from './apollo-floor-schema';

/**
 * The child process `startApolloFloorProcess()` forks: a stock Apollo Server 5 (standalone, default
 * options) on a type-graphql schema of the ingest mutations, validation off as in Tributary's
 * schema. Its URL is sent back to the parent; it serves until killed, or until the parent goes away.
 * Given a Kinesis endpoint, region and stream (argv), it puts every event there before answering,
 * through the producer the embedded stack's API uses (group commit over the SDK's PutRecords).
 */
async function main(): Promise<void> {
  const [kinesisEndpoint, region, streamName] = process.argv.slice(2);
  if (kinesisEndpoint !== undefined && region !== undefined && streamName !== undefined) {
    const client = createKinesisClient({ aws: { region, kinesisEndpoint } });
    floorStream.producer = new CoalescingProducer(new KinesisProducer({ client, streamName }));
  }
  const schema = buildFloorSchema();
  const { url } = await startStandaloneServer(new ApolloServer({ schema }), {
    listen: { host: '127.0.0.1', port: 0 },
  });
  process.send?.(url);
}

process.once('disconnect', () => process.exit(0));
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildFloorSchema } from './apollo-floor-schema';

/**
 * The child process `startApolloFloorProcess()` forks: a stock Apollo Server 5 (standalone, default
 * options) on a type-graphql schema of the ingest mutations, validation off as in Tributary's
 * schema. Its URL is sent back to the parent; it serves until killed, or until the parent goes away.
 */
async function main(): Promise<void> {
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

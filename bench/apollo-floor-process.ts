import 'reflect-metadata';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { Arg, buildSchemaSync, Mutation, Query, Resolver } from 'type-graphql';
import { TrackEventInput } from '../src/schema/event.input';
import { BatchTrackResult, TrackResult, TrackStatus } from '../src/schema/track-result.type';

const accepted = (event: TrackEventInput): TrackResult =>
  Object.assign(new TrackResult(), {
    messageId: event.messageId ?? 'floor',
    status: TrackStatus.ACCEPTED,
    errors: [],
    retryable: false,
  });

/** Tributary's ingest mutations with their input and result types, answering at once. */
@Resolver()
class FloorIngestResolver {
  // A schema needs a query type; nothing asks this one.
  @Query(() => String)
  ok(): string {
    return 'ok';
  }

  @Mutation(() => TrackResult)
  trackEvent(@Arg('event', () => TrackEventInput) event: TrackEventInput): TrackResult {
    return accepted(event);
  }

  @Mutation(() => BatchTrackResult)
  trackEvents(@Arg('events', () => [TrackEventInput]) events: TrackEventInput[]): BatchTrackResult {
    return Object.assign(new BatchTrackResult(), {
      accepted: events.length,
      rejected: 0,
      results: events.map(accepted),
    });
  }
}

/**
 * The child process `startApolloFloorProcess()` forks: a stock Apollo Server 5 (standalone, default
 * options) on a type-graphql schema of the ingest mutations, validation off as in Tributary's
 * schema. Its URL is sent back to the parent; it serves until killed, or until the parent goes away.
 */
async function main(): Promise<void> {
  const schema = buildSchemaSync({ resolvers: [FloorIngestResolver], validate: false });
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

import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
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
 * The framework floor's schema: a type-graphql schema of the ingest mutations, validation off as in
 * Tributary's schema. Served by a stock Apollo Server 5 over HTTP (apollo-floor-process.ts) and as a
 * Lambda handler (apollo-floor-lambda.ts).
 */
export function buildFloorSchema(): GraphQLSchema {
  return buildSchemaSync({
    resolvers: [FloorIngestResolver],
    validate: false,
    // Never called (no floor field is @Authorized), but type-graphql asks for one whenever a process has
    // loaded resolvers that are, as the lambda benchmark's process has: Tributary's own run beside it.
    authChecker: () => true,
  });
}

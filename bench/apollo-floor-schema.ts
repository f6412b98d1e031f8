import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { Arg, buildSchemaSync, Mutation, Query, Resolver } from 'type-graphql';
import { TrackEventInput } from '../src/schema/event.input';
import { BatchTrackResult, TrackResult, TrackStatus } from '../src/schema/track-result.type';
import type { EventStreamProducer } from '../src/stream/port';

/**
 * Where the floor puts the events it answers for, if anywhere: set once, before the schema serves,
 * by a floor process that writes (apollo-floor-process.ts). Unset, the floor answers at once.
 */
export const floorStream: { producer: EventStreamProducer | undefined } = { producer: undefined };

/** Puts the events as they come, one record each, keyed by user; the floor's work before it answers. */
async function put(events: TrackEventInput[]): Promise<void> {
  const producer = floorStream.producer;
  if (producer === undefined) return;
  const outcomes = await producer.putRecords(
    events.map((event) => ({
      partitionKey: event.userId ?? event.anonymousId ?? 'floor',
      data: Buffer.from(JSON.stringify(event), 'utf8'),
    })),
  );
  if (outcomes.some((outcome) => !outcome.ok)) throw new Error('the floor stream refused a record');
}

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
  async trackEvent(@Arg('event', () => TrackEventInput) event: TrackEventInput): Promise<TrackResult> {
    await put([event]);
    return accepted(event);
  }

  @Mutation(() => BatchTrackResult)
  async trackEvents(
    @Arg('events', () => [TrackEventInput]) events: TrackEventInput[],
  ): Promise<BatchTrackResult> {
    await put(events);
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

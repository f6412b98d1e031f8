import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { TrackEventInput } from '../schema/event.input';
import { BatchTrackResult, TrackResult, TrackStatus } from '../schema/track-result.type';
import { ApiError } from '../services/errors';
import { mayMergeUsers, type EdgeRequest, type TrackOutcome } from '../services/ingest-service';
import type { RequestContext } from './context';
import { Requires, needs } from './requires';
import { fixed } from './costs';

export const MAX_BATCH = 500;

const toResult = (outcome: TrackOutcome): TrackResult =>
  Object.assign(new TrackResult(), { ...outcome, status: TrackStatus[outcome.status] });

/** The request's edge, with what its key allows its alias events to do. */
const edgeOf = ({ edge, principal }: RequestContext): EdgeRequest => ({
  ...edge,
  mayMergeUsers: mayMergeUsers(principal),
});

@Resolver()
export class IngestResolver {
  @Requires(needs('INGEST'))
  @Mutation(() => TrackResult, { description: 'Tracks one event.' })
  async trackEvent(
    @Arg('event', () => TrackEventInput) event: TrackEventInput,
    @Ctx() context: RequestContext,
  ): Promise<TrackResult> {
    const [outcome] = await context.services.ingest.track([event], edgeOf(context));
    if (!outcome) throw new Error('ingest returned no outcome');
    return toResult(outcome);
  }

  @Requires(needs('INGEST'))
  @Mutation(() => BatchTrackResult, {
    // The answer lists one result per event sent, bounded by MAX_BATCH: it is priced once.
    complexity: fixed(10),
    description: `Tracks 1 to ${MAX_BATCH} events; an invalid event is REJECTED and the others still go through.`,
  })
  async trackEvents(
    @Arg('events', () => [TrackEventInput]) events: TrackEventInput[],
    @Ctx() context: RequestContext,
  ): Promise<BatchTrackResult> {
    if (events.length < 1 || events.length > MAX_BATCH) {
      throw new ApiError(
        'BATCH_SIZE_INVALID',
        `a batch holds 1 to ${MAX_BATCH} events, got ${events.length}`,
      );
    }
    const results = (await context.services.ingest.track(events, edgeOf(context))).map(toResult);
    const accepted = results.filter((r) => r.status === TrackStatus.ACCEPTED).length;
    return Object.assign(new BatchTrackResult(), { accepted, rejected: results.length - accepted, results });
  }
}

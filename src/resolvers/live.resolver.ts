import { randomUUID } from 'node:crypto';
import { Arg, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { liveFilterProblem, type LiveEvent as LiveEventValue } from '../live/live-event';
import type { LiveFeedItem, LiveSubscription } from '../live/port';
import { FailureType } from '../schema/failed-event.type';
import { LiveEvent, LiveEventFilter } from '../schema/live-event.type';
import { ApiError, badUserInput } from '../services/errors';
import type { RequestContext } from './context';
import { fixed } from './costs';
import { Requires, needs } from './requires';

/** Opens the subscription's feed once its filter is within bounds. */
function subscribe({
  args,
  context,
}: SubscribeResolverData<unknown, { filter?: LiveEventFilter | null }, RequestContext>): LiveSubscription {
  const feed = context.services.liveFeed;
  if (feed === undefined)
    throw new ApiError('LIVE_UNAVAILABLE', 'this server does not serve liveEvents subscriptions');
  const problem = liveFilterProblem(args.filter);
  if (problem !== null) throw badUserInput(problem);
  return feed.subscribe(args.filter);
}

const toLiveEvent = (event: LiveEventValue): LiveEvent =>
  Object.assign(new LiveEvent(), {
    ...event,
    messageId: event.messageId ?? `unknown-${randomUUID()}`,
    failureType:
      event.failureType === null
        ? null
        : FailureType[event.failureType.toUpperCase() as keyof typeof FailureType],
    receivedAt: new Date(event.receivedAt),
  });

@Resolver()
export class LiveResolver {
  @Requires(needs('LIVE_READ'))
  @Subscription(() => LiveEvent, {
    subscribe,
    complexity: fixed(100),
    description:
      'Events as the edge answers them and the stream fails them (graphql-ws on /graphql; docs/live.md). At most a set number a second per subscription; the rest are counted in a heartbeat.',
  })
  liveEvents(
    @Root() item: LiveFeedItem,
    // Read by `subscribe`; declared here so the schema shows it.
    @Arg('filter', () => LiveEventFilter, { nullable: true }) _filter: LiveEventFilter | null,
  ): LiveEvent {
    // Heartbeats are sent by the transport (src/api/live-subscribe.ts) and never reach here.
    if (item.kind !== 'event') throw new Error('a heartbeat reached the liveEvents resolver');
    return toLiveEvent(item.event);
  }
}

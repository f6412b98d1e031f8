import 'reflect-metadata';
import { parse, print, type ExecutionResult } from 'graphql';
import { buildTributarySchema } from '../../src/api/build-schema';
import { perEventDocument } from '../../src/api/live-event-document';
import { subscribeWithHeartbeats } from '../../src/api/live-socket';
import { LiveHub } from '../../src/live/live-hub';
import type { LiveEvent } from '../../src/live/live-event';
import type { RequestContext } from '../../src/resolvers/context';
import type { Services } from '../../src/services/services';

const schema = buildTributarySchema();

const WATCH = `subscription Watch($filter: LiveEventFilter, $withErrors: Boolean!) {
  tail: liveEvents(filter: $filter) { id: messageId ...Named errors @include(if: $withErrors) { code } }
}
fragment Named on LiveEvent { event status }`;

const liveEvent = (fields: Partial<LiveEvent>): LiveEvent => ({
  messageId: 'm-1',
  event: 'order_completed',
  userId: 'u-1',
  anonymousId: null,
  status: 'ACCEPTED',
  failureType: null,
  errors: [],
  receivedAt: '2026-03-04T05:06:07.000Z',
  properties: { total: 12 },
  context: null,
  ...fields,
});

describe('the document each live event is executed with', () => {
  it('leaves out the root field’s arguments and the variables only they use, and keeps the rest', () => {
    const document = perEventDocument(schema, parse(WATCH));
    expect(print(document)).toBe(
      print(
        parse(`subscription Watch($withErrors: Boolean!) {
          tail: liveEvents { id: messageId ...Named errors @include(if: $withErrors) { code } }
        }
        fragment Named on LiveEvent { event status }`),
      ),
    );
  });

  it('finds the root field inside a fragment on Subscription too', () => {
    const document = perEventDocument(
      schema,
      parse(`subscription ($f: LiveEventFilter) { ...Root }
        fragment Root on Subscription { liveEvents(filter: $f) { messageId } }`),
    );
    expect(print(document)).toBe(
      print(parse(`subscription { ...Root } fragment Root on Subscription { liveEvents { messageId } }`)),
    );
  });

  it('still filters by the subscription’s arguments, and answers each event as the document asks', async () => {
    const hub = new LiveHub();
    const contextValue = {
      services: { liveFeed: hub } as unknown as Services,
      principal: { keyId: 'k', kind: 'SECRET', scopes: new Set(['LIVE_READ']) },
      edge: { receivedAt: new Date(), sourceIp: undefined, userAgent: undefined },
    } as RequestContext;
    const results = (await subscribeWithHeartbeats({
      schema,
      document: parse(WATCH),
      variableValues: { filter: { events: ['order_completed'] }, withErrors: false },
      contextValue,
    })) as AsyncIterableIterator<ExecutionResult>;
    await hub.publish([liveEvent({ messageId: 'm-0', event: 'page_viewed' }), liveEvent({})]);
    const first = await results.next();
    await results.return?.();
    expect(first.value).toEqual({
      data: { tail: { id: 'm-1', event: 'order_completed', status: 'ACCEPTED' } },
    });
    expect(hub.size).toBe(0);
  });
});

import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AwsLivePublisher,
  MAX_PUBLISH_PAYLOAD_BYTES,
  publishPayloads,
  type LivePublishRequest,
} from '../../src/live/aws/aws-live-publisher';
import type { LiveEvent, LiveEventFilter } from '../../src/live/live-event';
import { loadConfig } from '../../src/config';
import { pseudonym } from '../../src/events/enrich/pii';
import { awsLiveEdge, LIVE_REDACTED, PII_KEY_RETRY_MS } from '../../src/handlers/live-publisher';
import type { LiveEdge } from '../../src/services/ingest-service';

const lambda = mockClient(LambdaClient);

function liveEvent(messageId: string, properties: Record<string, unknown> | null = { price: 1 }): LiveEvent {
  return {
    messageId,
    event: 'Order Completed',
    userId: 'u-1',
    anonymousId: null,
    status: 'ACCEPTED',
    failureType: null,
    errors: [],
    receivedAt: '2026-05-04T12:00:00.000Z',
    properties,
    context: { page: { path: '/' } },
  };
}

const payloadsSent = (): LivePublishRequest[] =>
  lambda
    .commandCalls(InvokeCommand)
    .map(
      (call) =>
        JSON.parse(
          Buffer.from(call.args[0].input.Payload as Uint8Array).toString('utf8'),
        ) as LivePublishRequest,
    );

describe('AwsLivePublisher', () => {
  let clock = 0;
  /** The subscriptions' filters the table holds now (null: unfiltered). */
  let filters: Array<LiveEventFilter | null> = [];
  let looks = 0;
  const table = {
    subscriptionFilters: () => {
      looks += 1;
      return Promise.resolve(filters);
    },
  };
  const errors: unknown[] = [];
  const publisher = () =>
    new AwsLivePublisher({
      table,
      lambda: new LambdaClient({ region: 'us-east-1' }),
      functionName: 'live-publish',
      checkMs: 5000,
      now: () => clock,
      logger: { error: (...args: unknown[]) => errors.push(args) },
    });

  beforeEach(() => {
    lambda.reset();
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    clock = 0;
    looks = 0;
    filters = [null];
    errors.length = 0;
  });

  /** A publisher that has read the table once. */
  const ready = async () => {
    const live = publisher();
    await live.settled();
    return live;
  };

  it('hands a batch to the publisher function in one asynchronous invocation', async () => {
    await (await ready()).publish([liveEvent('a'), liveEvent('b')]);
    const calls = lambda.commandCalls(InvokeCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toMatchObject({ FunctionName: 'live-publish', InvocationType: 'Event' });
    expect(payloadsSent()).toEqual([{ kind: 'publish', events: [liveEvent('a'), liveEvent('b')] }]);
  });

  it('sends nothing for an empty batch', async () => {
    await (await ready()).publish([]);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('hands over only events some subscription matches, and invokes nothing when none does', async () => {
    filters = [{ userId: 'u-2' }, { events: ['Page Viewed'], statuses: ['ACCEPTED'] }];
    const live = await ready();
    await live.publish([liveEvent('a')]);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    await live.publish([
      liveEvent('b'),
      { ...liveEvent('c'), userId: 'u-2' },
      { ...liveEvent('d'), event: 'Page Viewed' },
    ]);
    expect(payloadsSent()).toEqual([
      {
        kind: 'publish',
        events: [
          { ...liveEvent('c'), userId: 'u-2' },
          { ...liveEvent('d'), event: 'Page Viewed' },
        ],
      },
    ]);
  });

  it('publishes nothing before its first look at the table answers, nor with no subscription', async () => {
    await publisher().publish([liveEvent('a')]);
    filters = [];
    await (await ready()).publish([liveEvent('b')]);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('never rejects: a failed hand-off is logged and the batch dropped', async () => {
    lambda.on(InvokeCommand).rejects(new Error('throttled'));
    await expect((await ready()).publish([liveEvent('a')])).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
  });

  it('answers hasSubscribers from a look at the table at most every checkMs', async () => {
    const live = publisher();
    // The constructor looks at once; until that answers, nobody is known to listen.
    expect(live.hasSubscribers()).toBe(false);
    await live.settled();
    expect(live.hasSubscribers()).toBe(true);
    filters = [];
    clock += 4999;
    expect(live.hasSubscribers()).toBe(true);
    await live.settled();
    expect(looks).toBe(1);
    clock += 1;
    live.hasSubscribers();
    await live.settled();
    expect(looks).toBe(2);
    expect(live.hasSubscribers()).toBe(false);
  });
});

describe('publishPayloads', () => {
  it('cuts a batch into payloads of at most 240 KiB, keeping every event in order', () => {
    const events = Array.from({ length: 60 }, (_, i) => liveEvent(`m${i}`, { blob: 'x'.repeat(10_000) }));
    const payloads = publishPayloads(events);
    expect(payloads.length).toBeGreaterThan(1);
    for (const payload of payloads)
      expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(MAX_PUBLISH_PAYLOAD_BYTES);
    const sent = payloads.flatMap((payload) => (JSON.parse(payload) as { events: LiveEvent[] }).events);
    expect(sent).toEqual(events);
  });

  it('sends an event too large alone without its properties and context', () => {
    const huge = liveEvent('huge', { blob: 'x'.repeat(MAX_PUBLISH_PAYLOAD_BYTES) });
    const [payload, ...rest] = publishPayloads([huge, liveEvent('small')]);
    expect(rest).toEqual([]);
    expect(JSON.parse(payload!)).toEqual({
      kind: 'publish',
      events: [{ ...huge, properties: null, context: null }, liveEvent('small')],
    });
  });
});

describe('awsLiveEdge (the graphql function)', () => {
  const KEY = 'unit-test-pii-key-0123456789';
  const config = loadConfig({});
  const record = {
    event: 'Signed Up',
    properties: { email: 'ann@example.com', plan: 'pro' },
    context: { ip: '203.0.113.77' },
  };
  const edgeWith = (piiSecret: () => Promise<string>, now = () => 0) => {
    const logger = { warn: jest.fn() };
    const publisher = new AwsLivePublisher({
      table: { subscriptionFilters: () => Promise.resolve([]) },
      lambda: new LambdaClient({ region: 'us-east-1' }),
      functionName: 'live-publish',
      checkMs: 5000,
    });
    return { edge: awsLiveEdge({ config, publisher, logger, piiSecret, now }), publisher, logger };
  };
  const scrubbed = async (edge: LiveEdge) =>
    (await edge.scrubber()).record(record, null) as {
      properties: Record<string, unknown>;
      context: Record<string, unknown>;
    };

  it('reads the PII key when a live event is first built, once, and pseudonymises with it', async () => {
    const piiSecret = jest.fn(() => Promise.resolve(KEY));
    const { edge, publisher } = edgeWith(piiSecret);
    expect(edge.publisher).toBe(publisher);
    expect(piiSecret).not.toHaveBeenCalled();
    const first = await scrubbed(edge);
    const second = await scrubbed(edge);
    expect(piiSecret).toHaveBeenCalledTimes(1);
    expect(first.properties).toEqual({ email: pseudonym('ann@example.com', KEY), plan: 'pro' });
    expect(first.context.ip).toBe('203.0.113.0');
    expect(second).toEqual(first);
  });

  it('shows personal values redacted, and warns, while the key cannot be read; reads it again a while later', async () => {
    let clock = 1_000;
    const piiSecret = jest
      .fn<Promise<string>, []>()
      .mockRejectedValueOnce(new Error('AccessDeniedException'))
      .mockResolvedValue(KEY);
    const { edge, logger } = edgeWith(piiSecret, () => clock);
    const redacted = await scrubbed(edge);
    expect(redacted.properties).toEqual({ email: LIVE_REDACTED, plan: 'pro' });
    expect(redacted.context.ip).toBe('203.0.113.0');
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('PII key'), expect.any(Error));

    clock += PII_KEY_RETRY_MS - 1;
    expect((await scrubbed(edge)).properties.email).toBe(LIVE_REDACTED);
    expect(piiSecret).toHaveBeenCalledTimes(1);

    clock += 1;
    expect((await scrubbed(edge)).properties.email).toBe(pseudonym('ann@example.com', KEY));
    expect(piiSecret).toHaveBeenCalledTimes(2);
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });
});

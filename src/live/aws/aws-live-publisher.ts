import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { matchesLiveFilter, type LiveEvent, type LiveEventFilter } from '../live-event';
import type { LivePublisher } from '../port';
import type { LiveConnectionTable } from './connection-table';

/**
 * Lambda takes asynchronous invocations of up to 256 KB; a batch is cut into payloads of at most
 * this much, which leaves room for the envelope.
 */
export const MAX_PUBLISH_PAYLOAD_BYTES = 240 * 1024;

/** What the publisher function is invoked with: a batch to fan out, or the schedule's heartbeat run. */
export type LivePublishRequest = { kind: 'publish'; events: LiveEvent[] } | { kind: 'heartbeat' };

export interface AwsLivePublisherOptions {
  table: Pick<LiveConnectionTable, 'subscriptionFilters'>;
  lambda: LambdaClient;
  /** The publisher function (src/handlers/live-publish.ts), by name or ARN. */
  functionName: string;
  /** How long a look at the table answers `hasSubscribers()` and filters `publish`. */
  checkMs: number;
  logger?: Pick<Console, 'error'>;
  now?: () => number;
}

/**
 * The LivePublisher of the graphql and stream functions in AWS. `publish` hands the events some
 * subscription's filter matches to the publisher function in one asynchronous invocation (more
 * only past 256 KB; none when nothing matches) and never waits on a subscriber, so a slow or gone
 * subscriber cannot slow the edge or the stream. The subscriptions' filters come from the last look
 * at the connections table, taken again in the background once it is `checkMs` old: a new
 * subscriber sees events within about `checkMs` (plus the time until this instance's next
 * invocation), and a last unsubscribe stops the invocations as late.
 */
export class AwsLivePublisher implements LivePublisher {
  /** The subscriptions' filters (null: unfiltered) as last read; none until the first look answers. */
  private filters: Array<LiveEventFilter | null> = [];
  private checkedAt = Number.NEGATIVE_INFINITY;
  private checking: Promise<void> | undefined;
  private readonly sending = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly logger: Pick<Console, 'error'>;

  constructor(private readonly options: AwsLivePublisherOptions) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? console;
    // Look at once, so the first requests after a cold start already know.
    this.refresh();
  }

  hasSubscribers(): boolean {
    if (this.now() - this.checkedAt >= this.options.checkMs) this.refresh();
    return this.filters.length > 0;
  }

  async publish(events: readonly LiveEvent[]): Promise<void> {
    const wanted = events.filter((event) => this.filters.some((filter) => matchesLiveFilter(filter, event)));
    if (wanted.length === 0) return;
    const sent = Promise.all(publishPayloads(wanted).map((payload) => this.invoke(payload))).then(
      () => undefined,
    );
    this.sending.add(sent);
    try {
      await sent;
    } finally {
      this.sending.delete(sent);
    }
  }

  /**
   * Resolves once every hand-off and table look so far has finished. A handler awaits it before it
   * returns: Lambda freezes the environment after that, and a request on its way would wait.
   */
  async settled(): Promise<void> {
    await Promise.all([...this.sending, this.checking]);
  }

  private refresh(): void {
    if (this.checking) return;
    this.checking = this.options.table
      .subscriptionFilters()
      .then((filters) => {
        this.filters = filters;
        this.checkedAt = this.now();
      })
      .catch((error: unknown) => {
        // Keep the last answer; the next call looks again.
        this.logger.error('could not look for live subscribers', error);
      })
      .finally(() => {
        this.checking = undefined;
      });
  }

  private async invoke(payload: string): Promise<void> {
    try {
      await this.options.lambda.send(
        new InvokeCommand({
          FunctionName: this.options.functionName,
          InvocationType: 'Event',
          Payload: Buffer.from(payload, 'utf8'),
        }),
      );
    } catch (error) {
      // The live view is a debugging aid, never a delivery path: a lost batch is only logged.
      this.logger.error('could not hand live events to the publisher function', error);
    }
  }
}

/**
 * The invocation payloads for a batch, in order, each at most MAX_PUBLISH_PAYLOAD_BYTES. An event
 * too large alone is sent without its properties and context rather than not at all.
 */
export function publishPayloads(events: readonly LiveEvent[]): string[] {
  const payloads: string[] = [];
  let chunk: string[] = [];
  let chunkBytes = 0;
  const overhead = Buffer.byteLength(JSON.stringify({ kind: 'publish', events: [] }));
  const flush = () => {
    if (chunk.length > 0) payloads.push(`{"kind":"publish","events":[${chunk.join(',')}]}`);
    chunk = [];
    chunkBytes = 0;
  };
  for (const event of events) {
    let json = JSON.stringify(event);
    if (Buffer.byteLength(json) + overhead > MAX_PUBLISH_PAYLOAD_BYTES) {
      json = JSON.stringify({ ...event, properties: null, context: null });
    }
    const bytes = Buffer.byteLength(json) + 1;
    if (chunkBytes + bytes + overhead > MAX_PUBLISH_PAYLOAD_BYTES) flush();
    chunk.push(json);
    chunkBytes += bytes;
  }
  flush();
  return payloads;
}

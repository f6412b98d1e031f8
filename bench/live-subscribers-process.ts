import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** What the parent asks of this process (live.bench.ts). */
export type SubscribersRequest =
  | { kind: 'subscribe'; url: string; apiKey: string; filters: Array<Record<string, unknown> | null> }
  | { kind: 'unsubscribe' };

/** What this process answers. */
export type SubscribersAnswer =
  { kind: 'ready' } | { kind: 'unsubscribed'; events: number; dropped: number; heartbeats: number };

const LIVE = `subscription($filter: LiveEventFilter) {
  liveEvents(filter: $filter) { messageId event userId status receivedAt properties context }
}`;

/** How long after its connection is acknowledged a subscription is taken to be open on the server. */
const SETTLE_MS = 500;

let clients: Client[] = [];
let counts = { events: 0, dropped: 0, heartbeats: 0 };
const send = (answer: SubscribersAnswer) => process.send?.(answer);

/**
 * The live subscribers of the `live` benchmark, one graphql-ws connection each, in a process of
 * their own: in the stack's process their parsing would weigh on the server they measure. The
 * process lives through the whole benchmark, so rounds with and without subscribers differ only
 * in the subscriptions; it ends with its parent's channel.
 */
process.on('disconnect', () => process.exit(0));
process.on('message', (message: SubscribersRequest) => {
  if (message.kind === 'unsubscribe') {
    const closing = clients;
    const counted = counts;
    clients = [];
    counts = { events: 0, dropped: 0, heartbeats: 0 };
    void Promise.all(closing.map((client) => client.dispose())).then(() =>
      send({ kind: 'unsubscribed', ...counted }),
    );
    return;
  }
  const acknowledged = message.filters.map(
    (filter) =>
      new Promise<void>((resolve, reject) => {
        const client = createClient({
          url: message.url.replace(/^http/, 'ws'),
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${message.apiKey}` },
          retryAttempts: 0,
          on: { connected: () => resolve() },
        });
        clients.push(client);
        client.subscribe<unknown, { liveHeartbeat?: { dropped: number } }>(
          { query: LIVE, variables: { filter } },
          {
            next: (result) => {
              if (result.data) counts.events++;
              else if (result.extensions?.liveHeartbeat) {
                counts.heartbeats++;
                counts.dropped += result.extensions.liveHeartbeat.dropped;
              }
            },
            error: (error) => reject(new Error(`subscription failed: ${JSON.stringify(error)}`)),
            complete: () => undefined,
          },
        );
      }),
  );
  Promise.all(acknowledged)
    .then(() => new Promise((resolve) => setTimeout(resolve, SETTLE_MS)))
    .then(
      () => send({ kind: 'ready' }),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
});

import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** Bytes a connection may hold unsent before a send waits for the kernel to take them again. */
export const BURST_HIGH_WATER_BYTES = 64 * 1024;

type SendCallback = (error?: Error) => void;

/**
 * Lets the messages one turn of the event loop sends on `socket` leave in one write: a publish
 * hands a subscription a burst of events, and a write (a system call) per message cost more than
 * building it. The connection is corked at a turn's first send and uncorked once the turn is over.
 *
 * graphql-ws sends a subscription's next message only once the last one's callback has run; the
 * callback runs at once while the connection holds less than BURST_HIGH_WATER_BYTES unsent, so a
 * burst is not cut into one message per turn, and only once the kernel has taken the bytes past
 * that, so a reader that does not keep up still holds back its subscription (whose events are then
 * dropped and counted) instead of growing this process's memory. A write that fails closes the
 * socket, which ends its subscriptions.
 */
export function sendInBursts(socket: WebSocket, connection: Duplex): void {
  const send = socket.send.bind(socket) as (data: unknown, options: object, callback?: SendCallback) => void;
  let corked = false;
  const uncork = () => {
    corked = false;
    connection.uncork();
  };
  // ws's own signature: send(data, callback) or send(data, options, callback).
  const sendInBurst = (data: unknown, optionsOrCallback?: object | SendCallback, callback?: SendCallback) => {
    const options = typeof optionsOrCallback === 'object' ? optionsOrCallback : {};
    const done: SendCallback | undefined =
      typeof optionsOrCallback === 'function' ? (optionsOrCallback as SendCallback) : callback;
    if (socket.readyState !== socket.OPEN) return send(data, options, done);
    if (!corked) {
      corked = true;
      connection.cork();
      setImmediate(uncork);
    }
    if (socket.bufferedAmount >= BURST_HIGH_WATER_BYTES) return send(data, options, done);
    send(data, options);
    done?.();
  };
  socket.send = sendInBurst as WebSocket['send'];
}

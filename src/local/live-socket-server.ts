import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerOptions } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { LiveSocketRequest } from '../api/live-socket';
import { hostAllowed } from './allowed-hosts';
import { sendInBursts } from './send-in-bursts';

export interface LiveSocketServerOptions {
  /** What graphql-ws does with each connection (src/api/live-socket.ts). */
  graphqlWs: ServerOptions;
  /** Connections open at once; past it an upgrade is answered 503. */
  maxConnections: number;
  /** Bytes one message may weigh; a longer one closes its connection (1009). */
  maxMessageBytes: number;
  allowedHosts: readonly string[];
}

/** The upgrade request behind a graphql-ws connection on this server. */
export const liveSocketRequest = (extra: unknown): LiveSocketRequest => {
  const { request } = extra as Extra;
  return { headers: request.headers, sourceIp: request.socket.remoteAddress };
};

/**
 * graphql-ws on the HTTP server's /graphql path: WebSocket upgrades there speak the
 * graphql-transport-ws protocol; HTTP requests to the path stay Apollo's. Resolves `close` once
 * every socket is closed (1001, going away).
 */
export function attachLiveSocketServer(
  server: Server,
  options: LiveSocketServerOptions,
): { close(): Promise<void> } {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes });
  const graphqlWs = useServer(options.graphqlWs, sockets);
  const onUpgrade = (request: Parameters<typeof sockets.handleUpgrade>[0], socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== '/graphql') return refuse(socket, 404, 'Not Found');
    if (!hostAllowed(request.headers.host, options.allowedHosts)) return refuse(socket, 403, 'Forbidden');
    if (sockets.clients.size >= options.maxConnections) return refuse(socket, 503, 'Service Unavailable');
    sockets.handleUpgrade(request, socket, head, (ws) => {
      sendInBursts(ws, socket);
      sockets.emit('connection', ws, request);
    });
  };
  server.on('upgrade', onUpgrade);
  return {
    close: async () => {
      server.off('upgrade', onUpgrade);
      await graphqlWs.dispose();
    },
  };
}

function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { BURST_HIGH_WATER_BYTES, sendInBursts } from '../../src/local/send-in-bursts';

/** A WebSocket server whose one connection sends in bursts, and a client connected to it. */
async function connected() {
  const server = http.createServer();
  const sockets = new WebSocketServer({ noServer: true });
  const accepted = new Promise<{ socket: WebSocket; connection: Duplex }>((resolve) => {
    server.on('upgrade', (request, connection: Duplex, head) =>
      sockets.handleUpgrade(request, connection, head, (socket) => {
        sendInBursts(socket, connection);
        resolve({ socket, connection });
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const received: string[] = [];
  client.on('message', (data) => received.push(String(data)));
  await new Promise((resolve) => client.once('open', resolve));
  const { socket, connection } = await accepted;
  return {
    socket,
    connection,
    received,
    close: async () => {
      client.terminate();
      sockets.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('sending a burst of WebSocket messages', () => {
  it('sends a turn’s messages in one write, each acknowledged at once, all arriving in order', async () => {
    const { socket, connection, received, close } = await connected();
    try {
      const stream = connection as unknown as { _write: () => void; _writev: () => void };
      const writes = [jest.spyOn(stream, '_write'), jest.spyOn(stream, '_writev')];
      let acknowledged = 0;
      for (let i = 0; i < 50; i++) socket.send(`message ${i}`, () => acknowledged++);
      expect(acknowledged).toBe(50);
      expect(connection.writableCorked).toBeGreaterThan(0);
      await until(() => received.length === 50);
      expect(received).toEqual(Array.from({ length: 50 }, (_, i) => `message ${i}`));
      expect(connection.writableCorked).toBe(0);
      expect(writes.reduce((sum, write) => sum + write.mock.calls.length, 0)).toBe(1);
    } finally {
      await close();
    }
  });

  it('holds a send back until the kernel takes the bytes once the connection holds too many unsent', async () => {
    const { socket, received, close } = await connected();
    try {
      let acknowledged = 0;
      socket.send('x'.repeat(BURST_HIGH_WATER_BYTES), () => acknowledged++);
      socket.send('after', () => acknowledged++);
      expect(acknowledged).toBe(1);
      await until(() => acknowledged === 2);
      await until(() => received.length === 2);
      expect(received[1]).toBe('after');
    } finally {
      await close();
    }
  });
});

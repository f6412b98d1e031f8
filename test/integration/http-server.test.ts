import type { ApolloServer } from '@apollo/server';
import type { RequestContext } from '../../src/resolvers/context';
import { startHttpServer } from '../../src/local/http-server';

describe('the local HTTP server', () => {
  const start = (host: string) =>
    startHttpServer({
      host,
      port: 0,
      // The playground and the host check never reach Apollo.
      apollo: {} as ApolloServer<RequestContext>,
      context: () => Promise.reject(new Error('not used')),
      playgroundApiKey: 'the-secret-key-123',
      allowedHosts: ['tributary.lan'],
    });

  it('prefills the secret key in the playground only while it listens on loopback', async () => {
    for (const [host, prefilled] of [
      ['127.0.0.1', true],
      ['0.0.0.0', false],
    ] as const) {
      const server = await start(host);
      try {
        const page = await (await fetch(`http://127.0.0.1:${server.port}/playground`)).text();
        expect(page.includes('the-secret-key-123')).toBe(prefilled);
        if (!prefilled) expect(page).toContain('paste a SECRET key');
      } finally {
        await server.close();
      }
    }
  });
});

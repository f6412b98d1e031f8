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

  it('serves the console with the key only on loopback, a strict CSP, and its built assets', async () => {
    for (const [host, prefilled] of [
      ['127.0.0.1', true],
      ['0.0.0.0', false],
    ] as const) {
      const server = await start(host);
      try {
        const response = await fetch(`http://127.0.0.1:${server.port}/console`);
        const page = await response.text();
        expect(page.includes('the-secret-key-123')).toBe(prefilled);
        const config = /<script type="application\/json" id="console-config">(.*?)<\/script>/.exec(page)?.[1];
        expect(JSON.parse(config ?? 'null')).toEqual({
          graphqlUrl: '/graphql',
          liveUrl: '/graphql',
          apiKey: prefilled ? 'the-secret-key-123' : null,
        });
        const csp = response.headers.get('content-security-policy') ?? '';
        expect(csp).toContain("script-src 'self'");
        expect(csp).toContain("connect-src 'self'");
        expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
        expect(response.headers.get('cache-control')).toBe('no-store');
      } finally {
        await server.close();
      }
    }
    const server = await start('127.0.0.1');
    try {
      const asset = (name: string) => fetch(`http://127.0.0.1:${server.port}/console/assets/${name}`);
      const script = await asset('console.js');
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      // ECharts and the graphql-ws client are bundled in: the page loads nothing else.
      const body = await script.text();
      expect(body.length).toBeGreaterThan(100_000);
      expect(body).not.toMatch(/https?:\/\/(cdn|unpkg|jsdelivr)/);
      expect((await asset('console.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
      expect((await asset('other.js')).status).toBe(404);
    } finally {
      await server.close();
    }
  }, 60_000);
});

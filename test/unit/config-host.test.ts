import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig: TRIBUTARY_HOST', () => {
  it('defaults to the loopback interface', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ TRIBUTARY_HOST: '' }).host).toBe('127.0.0.1');
  });

  it.each(['0.0.0.0', '::', '::1', 'localhost', 'tributary.internal'])('accepts %s', (host) => {
    expect(loadConfig({ TRIBUTARY_HOST: host }).host).toBe(host);
  });

  it.each(['http://localhost', 'local host', '127.0.0.1:4000', '-bad-'])(
    'rejects %s, naming the variable',
    (host) => {
      expect(() => loadConfig({ TRIBUTARY_HOST: host })).toThrow(ConfigError);
      expect(() => loadConfig({ TRIBUTARY_HOST: host })).toThrow(
        `TRIBUTARY_HOST must be an IP address or a host name, got "${host}"`,
      );
    },
  );
});

import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.join(__dirname, '..', '..');

/** The GraphQL API's packages, and the polyfill only its decorators need: none belongs in the stream Lambda. */
const API_PACKAGES = ['type-graphql', 'class-validator', 'graphql', 'graphql-scalars', 'reflect-metadata'];

/** The package a bundled file comes from, e.g. `@aws-sdk/client-firehose`, or undefined for our own files. */
function packageOf(input: string): string | undefined {
  if (!input.includes('node_modules/')) return undefined;
  const parts = input.split('node_modules/').at(-1)?.split('/') ?? [];
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

describe('the stream Lambda bundle', () => {
  it('holds the envelope rules but nothing of the GraphQL API', async () => {
    const { metafile } = await build({
      entryPoints: ['src/handlers/stream.ts'],
      absWorkingDir: ROOT,
      bundle: true,
      metafile: true,
      write: false,
      platform: 'node',
      outfile: 'stream.js',
      logLevel: 'silent',
    });
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toEqual(
      expect.arrayContaining(['src/events/envelope-rules.ts', 'src/events/envelope.ts']),
    );
    const packages = new Set(inputs.map(packageOf));
    expect(API_PACKAGES.filter((name) => packages.has(name))).toEqual([]);
    expect(inputs.filter((input) => input.startsWith('src/schema/'))).toEqual([]);
  });
});

import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { esbuildOptions } from '../../infra/constructs/lambda-bundle';

/** The package a bundled file comes from, e.g. `graphql`, or undefined for our own files. */
function packageOf(input: string): string | undefined {
  if (!input.includes('node_modules/')) return undefined;
  const parts = input.split('node_modules/').at(-1)?.split('/') ?? [];
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** The graphql function's bundle as the CDK construct builds it (infra/constructs/lambda-bundle.ts). */
async function graphqlBundle(): Promise<Metafile> {
  const options = esbuildOptions({ entry: 'src/handlers/graphql.ts', decorators: true }, 'graphql.js');
  const { metafile } = await build({
    ...options,
    outfile: path.join('unused', 'graphql.js'),
    write: false,
    metafile: true,
  });
  return metafile;
}

describe('the graphql Lambda bundle', () => {
  let metafile: Metafile;
  beforeAll(async () => {
    metafile = await graphqlBundle();
  }, 60_000);

  it('holds one graphql-js: a second copy fails its instanceof checks on every priced operation', () => {
    const graphqlFiles = Object.keys(metafile.inputs).filter((input) => packageOf(input) === 'graphql');
    expect(graphqlFiles.length).toBeGreaterThan(0);
    expect(graphqlFiles.filter((input) => input.endsWith('.mjs'))).toEqual([]);
  });

  it('does not load the S3 and Firehose SDKs, which only the other functions use', () => {
    const externals = Object.values(metafile.inputs).flatMap(({ imports }) =>
      imports.filter((i) => i.external).map((i) => i.path),
    );
    expect(externals).toEqual(
      expect.arrayContaining(['@aws-sdk/client-kinesis', '@aws-sdk/client-dynamodb']),
    );
    expect(externals).not.toContain('@aws-sdk/client-s3');
    expect(externals).not.toContain('@aws-sdk/client-firehose');
  });
});

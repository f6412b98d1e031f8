import path from 'node:path';
import type { BundledFile } from './lambda-function';

/**
 * Where the playground's static files sit inside the graphql Lambda bundle: the same path as their URL under
 * `/playground/assets/`, so the handler serves `GET /playground/assets/<name>` from
 * `path.join(__dirname, PLAYGROUND_BUNDLE_DIR, name)`.
 */
export const PLAYGROUND_BUNDLE_DIR = 'playground/assets';

/** Public name → installed file; the same four files the embedded stack serves (src/api/playground.ts). */
export const PLAYGROUND_ASSETS: Readonly<Record<string, { module: string; file: string }>> = {
  'react.js': { module: 'react', file: 'umd/react.production.min.js' },
  'react-dom.js': { module: 'react-dom', file: 'umd/react-dom.production.min.js' },
  'graphiql.js': { module: 'graphiql', file: 'graphiql.min.js' },
  'graphiql.css': { module: 'graphiql', file: 'graphiql.min.css' },
};

/** The playground assets as bundle copies, resolved from the local install (the page must work offline). */
export function playgroundBundledFiles(projectRoot: string): BundledFile[] {
  return Object.entries(PLAYGROUND_ASSETS).map(([name, asset]) => {
    const packageRoot = path.dirname(
      require.resolve(`${asset.module}/package.json`, { paths: [projectRoot] }),
    );
    return {
      source: path.relative(projectRoot, path.join(packageRoot, asset.file)).split(path.sep).join('/'),
      target: `${PLAYGROUND_BUNDLE_DIR}/${name}`,
    };
  });
}

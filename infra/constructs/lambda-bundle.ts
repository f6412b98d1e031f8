import path from 'node:path';
import type { BuildOptions } from 'esbuild';

/**
 * How every Lambda bundle is built, in one place: the CDK construct (lambda-function.ts) hands these
 * to NodejsFunction, and `npm run bench -- lambda` hands the same to esbuild, so the bundle measured
 * is the bundle deployed. No CDK import here: the benchmark loads this module without the CDK.
 */

/** The repository root: bundling resolves entries and the lock file from here. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** The Node version the bundle targets: the runtime's (lambda-function.ts, LAMBDA_RUNTIME). */
export const ESBUILD_TARGET = 'node24';

/** The Lambda Node runtime ships SDK v3; bundling it again only adds cold-start weight. */
export const RUNTIME_PROVIDED_MODULES: readonly string[] = ['@aws-sdk/*'];

/** graphql-js and others drop development-only checks (graphql's costs every resolved value). */
export const BUNDLE_DEFINE: Readonly<Record<string, string>> = {
  'process.env.NODE_ENV': JSON.stringify('production'),
};

/**
 * Packages whose ES module build would put a second graphql-js into the bundle. graphql-query-complexity's
 * ESM build imports `graphql/index.mjs` while type-graphql and Apollo require `graphql` (its CommonJS
 * build); with two copies graphql's `instanceof` checks fail ("Expected TrackEventInput to be a GraphQL
 * nullable type"), and every operation the query budget prices answers 500. Its CommonJS build shares
 * the one graphql the others use.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  'graphql-query-complexity': 'graphql-query-complexity/cjs',
};

/**
 * Loaded before any bundled module runs: type-graphql's decorators need the polyfill at class definition. A plain
 * `import 'reflect-metadata'` in the entry is not enough, because esbuild evaluates the entry's ES module imports
 * before the CommonJS polyfill it wraps. The path is relative to the project root, esbuild's working directory.
 */
export const REFLECT_METADATA = path.relative(PROJECT_ROOT, require.resolve('reflect-metadata'));

export interface LambdaBundleProps {
  /** Entry file relative to the repository root, e.g. `src/handlers/graphql.ts`. */
  readonly entry: string;
  /** The handler builds a type-graphql schema, so reflect-metadata is loaded before any module. */
  readonly decorators?: boolean;
  /** Packages installed beside the bundle instead of bundled into it (native addons). */
  readonly nodeModules?: readonly string[];
}

/** What NodejsFunction's `bundling` takes from the shared setup; lambda-function.ts adds the CDK-only parts. */
export interface SharedBundling {
  readonly target: string;
  readonly minify: boolean;
  readonly keepNames: boolean;
  readonly sourceMap: boolean;
  readonly define: Record<string, string>;
  readonly externalModules: string[];
  readonly inject: string[];
  readonly esbuildArgs: Record<string, string>;
}

/** The bundling options of one function, in NodejsFunction's terms (format CJS is set by the construct). */
export function sharedBundling(props: Pick<LambdaBundleProps, 'decorators'>): SharedBundling {
  return {
    target: ESBUILD_TARGET,
    minify: true,
    // type-graphql names GraphQL types after their classes; minified class names would rename the schema.
    keepNames: true,
    sourceMap: true,
    define: { ...BUNDLE_DEFINE },
    externalModules: [...RUNTIME_PROVIDED_MODULES],
    // Only the GraphQL function uses decorators; the others do not carry the polyfill.
    inject: props.decorators ? [REFLECT_METADATA] : [],
    esbuildArgs: Object.fromEntries(
      Object.entries(BUNDLE_ALIASES).map(([from, to]) => [`--alias:${from}`, to]),
    ),
  };
}

/**
 * The same bundle as esbuild API options: what NodejsFunction runs (`esbuild --bundle <entry>
 * --platform=node --format=cjs …` with the options above, from the project root), for a build
 * outside the CDK. `nodeModules` are external there too: NodejsFunction installs them beside the bundle.
 */
export function esbuildOptions(props: LambdaBundleProps, outfile: string): BuildOptions {
  const shared = sharedBundling(props);
  return {
    entryPoints: [props.entry],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    target: shared.target,
    minify: shared.minify,
    keepNames: shared.keepNames,
    sourcemap: shared.sourceMap,
    define: shared.define,
    external: [...shared.externalModules, ...(props.nodeModules ?? [])],
    inject: shared.inject,
    alias: { ...BUNDLE_ALIASES },
    logLevel: 'warning',
  };
}

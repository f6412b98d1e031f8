/**
 * The tracker SDK built for browsers (an IIFE exposing `window.Tributary`), bundled from source
 * with esbuild on first request and kept in memory: no build step, no CDN, works offline.
 */
let bundle: Promise<string> | undefined;

export function trackerBundle(): Promise<string> {
  bundle ??= buildBundle().catch((error: unknown) => {
    bundle = undefined;
    throw error;
  });
  return bundle;
}

async function buildBundle(): Promise<string> {
  // Loaded only when the demo is used: the API itself never needs esbuild.
  const { build } = await import('esbuild');
  const result = await build({
    // Resolves to browser.ts under tsx and jest, and to browser.js in a compiled build.
    entryPoints: [require.resolve('../../client/browser')],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'Tributary',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild produced no tracker bundle');
  return output.text;
}

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CONSOLE_ASSETS, type ConsoleAssetName } from '../api/console-page';

/**
 * The console's front end (src/console) built for browsers with esbuild: ECharts and the graphql-ws
 * client come from node_modules, so the page needs no CDN. The embedded stack builds it on first
 * request and keeps it in memory; the CDK app writes the same build into the graphql Lambda's bundle
 * (scripts/build-console.ts), so both serve the same bytes.
 */
export type ConsoleAssets = ReadonlyMap<ConsoleAssetName, Buffer>;

/**
 * The TypeScript source, from a compiled build (dist/local) too: tsc does not copy the stylesheet
 * main.ts imports, which esbuild emits as console.css.
 */
const CONSOLE_ENTRY = path.resolve(__dirname, '..', '..', 'src', 'console', 'main.ts');

let assets: Promise<ConsoleAssets> | undefined;

/** The built assets, built once per process. */
export function consoleAssets(): Promise<ConsoleAssets> {
  assets ??= buildConsoleAssets().catch((error: unknown) => {
    assets = undefined;
    throw error;
  });
  return assets;
}

/** Builds the assets and writes them into `dir` under their public names. */
export async function writeConsoleAssets(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, body] of await buildConsoleAssets()) await writeFile(path.join(dir, name), body);
}

async function buildConsoleAssets(): Promise<ConsoleAssets> {
  // Loaded only when the console is asked for: the API itself never needs esbuild.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: { console: CONSOLE_ENTRY },
    bundle: true,
    write: false,
    outdir: 'console',
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const built = new Map<ConsoleAssetName, Buffer>();
  for (const output of result.outputFiles) {
    const name = path.basename(output.path);
    if (!Object.hasOwn(CONSOLE_ASSETS, name))
      throw new Error(`esbuild wrote an unexpected console file: ${name}`);
    built.set(name as ConsoleAssetName, Buffer.from(output.contents));
  }
  const missing = Object.keys(CONSOLE_ASSETS).filter((name) => !built.has(name as ConsoleAssetName));
  if (missing.length > 0) throw new Error(`esbuild built no ${missing.join(', ')}`);
  return built;
}

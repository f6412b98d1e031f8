import path from 'node:path';

/**
 * Where the console's built files sit inside the graphql Lambda bundle: the same path as their URL
 * under `/console/assets/`, so the handler serves `GET /console/assets/<name>` from
 * `path.join(__dirname, CONSOLE_BUNDLE_DIR, name)`.
 */
export const CONSOLE_BUNDLE_DIR = 'console/assets';

/**
 * The afterBundling commands (run by local bundling, never in the template) that build the console
 * into the bundle: the same esbuild build the embedded stack serves from memory
 * (src/local/console-bundle.ts), from the local install, so synth needs no network.
 */
export function consoleBuildCommands(inputDir: string, outputDir: string): string[] {
  const tsx = path.posix.join(inputDir, 'node_modules', '.bin', 'tsx');
  const script = path.posix.join(inputDir, 'scripts', 'build-console.ts');
  return [`"${tsx}" "${script}" "${path.posix.join(outputDir, CONSOLE_BUNDLE_DIR)}"`];
}

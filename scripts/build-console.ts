import path from 'node:path';
import { writeConsoleAssets } from '../src/local/console-bundle';

/**
 * `tsx scripts/build-console.ts <dir>`: builds the console's assets into `dir`. The CDK app runs it
 * while bundling the graphql Lambda (infra/constructs/console-assets.ts); the embedded stack builds
 * the same assets in memory instead.
 */
async function main(): Promise<void> {
  const [dir] = process.argv.slice(2);
  if (!dir) throw new Error('usage: tsx scripts/build-console.ts <output folder>');
  await writeConsoleAssets(path.resolve(dir));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

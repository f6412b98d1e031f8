import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CONFIG_ELEMENT_ID, type ConsolePageConfig } from '../console/page-config';

/**
 * The console's built files by public name (`/console/assets/<name>`): built in memory by the
 * embedded stack (src/local/console-bundle.ts), copied into the graphql Lambda's bundle in AWS.
 */
export const CONSOLE_ASSETS = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
} as const;
export type ConsoleAssetName = keyof typeof CONSOLE_ASSETS;

export const isConsoleAsset = (name: string): name is ConsoleAssetName => Object.hasOwn(CONSOLE_ASSETS, name);

/** The route prefix of the console's files. */
export const CONSOLE_ASSET_PREFIX = '/console/assets/';

const escapeForScript = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/**
 * The console page: an empty shell, its config as JSON (read by the bundle, never run), and the
 * bundle. The API key is there only when the local stack serves the page on loopback.
 */
export function consoleHtml(config: ConsolePageConfig): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Tributary console</title>
  <link rel="stylesheet" href="${CONSOLE_ASSET_PREFIX}console.css" />
  <script type="application/json" id="${CONFIG_ELEMENT_ID}">${escapeForScript(config)}</script>
  <script defer src="${CONSOLE_ASSET_PREFIX}console.js"></script>
</head>
<body>
  <div id="console">Loading the console…</div>
</body>
</html>`;
}

/**
 * The page's response headers. Its Content-Security-Policy lets it run only its own bundle and
 * talk only to its own origin and the live endpoint: a key typed into it cannot be sent elsewhere.
 */
export function consoleHeaders(liveUrl: string | null): Record<string, string> {
  const live = liveUrl && /^wss?:\/\//.test(liveUrl) ? ` ${new URL(liveUrl).origin}` : '';
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': [
      "default-src 'none'",
      "script-src 'self'",
      // ECharts sets style attributes on the SVG it draws.
      "style-src 'self' 'unsafe-inline'",
      // 'self' covers ws: and wss: on this origin.
      `connect-src 'self'${live}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
}

/** Headers of an asset response. */
export function consoleAssetHeaders(name: ConsoleAssetName): Record<string, string> {
  // Revalidated on every load: a new build must never meet a cached page half-way.
  return {
    'content-type': CONSOLE_ASSETS[name],
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  };
}

const bundled = new Map<ConsoleAssetName, Buffer>();

/** A built asset from `dir`, where the Lambda bundle carries them; read once per instance. */
export async function bundledConsoleAsset(name: ConsoleAssetName, dir: string): Promise<Buffer> {
  let body = bundled.get(name);
  if (!body) {
    body = await readFile(path.join(dir, name));
    bundled.set(name, body);
  }
  return body;
}

/**
 * The live tail's endpoint in AWS: the WebSocket API's stage URL, which is its management endpoint
 * (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`) with the wss: scheme; null without one.
 */
export function webSocketUrlOf(managementEndpoint: string | undefined): string | null {
  return managementEndpoint ? managementEndpoint.replace(/^https:/, 'wss:') : null;
}

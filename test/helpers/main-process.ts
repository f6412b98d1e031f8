import { spawn, type ChildProcessByStdio } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';

const ROOT = path.resolve(__dirname, '../..');

export interface MainProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** The GraphQL URL it prints once ready; rejects if it exits first. */
  url: Promise<string>;
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/**
 * Runs `npm start`'s entry point (src/local/main.ts under tsx), on free ports, with `apiKey` and
 * `dataDir` (and `env` on top).
 */
export function startMainProcess(
  dataDir: string,
  apiKey: string,
  env: Record<string, string> = {},
): MainProcess {
  // tsx's loader in this one process (`npm start`'s tsx command would run it in a child): a signal
  // sent to `child`, SIGKILL included, reaches the stack itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/local/main.ts'], {
    cwd: ROOT,
    // NODE_ENV=production as in real use: jest's NODE_ENV=test would hide signal-handling bugs.
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: '0',
      TRIBUTARY_API_KEY: apiKey,
      TRIBUTARY_DATA_DIR: dataDir,
      TRIBUTARY_KINESIS_PORT: '0',
      TRIBUTARY_DYNAMODB_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /GraphQL\s+(http:\/\/\S+\/graphql)/.exec(output);
      if (match?.[1]) {
        clearInterval(timer);
        resolve(match[1]);
      }
    }, 50);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`exited before it was ready:\n${output}`));
    });
  });
  return { child, url, exited, output: () => output };
}

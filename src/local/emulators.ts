import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';
import dynalite from 'dynalite';
import kinesalite from 'kinesalite';

export interface EmulatorOptions {
  /** Both emulators persist under this folder (`kinesis/`, `dynamodb/`), so data survives a restart. */
  dataDir: string;
  /** 0 picks a free port. */
  kinesisPort: number;
  /** 0 picks a free port. */
  dynamodbPort: number;
  host?: string;
}

export interface Emulators {
  kinesisEndpoint: string;
  dynamodbEndpoint: string;
  kinesisPort: number;
  dynamodbPort: number;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    // SDK clients keep connections alive, which would hold server.close open forever.
    const reaper = setInterval(() => server.closeAllConnections(), 10);
    server.close((err) => {
      clearInterval(reaper);
      if (err) reject(err);
      else resolve();
    });
    server.closeAllConnections();
  });
}

/** Starts kinesalite and dynalite in-process; resource creation is instant so tests and start-up never wait. */
export async function startEmulators(options: EmulatorOptions): Promise<Emulators> {
  const host = options.host ?? '127.0.0.1';
  const kinesisDir = path.join(options.dataDir, 'kinesis');
  const dynamodbDir = path.join(options.dataDir, 'dynamodb');
  await mkdir(kinesisDir, { recursive: true });
  await mkdir(dynamodbDir, { recursive: true });

  // kinesalite's default 10-shard account limit would make tests that create many streams fail.
  const kinesis = kinesalite({
    path: kinesisDir,
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 10_000,
  });
  const dynamodb = dynalite({ path: dynamodbDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let kinesisPort: number;
  try {
    kinesisPort = await listen(kinesis, options.kinesisPort, host);
  } catch (err) {
    await Promise.allSettled([close(kinesis), close(dynamodb)]);
    throw err;
  }
  let dynamodbPort: number;
  try {
    dynamodbPort = await listen(dynamodb, options.dynamodbPort, host);
  } catch (err) {
    await Promise.allSettled([close(kinesis), close(dynamodb)]);
    throw err;
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    kinesisEndpoint: `http://${urlHost}:${kinesisPort}`,
    dynamodbEndpoint: `http://${urlHost}:${dynamodbPort}`,
    kinesisPort,
    dynamodbPort,
    close() {
      closing ??= Promise.all([close(kinesis), close(dynamodb)]).then(() => undefined);
      return closing;
    },
  };
}

/** Creates the stream unless it exists, then waits until it is ACTIVE. */
export async function ensureStream(
  client: KinesisClient,
  streamName: string,
  shardCount: number,
  timeoutMs = 30_000,
): Promise<void> {
  try {
    await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { StreamDescriptionSummary } = await client.send(
        new DescribeStreamSummaryCommand({ StreamName: streamName }),
      );
      if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    } catch (err) {
      // A stream created a moment ago may not be visible yet.
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
    if (Date.now() > deadline)
      throw new Error(`stream ${streamName} did not become ACTIVE within ${timeoutMs} ms`);
    await sleep(20);
  }
}

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';

export interface EmulatorOptions {
  /** Both emulators persist under this folder (`kinesis/`, `dynamodb/`), so data survives a restart. */
  dataDir: string;
  /** 0 picks a free port. */
  kinesisPort: number;
  /** 0 picks a free port. */
  dynamodbPort: number;
  host?: string;
  /**
   * Nice value of dynalite's thread (0: as the rest). The API puts every event through
   * kinesalite, which keeps the API's priority; dynalite mostly takes the pipeline's writes (the
   * API's reads are cached), so the embedded stack gives it the pipeline's value
   * (`TRIBUTARY_BACKGROUND_NICENESS`).
   */
  dynamodbNiceness?: number;
}

export interface Emulators {
  kinesisEndpoint: string;
  dynamodbEndpoint: string;
  kinesisPort: number;
  dynamodbPort: number;
  close(): Promise<void>;
}

type WorkerMessage =
  | { type: 'listening'; port: number }
  | { type: 'error'; message: string; code?: string }
  | { type: 'closed' };

interface RunningEmulator {
  port: number;
  close(): Promise<void>;
}

/** Starts one emulator in a worker thread and resolves with the port it listens on. */
function startInWorker(
  kind: 'kinesis' | 'dynamodb',
  options: Record<string, unknown>,
  port: number,
  host: string,
  niceness: number,
): Promise<RunningEmulator> {
  const worker = new Worker(path.join(__dirname, 'emulator-worker.js'), {
    workerData: { kind, options, port, host, niceness },
  });
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      void worker.terminate();
      reject(error);
    };
    worker.once('error', fail);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'error') {
        fail(Object.assign(new Error(`${kind} emulator: ${message.message}`), { code: message.code }));
      } else if (message.type === 'listening') {
        worker.off('error', fail);
        let closing: Promise<void> | undefined;
        resolve({
          port: message.port,
          close: () =>
            (closing ??= new Promise<void>((done) => {
              worker.on('message', (m: WorkerMessage) => {
                if (m.type === 'closed') void worker.terminate().then(() => done());
              });
              worker.postMessage('close');
            })),
        });
      }
    });
  });
}

/**
 * Starts kinesalite and dynalite, each on its own worker thread so the API's event loop does not
 * do their work; resource creation is instant so tests and start-up never wait.
 */
export async function startEmulators(options: EmulatorOptions): Promise<Emulators> {
  const host = options.host ?? '127.0.0.1';
  const kinesisDir = path.join(options.dataDir, 'kinesis');
  const dynamodbDir = path.join(options.dataDir, 'dynamodb');
  await mkdir(kinesisDir, { recursive: true });
  await mkdir(dynamodbDir, { recursive: true });

  const [kinesis, dynamodb] = await Promise.allSettled([
    // kinesalite's default 10-shard account limit would make tests that create many streams fail.
    startInWorker(
      'kinesis',
      { path: kinesisDir, createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 10_000 },
      options.kinesisPort,
      host,
      0,
    ),
    startInWorker(
      'dynamodb',
      { path: dynamodbDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 },
      options.dynamodbPort,
      host,
      options.dynamodbNiceness ?? 0,
    ),
  ]);
  if (kinesis.status === 'rejected' || dynamodb.status === 'rejected') {
    await Promise.allSettled(
      [kinesis, dynamodb].map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)),
    );
    throw kinesis.status === 'rejected' ? kinesis.reason : (dynamodb as PromiseRejectedResult).reason;
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    kinesisEndpoint: `http://${urlHost}:${kinesis.value.port}`,
    dynamodbEndpoint: `http://${urlHost}:${dynamodb.value.port}`,
    kinesisPort: kinesis.value.port,
    dynamodbPort: dynamodb.value.port,
    close() {
      closing ??= Promise.all([kinesis.value.close(), dynamodb.value.close()]).then(() => undefined);
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

import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';

/** Where each shard of one stream has been processed up to. */
export interface CheckpointStore {
  /** The last processed sequence number of a shard, or undefined when it has none. */
  get(shardId: string): Promise<string | undefined>;
  /** Records that a shard is processed up to and including `sequenceNumber`; durable on return. */
  set(shardId: string, sequenceNumber: string): Promise<void>;
}

/**
 * Checkpoints in `<dir>/checkpoints.json`, keyed `streamName/shardId`. Every write re-reads
 * the file and replaces it atomically (temp file, fsync, rename), so a crash never leaves a
 * torn file and stores for other streams sharing the file keep their entries.
 */
export class FileCheckpointStore implements CheckpointStore {
  readonly file: string;
  private queue: Promise<unknown> = Promise.resolve();
  private writes = 0;

  constructor(
    private readonly dir: string,
    private readonly streamName: string,
  ) {
    this.file = path.join(dir, 'checkpoints.json');
  }

  /** The last processed sequence number of a shard, or undefined when it has none. */
  async get(shardId: string): Promise<string | undefined> {
    await this.queue.catch(() => undefined);
    return (await this.read())[this.key(shardId)];
  }

  /** Records that a shard is processed up to and including `sequenceNumber`; durable on return. */
  set(shardId: string, sequenceNumber: string): Promise<void> {
    const write = this.queue.catch(() => undefined).then(() => this.write(shardId, sequenceNumber));
    this.queue = write;
    return write;
  }

  private key(shardId: string): string {
    return `${this.streamName}/${shardId}`;
  }

  private async read(): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as Record<string, string>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
  }

  private async write(shardId: string, sequenceNumber: string): Promise<void> {
    const all = await this.read();
    all[this.key(shardId)] = sequenceNumber;
    await mkdir(this.dir, { recursive: true });
    const temp = `${this.file}.${process.pid}.${++this.writes}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(all, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.file);
  }
}

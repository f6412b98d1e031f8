import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { NDJSON_GZIP } from '../file-format';
import type { LakeFileFormat } from '../file-format';
import type { Delivery, DeliveryResult } from '../port';
import { LakeWriteError } from '../errors';
import { syncDirectory } from './sync-directory';

export interface LocalLakeDeliveryOptions<T> {
  /** The lake folder, e.g. `<dataDir>/lake`. */
  rootDir: string;
  /** Top-level folder and file name prefix, e.g. `events` or `failed`. */
  prefix: string;
  /** How a flush becomes a file: gzip NDJSON unless given (Firehose without format conversion). */
  format?: LakeFileFormat;
  /** Flush once this many bytes of JSON records are buffered. */
  flushBytes: number;
  /** Flush this long after the first record entered an empty buffer. */
  flushIntervalMs: number;
  /** The time whose UTC hour picks the partition; use receivedAt, as Firehose does with arrival time. */
  timeOf: (record: T) => Date;
  now?: () => Date;
  /** Called after each flush that made at least one new file durable, so a loader can look for it. */
  onFilesWritten?: () => void;
}

/** One deliver() call waiting for the flush that carries its records. */
interface PendingCall {
  indices: number[];
  failed: DeliveryResult['failed'];
  writeError?: Error;
  resolve: (result: DeliveryResult) => void;
}

interface BufferedLine {
  partition: string;
  line: string;
  call: PendingCall;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** `year=YYYY/month=MM/day=DD/hour=HH`, the layout Firehose writes to S3 by default. */
export function hourPartition(time: Date): string {
  return (
    `year=${time.getUTCFullYear()}/month=${pad(time.getUTCMonth() + 1)}/` +
    `day=${pad(time.getUTCDate())}/hour=${pad(time.getUTCHours())}`
  );
}

// Process-wide so two deliveries writing the same prefix still produce names in write order.
let fileSequence = 0;

/**
 * A name that sorts by write time (timestamp, then an in-process sequence) and cannot collide
 * across processes (random suffix).
 */
export function lakeFileName(prefix: string, now: Date, extension: string): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  fileSequence = (fileSequence + 1) % 0x1_0000_0000;
  const sequence = fileSequence.toString(16).padStart(8, '0');
  return `${prefix}-${stamp}-${sequence}-${randomBytes(8).toString('hex')}${extension}`;
}

/**
 * Firehose's S3 delivery, played against a local folder: records are buffered, then written as
 * files of the given format (gzip NDJSON, or Parquet as Firehose's record format conversion writes)
 * under hourly partitions. A file appears atomically (temp file, fsync, rename), so the warehouse
 * loader never reads a partial one.
 */
export class LocalLakeDelivery<T> implements Delivery<T> {
  private readonly rootDir: string;
  private readonly prefix: string;
  private readonly format: LakeFileFormat;
  private readonly flushBytes: number;
  private readonly flushIntervalMs: number;
  private readonly timeOf: (record: T) => Date;
  private readonly now: () => Date;
  private readonly onFilesWritten: () => void;

  private buffer: BufferedLine[] = [];
  private bufferedCalls: PendingCall[] = [];
  private bufferedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  // Flushes run one after another so files are written in the order their records arrived.
  private flushChain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: LocalLakeDeliveryOptions<T>) {
    if (!/^[A-Za-z0-9_-]+$/.test(options.prefix)) {
      throw new LakeWriteError(`lake prefix must be a simple folder name, got "${options.prefix}"`);
    }
    this.rootDir = options.rootDir;
    this.prefix = options.prefix;
    this.format = options.format ?? NDJSON_GZIP;
    this.flushBytes = options.flushBytes;
    this.flushIntervalMs = options.flushIntervalMs;
    this.timeOf = options.timeOf;
    this.now = options.now ?? (() => new Date());
    this.onFilesWritten = options.onFilesWritten ?? (() => undefined);
  }

  /** Buffers the records and resolves once every one of them is in a durable lake file, or reported failed. */
  deliver(records: T[]): Promise<DeliveryResult> {
    if (this.closed) {
      const error = new LakeWriteError('delivery is closed', 'DELIVERY_CLOSED');
      return Promise.resolve({ failed: records.map((_, index) => ({ index, error })) });
    }
    return new Promise<DeliveryResult>((resolve) => {
      const call: PendingCall = { indices: [], failed: [], resolve };
      const lines: BufferedLine[] = [];
      let bytes = 0;
      records.forEach((record, index) => {
        try {
          const time = this.timeOf(record);
          if (Number.isNaN(time.getTime())) throw new Error('partition time is not a valid date');
          const line = JSON.stringify(record);
          if (typeof line !== 'string') throw new Error('record does not serialise to JSON');
          lines.push({ partition: hourPartition(time), line, call });
          call.indices.push(index);
          bytes += Buffer.byteLength(line) + 1;
        } catch (cause) {
          call.failed.push({
            index,
            error: new LakeWriteError(
              `record ${index} cannot be written to the lake`,
              'LAKE_RECORD_INVALID',
              {
                cause,
              },
            ),
          });
        }
      });
      if (lines.length === 0) {
        resolve({ failed: call.failed });
        return;
      }
      // A loop, not push(...lines): spreading a large batch overflows the call stack.
      for (const line of lines) this.buffer.push(line);
      this.bufferedCalls.push(call);
      this.bufferedBytes += bytes;
      if (this.bufferedBytes >= this.flushBytes) {
        void this.flush();
      } else if (this.timer === undefined) {
        this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
      }
    });
  }

  /** Writes out anything buffered and stops timers; later deliver() calls report every record failed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.format.close();
  }

  private flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const lines = this.buffer;
    const calls = this.bufferedCalls;
    this.buffer = [];
    this.bufferedCalls = [];
    this.bufferedBytes = 0;
    if (lines.length > 0) {
      this.flushChain = this.flushChain.then(() => this.write(lines, calls));
    }
    return this.flushChain;
  }

  private async write(lines: BufferedLine[], calls: PendingCall[]): Promise<void> {
    const byPartition = new Map<string, BufferedLine[]>();
    for (const entry of lines) {
      const group = byPartition.get(entry.partition);
      if (group) group.push(entry);
      else byPartition.set(entry.partition, [entry]);
    }
    let filesWritten = 0;
    await Promise.all(
      [...byPartition].map(async ([partition, group]) => {
        try {
          await this.writeFile(partition, group);
          filesWritten += 1;
        } catch (cause) {
          const error = new LakeWriteError(
            `could not write lake file under ${this.prefix}/${partition}`,
            'LAKE_WRITE_FAILED',
            {
              cause,
            },
          );
          for (const entry of group) entry.call.writeError ??= error;
        }
      }),
    );
    if (filesWritten > 0) this.onFilesWritten();
    for (const call of calls) {
      const { writeError } = call;
      // A call whose records were split over partitions is failed whole: retrying the lot only
      // duplicates lake records, which the warehouse dedupes by messageId.
      const failed = writeError ? call.indices.map((index) => ({ index, error: writeError })) : [];
      call.resolve({ failed: [...call.failed, ...failed].sort((a, b) => a.index - b.index) });
    }
  }

  private async writeFile(partition: string, group: BufferedLine[]): Promise<void> {
    const dir = path.join(this.rootDir, this.prefix, ...partition.split('/'));
    const name = lakeFileName(this.prefix, this.now(), this.format.extension);
    const finalPath = path.join(dir, name);
    // Dot-prefixed names without the format's suffix, so the loader never picks them up.
    const tempPath = path.join(dir, `.${name}.tmp`);
    await fs.mkdir(dir, { recursive: true });
    try {
      await this.format.write(
        tempPath,
        group.map((entry) => entry.line),
        path.join(dir, `.${name}.scratch.tmp`),
      );
      const handle = await fs.open(tempPath, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tempPath, finalPath);
    } catch (error) {
      await fs.rm(tempPath, { force: true });
      throw error;
    }
    await syncDirectory(dir);
  }
}

import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { sdkErrorFacts } from '../../../aws/retry';

/**
 * Where the warehouse load step keeps what it loaded: outside the warehouse, so that deciding
 * whether to load never wakes it. Outside events/ and failed/, so nothing loads or erases it.
 */
export const LOAD_STATE_KEY = 'warehouse-load/state.json';

/** What the last successful load left for the next run to compare the lake against. */
export interface LoadState {
  /** Every lake file S3 stored before this (epoch ms) was loaded. */
  loadedThrough: number;
  /** When the last load ran (epoch ms). */
  lastLoadAt: number;
}

/** Keeps the load step's state between runs. */
export interface LoadStateStore {
  /** The last state written; undefined before the first load, or when what is stored is unreadable. */
  read(): Promise<LoadState | undefined>;
  write(state: LoadState): Promise<void>;
}

export interface S3LoadStateStoreOptions {
  client: S3Client;
  bucket: string;
  key?: string;
}

const isTime = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** One small JSON object in the lake bucket, read and rewritten by the one load step. */
export class S3LoadStateStore implements LoadStateStore {
  private readonly key: string;

  constructor(private readonly options: S3LoadStateStoreOptions) {
    this.key = options.key ?? LOAD_STATE_KEY;
  }

  async read(): Promise<LoadState | undefined> {
    let text: string | undefined;
    try {
      const object = await this.options.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.key }),
      );
      text = await object?.Body?.transformToString();
    } catch (error) {
      // Before the first load there is no state.
      if (sdkErrorFacts(error).name === 'NoSuchKey') return undefined;
      throw error;
    }
    if (text === undefined) return undefined;
    // Unreadable state only costs a load: the warehouse's own record keeps each file loaded once.
    try {
      const parsed = JSON.parse(text) as Partial<Record<keyof LoadState, unknown>>;
      return isTime(parsed.loadedThrough) && isTime(parsed.lastLoadAt)
        ? { loadedThrough: parsed.loadedThrough, lastLoadAt: parsed.lastLoadAt }
        : undefined;
    } catch {
      return undefined;
    }
  }

  async write(state: LoadState): Promise<void> {
    await this.options.client.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: this.key,
        Body: JSON.stringify(state),
        ContentType: 'application/json',
      }),
    );
  }
}

import { CopyObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { ACCESS_DENIED_ERROR_NAMES, sdkErrorFacts } from '../../../aws/retry';

/**
 * Where lake files the warehouse cannot load are set aside, each below its own key
 * (`quarantine/events/year=…/…`): out of the folders the load lists, kept for a person to read.
 */
export const QUARANTINE_PREFIX = 'quarantine/';

/**
 * The field of the load step's log line that counts the files a run moved to quarantine; the
 * stack turns it into a metric and alarms on it.
 */
export const QUARANTINED_FILES_LOG_FIELD = 'quarantinedFiles';

/** Sets lake files aside so that the load stops trying them. */
export interface LakeQuarantine {
  /** Moves the file at `key` below QUARANTINE_PREFIX; resolves with its new key. */
  quarantine(key: string): Promise<string>;
}

/** A move S3 refused for a reason retrying will not fix; `cause` holds the SDK error. */
export class LakeQuarantineError extends Error {
  readonly code = 'LAKE_ACCESS_DENIED';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LakeQuarantineError';
  }
}

export interface S3LakeQuarantineOptions {
  client: S3Client;
  bucket: string;
}

/** CopySource is `bucket/key` URL-encoded; each segment is encoded so the slashes stay separators. */
const copySource = (bucket: string, key: string): string =>
  `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

/**
 * Moves within the lake bucket: CopyObject, then DeleteObject. An interrupted move leaves the file in
 * both places; the load finds it again, fails on it again, and the move is simply done again.
 */
export class S3LakeQuarantine implements LakeQuarantine {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: S3LakeQuarantineOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
  }

  /** Moves the file at `key` below QUARANTINE_PREFIX; resolves with its new key. */
  async quarantine(key: string): Promise<string> {
    const target = `${QUARANTINE_PREFIX}${key}`;
    await this.send(
      () =>
        this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: target,
            CopySource: copySource(this.bucket, key),
          }),
        ),
      key,
    );
    await this.send(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })), key);
    return target;
  }

  /** Translates a refusal; anything else (throttling is retried by the SDK itself) is rethrown. */
  private async send<T>(call: () => Promise<T>, key: string): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (ACCESS_DENIED_ERROR_NAMES.has(sdkErrorFacts(error).name)) {
        throw new LakeQuarantineError(
          `not allowed to move ${key} to ${QUARANTINE_PREFIX} in lake bucket ${this.bucket}`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

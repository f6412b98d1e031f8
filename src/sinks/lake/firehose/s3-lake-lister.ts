import { ListObjectsV2Command, NoSuchBucket } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { ACCESS_DENIED_ERROR_NAMES, sdkErrorFacts } from '../../../aws/retry';

/** One object in the lake bucket. */
export interface LakeObject {
  key: string;
  size: number;
  /** When S3 stored the object, in epoch ms: how long a file has waited for the warehouse. */
  lastModified?: number;
}

/** Lists the files of a lake: what the warehouse load step needs from S3. */
export interface LakeLister {
  /** The bucket the keys belong to. */
  readonly bucket: string;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<LakeObject[]>;
}

export type LakeListErrorCode = 'LAKE_BUCKET_NOT_FOUND' | 'LAKE_ACCESS_DENIED';

/** A listing S3 refused for a reason retrying will not fix; `cause` holds the SDK error. */
export class LakeListError extends Error {
  readonly code: LakeListErrorCode;

  constructor(message: string, code: LakeListErrorCode, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LakeListError';
    this.code = code;
  }
}

export interface S3LakeListerOptions {
  client: S3Client;
  bucket: string;
}

/** ListObjectsV2 over every page (S3 returns at most 1,000 keys per call). */
export class S3LakeLister implements LakeLister {
  readonly bucket: string;
  private readonly client: S3Client;

  constructor(options: S3LakeListerOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
  }

  /** Every object whose key starts with `prefix`, in key order. */
  async list(prefix: string): Promise<LakeObject[]> {
    const objects: LakeObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) {
          objects.push({
            key: object.Key,
            size: object.Size ?? 0,
            lastModified: object.LastModified?.getTime(),
          });
        }
      }
      // S3 sets NextContinuationToken only when IsTruncated; checking both keeps a stray token from looping.
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return objects;
  }

  /** Translates the S3 exceptions retrying cannot fix; throttling is retried by the SDK itself. */
  private async send(command: ListObjectsV2Command) {
    try {
      return await this.client.send(command);
    } catch (error) {
      if (error instanceof NoSuchBucket) {
        throw new LakeListError(`lake bucket ${this.bucket} does not exist`, 'LAKE_BUCKET_NOT_FOUND', {
          cause: error,
        });
      }
      if (ACCESS_DENIED_ERROR_NAMES.has(sdkErrorFacts(error).name)) {
        throw new LakeListError(
          `not allowed to list ${command.input.Prefix ?? ''} in lake bucket ${this.bucket}`,
          'LAKE_ACCESS_DENIED',
          { cause: error },
        );
      }
      throw error;
    }
  }
}

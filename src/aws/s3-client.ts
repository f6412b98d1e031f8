import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config';

/**
 * Builds the S3 client the warehouse load step and the deletion function read the lake with (AWS only: the
 * embedded lake is a folder). Its own module: the S3 SDK is the heaviest to load, and the API never needs it.
 */
export function createS3Client(config: Pick<Config, 'aws'>): S3Client {
  return new S3Client({ region: config.aws.region });
}

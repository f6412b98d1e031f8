import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '../config';

/** Emulators accept any signature; fixed credentials keep a laptop from needing an AWS account. */
const EMULATOR_CREDENTIALS = { accessKeyId: 'tributary-local', secretAccessKey: 'tributary-local' };

function common(region: string, endpoint: string | undefined) {
  return endpoint === undefined ? { region } : { region, endpoint, credentials: EMULATOR_CREDENTIALS };
}

/** Builds the Kinesis client; against an endpoint override it speaks HTTP/1.1, since kinesalite has no HTTP/2. */
export function createKinesisClient(config: Pick<Config, 'aws'>): KinesisClient {
  const endpoint = config.aws.kinesisEndpoint;
  if (endpoint === undefined) return new KinesisClient(common(config.aws.region, undefined));
  return new KinesisClient({ ...common(config.aws.region, endpoint), requestHandler: new NodeHttpHandler() });
}

/** Builds the DynamoDB document client; undefined attributes are dropped rather than rejected. */
export function createDynamoDbDocumentClient(config: Pick<Config, 'aws'>): DynamoDBDocumentClient {
  const client = new DynamoDBClient(common(config.aws.region, config.aws.dynamodbEndpoint));
  return DynamoDBDocumentClient.from(client, {
    // convertClassInstanceToMap: a map of counts or traits with a key named `constructor` would
    // otherwise look like a class instance to the marshaller and be refused.
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
}

/** Builds the Firehose client. */
export function createFirehoseClient(config: Pick<Config, 'aws'>): FirehoseClient {
  return new FirehoseClient(common(config.aws.region, config.aws.firehoseEndpoint));
}

/** Builds the S3 client the warehouse load step and the deletion function read the lake with (AWS only: the embedded lake is a folder). */
export function createS3Client(config: Pick<Config, 'aws'>): S3Client {
  return new S3Client({ region: config.aws.region });
}

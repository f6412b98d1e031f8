import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Config } from '../../src/config';
import { startEmulators, type Emulators } from '../../src/local/emulators';
import { createDynamoDbDocumentClient, createKinesisClient } from '../../src/aws/clients';

export interface TestEmulators extends Emulators {
  /** The temp folder holding the emulators' data; removed by `stop()`. */
  dataDir: string;
  /** An AWS config pointing at the emulators, for the client factories. */
  aws: Config['aws'];
  kinesis: KinesisClient;
  dynamodb: DynamoDBDocumentClient;
  /** Destroys the clients, stops both emulators and deletes the temp folder. */
  stop(): Promise<void>;
}

/** Starts kinesalite and dynalite on free ports in a fresh temp folder, with clients built for them. */
export async function startTestEmulators(prefix = 'tributary-test-'): Promise<TestEmulators> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const emulators = await startEmulators({ dataDir, kinesisPort: 0, dynamodbPort: 0 });
  const aws: Config['aws'] = {
    region: 'us-east-1',
    kinesisEndpoint: emulators.kinesisEndpoint,
    dynamodbEndpoint: emulators.dynamodbEndpoint,
  };
  const kinesis = createKinesisClient({ aws });
  const dynamodb = createDynamoDbDocumentClient({ aws });
  return {
    ...emulators,
    dataDir,
    aws,
    kinesis,
    dynamodb,
    async stop() {
      kinesis.destroy();
      dynamodb.destroy();
      await emulators.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

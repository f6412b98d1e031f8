import { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamHandler } from 'aws-lambda';
import { loadConfig } from '../config';
import { enricherFromConfig } from '../events/from-config';
import { schemaRegistryFromConfig } from '../services/schema-files';
import type { FailedEvent, StoredEvent } from '../events/types';
import { PROCESSOR_VERSION } from '../events/version';
import { createDynamoDbDocumentClient } from '../aws/clients';
import { createFirehoseClient } from '../aws/firehose-client';
import { DynamoDbSuppressionList } from '../privacy/dynamodb/dynamodb-suppression-list';
import { CachedSuppressionList } from '../services/cached-suppression-list';
import { hotStoreFromConfig } from '../sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { FirehoseDelivery } from '../sinks/lake/firehose/firehose-delivery';
import { createStreamProcessor, type StreamProcessor } from '../stream/process-batch';
import { awsLivePublisher } from './live-publisher';
import { piiSecretLoader } from './pii-secret';

// Built once per execution environment, reused by every invocation.
const config = loadConfig();
const logger = new Logger({ serviceName: 'tributary-stream' });
const firehose = createFirehoseClient(config);
const dynamoDoc = createDynamoDbDocumentClient(config);
const piiSecret = piiSecretLoader(config);
// Failed events go to the live view's publisher function while anyone subscribes (docs/live.md#in-aws).
const livePublisher = awsLivePublisher(config, dynamoDoc, logger);

async function buildProcessor(): Promise<StreamProcessor> {
  return createStreamProcessor(
    {
      events: new FirehoseDelivery<StoredEvent>({
        client: firehose,
        deliveryStreamName: config.eventsDeliveryStream,
      }),
      failed: new FirehoseDelivery<FailedEvent>({
        client: firehose,
        deliveryStreamName: config.failedDeliveryStream,
      }),
      hotStore: hotStoreFromConfig(dynamoDoc, config),
      processorVersion: PROCESSOR_VERSION,
      schemas: schemaRegistryFromConfig(config),
      enrich: enricherFromConfig(config, await piiSecret()),
      identity: config.identity,
      // deleteUser runs in the graphql Lambda: only the TTL bounds how late this one learns of it.
      suppression: new CachedSuppressionList(
        new DynamoDbSuppressionList({ client: dynamoDoc, tableName: config.tableName }),
        { ttlMs: config.events.suppressionCacheMs },
      ),
      logger,
      live: livePublisher,
    },
    (summary) => logger.info('batch processed', { ...summary }),
  );
}

let processor: Promise<StreamProcessor> | undefined;

/** Kinesis event source mapping → stream processor; answers with partial batch failures. */
export const handler: KinesisStreamHandler = async (event) => {
  processor ??= buildProcessor().catch((error: unknown) => {
    processor = undefined;
    throw error;
  });
  const answer = await (await processor)(event);
  // A look for live subscribers under way must end before the environment freezes.
  await livePublisher?.settled();
  return answer;
};

import { Logger } from '@aws-lambda-powertools/logger';
import type { KinesisStreamHandler } from 'aws-lambda';
import { ConfigError, loadConfig } from '../config';
import { enricherFromConfig, schemaRegistryFromConfig } from '../events/from-config';
import type { FailedEvent, StoredEvent } from '../events/types';
import { PROCESSOR_VERSION } from '../events/version';
import { createDynamoDbDocumentClient, createFirehoseClient } from '../sinks/aws-clients';
import { DynamoDbHotStore } from '../sinks/dynamodb-hot-store';
import { FirehoseDelivery } from '../sinks/firehose-delivery';
import { createStreamProcessor } from '../stream/process-batch';

// Built once per execution environment, reused by every invocation.
const config = loadConfig();
const logger = new Logger({ serviceName: 'tributary-stream' });
const firehose = createFirehoseClient(config);
/** Pseudonyms must be stable across Lambda environments, so a deployment has to configure the key. */
function piiSecret(secret: string | undefined): string {
  if (secret === undefined)
    throw new ConfigError('TRIBUTARY_PII_SECRET must be set for the stream processor');
  return secret;
}

const processor = createStreamProcessor(
  {
    events: new FirehoseDelivery<StoredEvent>({
      client: firehose,
      deliveryStreamName: config.eventsDeliveryStream,
    }),
    failed: new FirehoseDelivery<FailedEvent>({
      client: firehose,
      deliveryStreamName: config.failedDeliveryStream,
    }),
    hotStore: new DynamoDbHotStore({
      client: createDynamoDbDocumentClient(config),
      tableName: config.tableName,
    }),
    processorVersion: PROCESSOR_VERSION,
    schemas: schemaRegistryFromConfig(config),
    enrich: enricherFromConfig(config, piiSecret(config.events.piiSecret)),
    logger,
  },
  (summary) => logger.info('batch processed', { ...summary }),
);

/** Kinesis event source mapping → stream processor; answers with partial batch failures. */
export const handler: KinesisStreamHandler = async (event) => processor(event);

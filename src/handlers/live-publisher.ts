import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Config } from '../config';
import { createPiiDetector } from '../events/enrich/pii-detector';
import { enricherFromConfig, piiKindsFromConfig } from '../events/from-config';
import { createPayloadScrubber, type PayloadScrubber } from '../events/scrub-payload';
import { AwsLivePublisher } from '../live/aws/aws-live-publisher';
import { LiveConnectionTable } from '../live/aws/connection-table';
import type { LiveEdge } from '../services/ingest-service';
import { piiSecretLoader } from './pii-secret';

/**
 * The live publisher of the graphql or stream function (docs/live.md#in-aws); undefined where the
 * stage has no live view (TRIBUTARY_LIVE_TABLE and TRIBUTARY_LIVE_PUBLISH_FUNCTION unset), and
 * then nothing is published.
 */
export function awsLivePublisher(
  config: Pick<Config, 'liveAws' | 'aws'>,
  dynamoDoc: DynamoDBDocumentClient,
  logger: Pick<Console, 'error'>,
): AwsLivePublisher | undefined {
  const { connectionsTable, publishFunction, subscriberCheckMs } = config.liveAws;
  if (connectionsTable === undefined || publishFunction === undefined) return undefined;
  return new AwsLivePublisher({
    table: new LiveConnectionTable({ client: dynamoDoc, tableName: connectionsTable }),
    lambda: new LambdaClient({ region: config.aws.region }),
    functionName: publishFunction,
    checkMs: subscriberCheckMs,
    logger,
  });
}

/** What a personal value shows as in the edge's live events while the PII key cannot be read. */
export const LIVE_REDACTED = '[x-pii]';

/** How long the edge's live events stay redacted after the PII key could not be read, before it is read again. */
export const PII_KEY_RETRY_MS = 60_000;

export interface AwsLiveEdgeOptions {
  config: Pick<Config, 'events' | 'aws'>;
  publisher: AwsLivePublisher;
  logger: Pick<Console, 'warn'>;
  /** The stream's PII key; piiSecretLoader(config) unless given. */
  piiSecret?: () => Promise<string>;
  now?: () => number;
}

/**
 * The edge's live view in AWS: the publisher, and the failed events' scrubber keyed by the stream's
 * PII key, so a value shows the pseudonym the lake and the stream's FAILED events show. The key is
 * read when the first live event is built, so an environment nobody watches never reads it. A key
 * that cannot be read must neither leak the raw value nor fail the ingest request: personal values
 * then show as LIVE_REDACTED, and the key is tried again PII_KEY_RETRY_MS later.
 */
export function awsLiveEdge({
  config,
  publisher,
  logger,
  piiSecret = piiSecretLoader(config),
  now = Date.now,
}: AwsLiveEdgeOptions): LiveEdge {
  const redacting = createPayloadScrubber({
    hash: () => LIVE_REDACTED,
    detector: createPiiDetector(piiKindsFromConfig(config)),
  });
  let hashing: PayloadScrubber | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  return {
    publisher,
    scrubber: async () => {
      if (hashing !== undefined) return hashing;
      if (now() - failedAt < PII_KEY_RETRY_MS) return redacting;
      try {
        hashing = enricherFromConfig(config, await piiSecret()).scrub;
        return hashing;
      } catch (error) {
        failedAt = now();
        logger.warn('could not read the PII key: live events show personal values redacted', error);
        return redacting;
      }
    },
  };
}

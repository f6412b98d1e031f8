import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Config } from '../config';
import { createPiiDetector, type PiiKind } from '../events/enrich/pii-detector';
import { createPayloadScrubber } from '../events/scrub-payload';
import { AwsLivePublisher } from '../live/aws/aws-live-publisher';
import { LiveConnectionTable } from '../live/aws/connection-table';
import type { LiveEdge } from '../services/ingest-service';

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

/** What a personal value (`x-pii`, or a detected email or phone) shows as in the edge's live events in AWS. */
export const LIVE_REDACTED = '[x-pii]';

/**
 * The edge's live view in AWS: the publisher, and a scrubber by the failed events' rules that
 * replaces personal values with LIVE_REDACTED rather than their pseudonym. Only the stream function
 * holds the PII key; the internet-facing graphql function is not given it for a debugging view.
 * FAILED events come from the stream and show pseudonyms, as the lake does.
 */
export function awsLiveEdge(config: Pick<Config, 'events'>, publisher: AwsLivePublisher): LiveEdge {
  const { piiDetector } = config.events;
  const kinds = piiDetector === 'off' ? [] : (piiDetector.split(',') as PiiKind[]);
  return {
    publisher,
    scrubber: createPayloadScrubber({ hash: () => LIVE_REDACTED, detector: createPiiDetector(kinds) }),
  };
}

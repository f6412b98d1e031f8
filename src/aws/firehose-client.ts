import { FirehoseClient } from '@aws-sdk/client-firehose';
import type { Config } from '../config';
import { clientEndpoint } from './clients';

/** Builds the Firehose client (its own module: the functions that never deliver do not load its SDK). */
export function createFirehoseClient(config: Pick<Config, 'aws'>): FirehoseClient {
  return new FirehoseClient(clientEndpoint(config.aws.region, config.aws.firehoseEndpoint));
}

import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { KinesisCapacity } from '../config';

export interface EventStreamProps {
  /** Defaults to on-demand: no shard planning, scales with traffic, pay per GB. */
  readonly capacity?: KinesisCapacity;
  readonly retention: Duration;
  readonly removalPolicy: RemovalPolicy;
  /**
   * A customer-managed key, only when compliance demands one. By default the stream uses the AWS-managed
   * `aws/kinesis` key: same at-rest encryption, no KMS request charges per producer/consumer, no key policy to keep.
   */
  readonly encryptionKey?: kms.IKey;
}

/** The Kinesis stream between the GraphQL edge and the stream processor, encrypted at rest with KMS. */
export class EventStream extends Construct {
  readonly stream: kinesis.Stream;
  readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: EventStreamProps) {
    super(scope, id);
    const capacity = props.capacity ?? { mode: 'ON_DEMAND' };

    this.encryptionKey = props.encryptionKey;

    this.stream = new kinesis.Stream(this, 'Stream', {
      streamMode:
        capacity.mode === 'ON_DEMAND' ? kinesis.StreamMode.ON_DEMAND : kinesis.StreamMode.PROVISIONED,
      shardCount: capacity.mode === 'PROVISIONED' ? capacity.shardCount : undefined,
      retentionPeriod: props.retention,
      encryption: this.encryptionKey ? kinesis.StreamEncryption.KMS : kinesis.StreamEncryption.MANAGED,
      encryptionKey: this.encryptionKey,
      removalPolicy: props.removalPolicy,
    });
    if (this.encryptionKey) {
      Validations.of(this.stream).acknowledge({
        id: 'AwsSolutions-KDS3',
        reason: 'A customer-managed key was asked for explicitly (compliance); its KMS costs are accepted.',
      });
    }
  }
}

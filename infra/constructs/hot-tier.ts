import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface HotTierProps {
  readonly removalPolicy: RemovalPolicy;
  /** Refuse CloudFormation deletes of the table (prod). */
  readonly deletionProtection?: boolean;
}

/** The hot tier: one single-table-design DynamoDB table (pk/sk) for profiles, counters, trending and recommendations. */
export class HotTier extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: HotTierProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Dedupe markers and trending windows expire by themselves.
      timeToLiveAttribute: 'ttl',
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy: props.removalPolicy,
    });
  }
}

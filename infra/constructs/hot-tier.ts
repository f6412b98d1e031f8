import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { HotTierCapacity } from '../config';

export interface HotTierProps {
  readonly removalPolicy: RemovalPolicy;
  /** Refuse CloudFormation deletes of the table (prod). */
  readonly deletionProtection?: boolean;
  /** On-demand unless told otherwise. */
  readonly capacity?: HotTierCapacity;
}

/** The hot tier: one single-table-design DynamoDB table (pk/sk) for profiles, counters, trending and recommendations. */
export class HotTier extends Construct {
  readonly table: dynamodb.Table;
  readonly capacity: HotTierCapacity;

  constructor(scope: Construct, id: string, props: HotTierProps) {
    super(scope, id);
    const capacity = props.capacity ?? { mode: 'ON_DEMAND' };
    this.capacity = capacity;
    // Either mode is the same AWS::DynamoDB::Table under the same logical id: switching modes
    // updates the table in place (DynamoDB limits how often a day), it never replaces it.
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      ...(capacity.mode === 'ON_DEMAND'
        ? { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST }
        : {
            billingMode: dynamodb.BillingMode.PROVISIONED,
            readCapacity: capacity.read.min,
            writeCapacity: capacity.write.min,
          }),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Dedupe markers and trending windows expire by themselves.
      timeToLiveAttribute: 'ttl',
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy: props.removalPolicy,
    });
    if (capacity.mode === 'PROVISIONED') {
      checkCapacity(capacity);
      const { targetUtilizationPercent } = capacity;
      this.table
        .autoScaleReadCapacity({ minCapacity: capacity.read.min, maxCapacity: capacity.read.max })
        .scaleOnUtilization({ targetUtilizationPercent });
      this.table
        .autoScaleWriteCapacity({ minCapacity: capacity.write.min, maxCapacity: capacity.write.max })
        .scaleOnUtilization({ targetUtilizationPercent });
    }
  }
}

/** A bound auto scaling would refuse at deploy time is a config mistake: say so at synth. */
function checkCapacity(capacity: Extract<HotTierCapacity, { mode: 'PROVISIONED' }>): void {
  for (const [side, range] of [
    ['read', capacity.read],
    ['write', capacity.write],
  ] as const) {
    if (
      !Number.isInteger(range.min) ||
      range.min < 1 ||
      !Number.isInteger(range.max) ||
      range.max < range.min
    ) {
      throw new Error(
        `Hot-tier ${side} capacity needs whole numbers with 1 <= min <= max, got min ${range.min}, max ${range.max}`,
      );
    }
  }
  const target = capacity.targetUtilizationPercent;
  if (!(target >= 20 && target <= 90)) {
    throw new Error(`Hot-tier targetUtilizationPercent must be between 20 and 90, got ${target}`);
  }
}

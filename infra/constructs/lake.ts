import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { QUARANTINE_PREFIX } from '../../src/sinks/lake/firehose/s3-lake-quarantine';
import { ERRORS_PREFIX_ROOT, EVENTS_PREFIX_ROOT, FAILED_PREFIX_ROOT } from './delivery';

export interface LakeProps {
  readonly removalPolicy: RemovalPolicy;
  readonly versioned?: boolean;
  /** With a key the lake uses SSE-KMS; without, SSE-S3 (cheaper: no KMS request per object). */
  readonly encryptionKey?: kms.IKey;
  /** How long S3 server access logs are kept. */
  readonly accessLogsExpiration?: Duration;
  /** How long the lake keeps files, per kind, after they were written (docs/privacy.md#retention). */
  readonly retention: LakeRetention;
}

export interface LakeRetention {
  /** events/, and the copies of events files the load step set aside in quarantine/. */
  readonly eventsDays: number;
  /** failed/, their quarantined copies, and Firehose's own error output (errors/). */
  readonly failedEventsDays: number;
}

/**
 * How long a versioned lake keeps a file's older versions: what an overwrite or a deletion replaced
 * stays recoverable this long, then goes. A file past its retention limit goes the same way.
 */
export const LAKE_RECOVERY_WINDOW = Duration.days(30);

/** The lake's prefixes and the retention limit each follows. */
export function lakeExpirations(retention: LakeRetention): Array<{ prefix: string; days: number }> {
  return [
    { prefix: EVENTS_PREFIX_ROOT, days: retention.eventsDays },
    { prefix: FAILED_PREFIX_ROOT, days: retention.failedEventsDays },
    { prefix: `${QUARANTINE_PREFIX}${EVENTS_PREFIX_ROOT}`, days: retention.eventsDays },
    { prefix: `${QUARANTINE_PREFIX}${FAILED_PREFIX_ROOT}`, days: retention.failedEventsDays },
    { prefix: ERRORS_PREFIX_ROOT, days: retention.failedEventsDays },
  ];
}

/** The S3 data lake: raw events and failed events land here via Firehose; the warehouse loads from it. */
export class Lake extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: LakeProps) {
    super(scope, id);
    // Grant log delivery through a bucket policy rather than the legacy LogDeliveryWrite ACL, which ACL-disabled
    // (BucketOwnerEnforced) buckets cannot take.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);

    // Server access logs can only be delivered to an SSE-S3 bucket.
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: props.accessLogsExpiration ?? Duration.days(90) },
      ],
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log target bucket; logging it into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: props.encryptionKey !== undefined ? true : undefined,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: props.versioned ?? false,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'lake/',
      lifecycleRules: [
        {
          id: 'tiering',
          // Recent partitions are read by the warehouse load and ad-hoc queries; older ones rarely.
          transitions: [
            { storageClass: s3.StorageClass.INTELLIGENT_TIERING, transitionAfter: Duration.days(30) },
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(180) },
          ],
          noncurrentVersionExpiration: props.versioned ? LAKE_RECOVERY_WINDOW : undefined,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
        // Retention: each prefix's files expire after its limit. In a versioned bucket that leaves a
        // delete marker over a noncurrent version, which goes after the recovery window, and then the
        // marker, left alone, goes too.
        ...lakeExpirations(props.retention).map(({ prefix, days }) => ({
          id: `expire-${prefix.replace(/\/$/, '').replace(/\//g, '-')}`,
          prefix,
          expiration: Duration.days(days),
          noncurrentVersionExpiration: props.versioned ? LAKE_RECOVERY_WINDOW : undefined,
        })),
        ...(props.versioned
          ? [{ id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true }]
          : []),
      ],
      removalPolicy: props.removalPolicy,
    });
  }
}

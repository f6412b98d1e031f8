import { ArnFormat, CfnElement, Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { TributaryFunction } from './lambda-function';
import {
  acknowledgeFindings,
  checkLoadStep,
  grantLakeFilesRead,
  loadStepFunction,
  scheduleLoadStep,
} from './warehouse';
import type { LoadStepProps, WarehouseAccess, WarehouseErasure } from './warehouse';

export interface AthenaWarehouseProps extends LoadStepProps {
  /** Workgroup name: lowercase letters, digits and hyphens; the Glue database is named after it. */
  readonly name: string;
  /** Where the warehouse bucket's server access logs go (the lake's access log bucket). */
  readonly accessLogsBucket: s3.IBucket;
  /** The Glue table Firehose converts events against: the Parquet files the load step merges from. */
  readonly source: { readonly databaseName: string; readonly tableName: string };
  readonly bytesScannedCutoffPerQuery: Size;
  readonly resultsRetention: Duration;
}

/** Iceberg data and metadata files, below the warehouse bucket. */
export const ATHENA_TABLES_PREFIX = 'tables/';
/** Athena writes each query's result here; the bucket expires them after the results retention. */
export const ATHENA_RESULTS_PREFIX = 'results/';
/** Athena's smallest bytes-scanned cutoff per query. */
const MIN_BYTES_SCANNED_CUTOFF = Size.mebibytes(10);

/** Why a wildcard the engine's grants hold is no wider than it must be. */
const scopedReason = (scope: string): string =>
  `Scoped to ${scope}; the wildcard covers names Athena, Iceberg or Firehose choose at run time.`;

/** What a role needs on the Iceberg tables: reading them, or also changing them. */
type TableAccess = 'read' | 'write';

/**
 * The Athena warehouse engine: Apache Iceberg tables in the Glue Data Catalog, files in their own
 * bucket, queried through one workgroup whose settings every query must use (results location and
 * encryption, bytes-scanned cutoff, engine version 3). Nothing runs, so nothing is billed, until a
 * query or a load does.
 *
 * The tables are created by the load step's own DDL (CREATE TABLE ... 'table_type'='ICEBERG'), as the
 * Redshift engine's migrations create its tables: Athena writes the Iceberg metadata the tables start
 * from, and the engine that reads them owns their layout. The stack deploys the database they live in.
 */
export class AthenaWarehouse extends Construct implements WarehouseAccess, WarehouseErasure {
  readonly bucket: s3.Bucket;
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  readonly workgroup: athena.CfnWorkGroup;
  readonly loader: TributaryFunction;
  readonly schedule: events.Rule;
  /** The daily run: retention purge, then OPTIMIZE and VACUUM, which remove deleted rows from storage. */
  readonly dailySchedule: events.Rule;
  readonly environment: Record<string, string>;
  readonly queryTimeoutVariable = 'TRIBUTARY_ATHENA_QUERY_TIMEOUT_MS';
  private readonly workgroupArn: string;
  private hasReader = false;
  private hasDeleter = false;

  constructor(scope: Construct, id: string, props: AthenaWarehouseProps) {
    super(scope, id);
    checkLoadStep(props);
    if (props.bytesScannedCutoffPerQuery.toBytes() < MIN_BYTES_SCANNED_CUTOFF.toBytes()) {
      throw new Error(
        `Athena's bytes-scanned cutoff must be at least ${MIN_BYTES_SCANNED_CUTOFF.toMebibytes()} MB`,
      );
    }

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Not versioned: an erased person's rows must go with the files Iceberg deletes (docs/privacy.md).
      versioned: false,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'warehouse/',
      lifecycleRules: [
        { id: 'expire-results', prefix: ATHENA_RESULTS_PREFIX, expiration: props.resultsRetention },
        // No expiration below tables/: Iceberg deletes its own files, and a rule would break the tables.
        { id: 'abort-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: props.removalPolicy,
    });

    const stack = Stack.of(this);
    // Glue names are lowercase letters, digits and underscores.
    this.databaseName = props.name.replace(/-/g, '_');
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: {
        name: this.databaseName,
        description: 'Tributary warehouse: Iceberg tables the load step creates and merges into',
        locationUri: this.bucket.s3UrlForObject(ATHENA_TABLES_PREFIX),
      },
    });
    this.database.applyRemovalPolicy(props.removalPolicy);

    this.workgroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: props.name,
      description: 'Tributary warehouse queries and loads',
      state: 'ENABLED',
      // A stage torn down takes its query history with it.
      recursiveDeleteOption: props.removalPolicy === RemovalPolicy.DESTROY,
      workGroupConfiguration: {
        // Clients cannot override the results location, its encryption or the cutoff.
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery.toBytes(),
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: this.bucket.s3UrlForObject(ATHENA_RESULTS_PREFIX),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: stack.account,
        },
      },
    });
    this.workgroup.applyRemovalPolicy(props.removalPolicy);
    this.workgroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: props.name,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });

    this.environment = {
      TRIBUTARY_WAREHOUSE_ENGINE: 'athena',
      TRIBUTARY_ATHENA_WORKGROUP: props.name,
      TRIBUTARY_ATHENA_DATABASE: this.databaseName,
    };

    this.loader = loadStepFunction(this, props, {
      description: 'Tributary warehouse load: MERGE new lake files into Iceberg tables, each messageId once',
      environment: {
        ...this.environment,
        TRIBUTARY_ATHENA_SOURCE_DATABASE: props.source.databaseName,
        TRIBUTARY_ATHENA_SOURCE_TABLE: props.source.tableName,
        TRIBUTARY_ATHENA_TABLES_LOCATION: this.bucket.s3UrlForObject(ATHENA_TABLES_PREFIX),
        TRIBUTARY_LAKE_BUCKET: props.lake.bucketName,
      },
    });
    const loaderRole = this.loader.role;
    this.grantQueries(loaderRole);
    this.grantTables(loaderRole, 'write');
    // The load step creates the tables (Iceberg, the failed events' external table, the identities
    // view) and reads the Firehose source table through the catalog.
    iam.Grant.addToPrincipal({
      grantee: loaderRole,
      actions: ['glue:CreateTable'],
      resourceArns: [
        this.catalogArn(),
        this.databaseArn(this.databaseName),
        this.tablesArn(this.databaseName),
      ],
    });
    iam.Grant.addToPrincipal({
      grantee: loaderRole,
      actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
      resourceArns: [
        this.catalogArn(),
        this.databaseArn(props.source.databaseName),
        this.tableArn(props.source.databaseName, props.source.tableName),
      ],
    });
    grantLakeFilesRead(
      loaderRole,
      props.lake,
      scopedReason('the events/ and failed/ files of the one lake bucket, which Firehose names itself'),
    );
    this.schedule = scheduleLoadStep(this, this.loader, props);
    // At night (UTC), away from the day's queries; a clash with a load's commit fails one of them,
    // and the next run repeats it.
    this.dailySchedule = new events.Rule(this, 'DailySchedule', {
      description: 'Runs the warehouse retention purge and table maintenance',
      schedule: events.Schedule.cron({ hour: '3', minute: '17' }),
      targets: [
        new targets.LambdaFunction(this.loader.function, {
          event: events.RuleTargetInput.fromObject({ daily: true }),
          retryAttempts: 2,
        }),
      ],
    });
  }

  /** Queries in the workgroup, over the Iceberg tables, never changing them. */
  grantRead(role: iam.IRole): void {
    if (this.hasReader) throw new Error('The warehouse has one reader');
    this.hasReader = true;
    this.grantQueries(role);
    this.grantTables(role, 'read');
  }

  /** Iceberg row-level DELETEs: reads the tables and writes their delete and data files. */
  grantDelete(role: iam.IRole): void {
    if (this.hasDeleter) throw new Error('The warehouse has one deleter');
    this.hasDeleter = true;
    this.grantQueries(role);
    this.grantTables(role, 'write');
  }

  /**
   * Statements in this workgroup only, and its results: Athena writes a query's result with the
   * caller's own permissions, below results/.
   */
  private grantQueries(role: iam.IRole): void {
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StopQueryExecution',
        'athena:GetWorkGroup',
      ],
      resourceArns: [this.workgroupArn],
    });
    this.grantBucket(role, ATHENA_RESULTS_PREFIX, 'write', 'query results');
  }

  /** The Iceberg tables' catalog entries and files. */
  private grantTables(role: iam.IRole, access: TableAccess): void {
    const catalogActions = ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartitions'];
    iam.Grant.addToPrincipal({
      grantee: role,
      // Every commit to an Iceberg table swaps its metadata pointer: UpdateTable.
      actions: access === 'write' ? [...catalogActions, 'glue:UpdateTable'] : catalogActions,
      resourceArns: [
        this.catalogArn(),
        this.databaseArn(this.databaseName),
        this.tablesArn(this.databaseName),
      ],
    });
    this.acknowledge(
      role,
      [`Resource::${this.tablesArnFinding()}`],
      'the Iceberg tables of this one Glue database, which the load step creates and names itself',
    );
    this.grantBucket(role, ATHENA_TABLES_PREFIX, access, 'Iceberg data and metadata files');
  }

  private grantBucket(role: iam.IRole, prefix: string, access: TableAccess, what: string): void {
    if (access === 'write') this.bucket.grantReadWrite(role, `${prefix}*`);
    else this.bucket.grantRead(role, `${prefix}*`);
    const findings = ['Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*'];
    if (access === 'write') findings.push('Action::s3:Abort*', 'Action::s3:DeleteObject*');
    findings.push(
      `Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement)}.Arn>/${prefix}*`,
    );
    this.acknowledge(
      role,
      findings,
      `${what} below ${prefix} of the one warehouse bucket (CDK's bucket grant action groups)`,
    );
  }

  private acknowledge(role: iam.IRole, findings: readonly string[], scope: string): void {
    acknowledgeFindings(role, findings, scopedReason(scope));
  }

  private catalogArn(): string {
    return Stack.of(this).formatArn({ service: 'glue', resource: 'catalog' });
  }

  private databaseArn(database: string): string {
    return Stack.of(this).formatArn({
      service: 'glue',
      resource: 'database',
      resourceName: database,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  private tableArn(database: string, table: string): string {
    return Stack.of(this).formatArn({
      service: 'glue',
      resource: 'table',
      resourceName: `${database}/${table}`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  private tablesArn(database: string): string {
    return this.tableArn(database, '*');
  }

  /** How cdk-nag names the tables ARN in its finding: tokens as `<AWS::Partition>` and the like. */
  private tablesArnFinding(): string {
    return `arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/${this.databaseName}/*`;
  }
}

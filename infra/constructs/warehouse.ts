import { CfnElement, Duration, RemovalPolicy, type Size, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as redshiftserverless from 'aws-cdk-lib/aws-redshiftserverless';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  QUARANTINED_FILES_LOG_FIELD,
  QUARANTINE_PREFIX,
} from '../../src/sinks/lake/firehose/s3-lake-quarantine';
import { LOAD_STATE_KEY } from '../../src/sinks/lake/firehose/s3-load-state';
import { EVENTS_PREFIX_ROOT, FAILED_PREFIX_ROOT } from './delivery';
import { TributaryFunction } from './lambda-function';

/**
 * The base capacities Redshift Serverless accepts: 4 RPUs (for warehouses under 32 TB), multiples
 * of 8 up to 512, and multiples of 32 up to 1024 where the region offers them.
 */
export function isBaseCapacity(rpus: number): boolean {
  return (
    rpus === 4 ||
    (rpus >= 8 && rpus <= 512 && rpus % 8 === 0) ||
    (rpus > 512 && rpus <= 1024 && rpus % 32 === 0)
  );
}

/** What the load step is made of, whichever the engine. */
export interface LoadStepProps {
  /** Lowercase letters, digits and hyphens (checkLoadStep); each engine says what it names. */
  readonly name: string;
  readonly lake: s3.IBucket;
  readonly loadInterval: Duration;
  /**
   * When a scheduled run loads (docs/warehouse.md#when-the-load-step-loads): once this much lake data
   * is pending, or once the oldest pending file is older than `maxPendingAge`. Other runs only list
   * the lake, and the engine stays asleep. Without it, src/config.ts's defaults apply.
   */
  readonly loadGate?: LoadGateSettings;
  /**
   * Days the load step's purge keeps events (by event time) and failed events
   * (docs/privacy.md#retention); src/config.ts's defaults when absent.
   */
  readonly retention?: { readonly eventsDays: number; readonly failedEventsDays: number };
  readonly logLevel: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export interface WarehouseProps extends LoadStepProps {
  /** Namespace and workgroup name: lowercase letters, digits and hyphens, unique in the account and region. */
  readonly name: string;
  readonly database: string;
  /** RPUs the workgroup starts queries with (isBaseCapacity says which Redshift accepts). */
  readonly baseCapacity: number;
  readonly maxCapacity?: number;
}

/** When a scheduled load run loads; src/config.ts's defaults where a stack gives none. */
export interface LoadGateSettings {
  readonly minPendingBytes: Size;
  readonly maxPendingAge: Duration;
}

/** The load step's variables for the gate (TRIBUTARY_LOAD_*), read by src/config.ts. */
export function loadGateEnvironment(gate: LoadGateSettings | undefined): Record<string, string> {
  return gate === undefined
    ? {}
    : {
        TRIBUTARY_LOAD_MIN_PENDING_BYTES: String(gate.minPendingBytes.toBytes()),
        TRIBUTARY_LOAD_MAX_PENDING_MINUTES: String(gate.maxPendingAge.toMinutes()),
      };
}

/** What the API's Lambda needs to query the warehouse, whichever the engine. */
export interface WarehouseAccess {
  /** TRIBUTARY_WAREHOUSE_ENGINE and the engine's coordinates, read by src/config.ts. */
  readonly environment: Record<string, string>;
  /** The variable that bounds how long one analytics statement may run, in ms (src/config.ts). */
  readonly queryTimeoutVariable: string;
  /**
   * Lets the role run single statements on the workgroup as its own database user (GetCredentials), read
   * their results and cancel them, and has the load step make that user a read-only one. The role never
   * gets the admin secret.
   */
  grantRead(role: iam.IRole): void;
}

/** What the deletion function needs to erase people from the warehouse, whichever the engine. */
export interface WarehouseErasure {
  /** TRIBUTARY_WAREHOUSE_ENGINE and the engine's coordinates, read by src/config.ts. */
  readonly environment: Record<string, string>;
  /**
   * Lets the role run statements and transactions on the workgroup as its own database user
   * (GetCredentials), read their results and cancel them, and has the load step allow that user to
   * delete. The role never gets the admin secret.
   */
  grantDelete(role: iam.IRole): void;
}

/** The load step only waits on Data API statements (the cost model reads it too). */
export const LOADER_MEMORY_MB = 256;
export const ADMIN_USERNAME = 'tributary_admin';
/**
 * Longer than the load step's own statement timeouts (5 minutes, src/handlers/redshift-load.ts and athena-load.ts), and shorter than
 * the schedule so that loads never overlap (checked below).
 */
export const LOAD_TIMEOUT = Duration.minutes(6);

const NAME_PATTERN = /^[a-z0-9-]{3,64}$/;

/** Refuses a name the engines cannot take, and a schedule on which one load could overlap the next. */
export function checkLoadStep(props: Pick<LoadStepProps, 'name' | 'loadInterval'>): void {
  if (!NAME_PATTERN.test(props.name)) {
    throw new Error(`Warehouse name "${props.name}" must match ${NAME_PATTERN}`);
  }
  if (props.loadInterval.toSeconds() <= LOAD_TIMEOUT.toSeconds()) {
    throw new Error(
      `The warehouse load interval (${props.loadInterval.toHumanString()}) must exceed the load timeout (${LOAD_TIMEOUT.toHumanString()}) so that loads never overlap`,
    );
  }
}

/**
 * The load step's function, made in the engine's construct as `Loader` so that its resources keep
 * their ids: the engine's variables first, then the gate's and the retention's, which src/config.ts
 * reads the same way for both engines.
 */
export function loadStepFunction(
  scope: Construct,
  props: LoadStepProps,
  engine: { readonly description: string; readonly environment: Record<string, string> },
): TributaryFunction {
  return new TributaryFunction(scope, 'Loader', {
    entry: 'src/handlers/warehouse-load.ts',
    description: engine.description,
    serviceName: 'tributary-warehouse-load',
    logLevel: props.logLevel,
    logRetention: props.logRetention,
    removalPolicy: props.removalPolicy,
    memorySize: LOADER_MEMORY_MB,
    timeout: LOAD_TIMEOUT,
    environment: {
      ...engine.environment,
      ...loadGateEnvironment(props.loadGate),
      ...(props.retention && {
        TRIBUTARY_RETENTION_WAREHOUSE_DAYS: String(props.retention.eventsDays),
        TRIBUTARY_RETENTION_FAILED_EVENTS_DAYS: String(props.retention.failedEventsDays),
      }),
    },
  });
}

/**
 * Runs the load step every `loadInterval` (`LoadSchedule`, in the engine's construct), after letting
 * it read and rewrite the gate's record of what was loaded, one object in the lake. A failed run is
 * not retried out of schedule: the next run loads every file not loaded yet.
 */
export function scheduleLoadStep(
  scope: Construct,
  loader: TributaryFunction,
  props: Pick<LoadStepProps, 'lake' | 'loadInterval'>,
): events.Rule {
  props.lake.grantRead(loader.role, LOAD_STATE_KEY);
  props.lake.grantPut(loader.role, LOAD_STATE_KEY);
  loader.function.configureAsyncInvoke({ retryAttempts: 0 });
  return new events.Rule(scope, 'LoadSchedule', {
    description: 'Runs the warehouse load step',
    schedule: events.Schedule.rate(props.loadInterval),
    targets: [new targets.LambdaFunction(loader.function, { retryAttempts: 2 })],
  });
}

/**
 * Read access to the lake prefixes the warehouse loads (events/ and failed/), with cdk-nag's
 * findings on CDK's read action groups acknowledged for `reason`.
 */
export function grantLakeFilesRead(role: iam.IRole, lake: s3.IBucket, reason: string): void {
  const prefixes = [EVENTS_PREFIX_ROOT, FAILED_PREFIX_ROOT];
  for (const prefix of prefixes) lake.grantRead(role, `${prefix}*`);
  const findings = ['Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*'];
  const cfnBucket = lake.node.defaultChild;
  if (cfnBucket instanceof CfnElement) {
    const arn = `<${Stack.of(cfnBucket).getLogicalId(cfnBucket)}.Arn>`;
    findings.push(...prefixes.map((prefix) => `Resource::${arn}/${prefix}*`));
  }
  acknowledgeFindings(role, findings, reason);
}

/** Acknowledges cdk-nag's IAM5 (wildcard) findings on a role's policy, each for `reason`. */
export function acknowledgeFindings(role: iam.IRole, findings: readonly string[], reason: string): void {
  for (const finding of findings) {
    Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  }
}

const LAKE_READ_REASON =
  "Generated by bucket.grantRead for the lake prefixes the warehouse loads: CDK's read action groups, scoped to the events/ and failed/ objects of the one lake bucket; the file names are Firehose's own.";

/**
 * Redshift Serverless in a VPC of private (isolated) subnets, plus the scheduled load step.
 *
 * Events reach Redshift through S3 COPY run by the load step, not through a Firehose Redshift destination:
 * Firehose connects to Redshift from its public CIDR ranges, so the workgroup would have to be publicly
 * accessible; and a Firehose COPY appends blindly, while the warehouse must hold each messageId once, which
 * the load step's staging-table merge guarantees. Nothing connects to the workgroup over the network: Lambdas
 * use the Redshift Data API, and COPY reads the lake through the VPC's S3 gateway endpoint.
 */
export class Warehouse extends Construct implements WarehouseAccess, WarehouseErasure {
  readonly vpc: ec2.Vpc;
  readonly securityGroup: ec2.SecurityGroup;
  readonly adminSecret: secretsmanager.Secret;
  readonly copyRole: iam.Role;
  readonly namespace: redshiftserverless.CfnNamespace;
  readonly workgroup: redshiftserverless.CfnWorkgroup;
  readonly loader: TributaryFunction;
  readonly schedule: events.Rule;
  /** Lake files the load step moved to quarantine because COPY cannot load them (a sum per period). */
  readonly quarantinedFiles: cloudwatch.Metric;
  readonly environment: Record<string, string>;
  readonly queryTimeoutVariable = 'TRIBUTARY_REDSHIFT_QUERY_TIMEOUT_MS';
  /** Statement-level Data API calls, which take no resource ARN; one policy shared by every querying role. */
  private readonly statementAccess: iam.Policy;
  private hasReader = false;
  private hasDeleter = false;

  constructor(scope: Construct, id: string, props: WarehouseProps) {
    super(scope, id);
    checkLoadStep(props);
    if (!isBaseCapacity(props.baseCapacity)) {
      throw new Error(
        `Redshift Serverless base capacity ${props.baseCapacity} must be 4, a multiple of 8 up to 512, or of 32 up to 1024 RPUs`,
      );
    }

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      // Redshift Serverless wants subnets in three Availability Zones.
      maxAzs: 3,
      // No NAT, no internet gateway: the workgroup reaches only S3, through the free gateway endpoint.
      natGateways: 0,
      subnetConfiguration: [{ name: 'warehouse', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'Redshift Serverless workgroup: no inbound rules, clients use the Data API',
      allowAllOutbound: true,
    });

    this.adminSecret = new secretsmanager.Secret(this, 'AdminSecret', {
      description:
        'Redshift Serverless admin user; the warehouse load step signs in with it through the Data API',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: ADMIN_USERNAME }),
        generateStringKey: 'password',
        passwordLength: 32,
        // Characters Redshift refuses in passwords.
        excludeCharacters: `"'@/\\ `,
        requireEachIncludedType: true,
      },
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.adminSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the Redshift admin password needs a rotation Lambda inside the isolated VPC plus a Secrets Manager interface endpoint (about $22/month for three AZs); only the load Lambda reads the secret, through IAM (the API signs in as its own read-only user). Rotate it by hand (new secret version, then ALTER USER).',
    });

    this.copyRole = new iam.Role(this, 'CopyRole', {
      assumedBy: new iam.CompositePrincipal(
        new iam.ServicePrincipal('redshift.amazonaws.com'),
        new iam.ServicePrincipal('redshift-serverless.amazonaws.com'),
      ),
      description: 'Assumed by Redshift Serverless to COPY lake files',
    });
    grantLakeFilesRead(this.copyRole, props.lake, LAKE_READ_REASON);

    this.namespace = new redshiftserverless.CfnNamespace(this, 'Namespace', {
      namespaceName: props.name,
      dbName: props.database,
      adminUsername: ADMIN_USERNAME,
      adminUserPassword: this.adminSecret.secretValueFromJson('password').unsafeUnwrap(),
      iamRoles: [this.copyRole.roleArn],
      defaultIamRoleArn: this.copyRole.roleArn,
      logExports: ['userlog', 'connectionlog', 'useractivitylog'],
    });
    this.namespace.applyRemovalPolicy(props.removalPolicy);

    this.workgroup = new redshiftserverless.CfnWorkgroup(this, 'Workgroup', {
      workgroupName: props.name,
      namespaceName: props.name,
      baseCapacity: props.baseCapacity,
      maxCapacity: props.maxCapacity,
      subnetIds: this.vpc.isolatedSubnets.map((subnet) => subnet.subnetId),
      securityGroupIds: [this.securityGroup.securityGroupId],
      publiclyAccessible: false,
      // COPY traffic goes through the VPC (and its S3 endpoint), where flow logs see it.
      enhancedVpcRouting: true,
      configParameters: [
        { parameterKey: 'require_ssl', parameterValue: 'true' },
        { parameterKey: 'enable_user_activity_logging', parameterValue: 'true' },
      ],
    });
    this.workgroup.addResourceDependency(this.namespace);
    this.workgroup.applyRemovalPolicy(props.removalPolicy);

    this.environment = {
      TRIBUTARY_WAREHOUSE_ENGINE: 'redshift',
      TRIBUTARY_REDSHIFT_WORKGROUP: props.name,
      TRIBUTARY_REDSHIFT_DATABASE: props.database,
    };

    this.statementAccess = new iam.Policy(this, 'StatementAccess', {
      statements: [
        new iam.PolicyStatement({
          actions: [
            'redshift-data:DescribeStatement',
            'redshift-data:GetStatementResult',
            'redshift-data:CancelStatement',
          ],
          resources: ['*'],
          // Only statements the caller itself started.
          conditions: { StringEquals: { 'redshift-data:statement-owner-iam-userid': '${aws:userid}' } },
        }),
      ],
    });
    Validations.of(this.statementAccess).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'redshift-data DescribeStatement/GetStatementResult/CancelStatement take no resource ARN; the statement-owner-iam-userid condition limits them to statements the caller started.',
    });

    this.loader = loadStepFunction(this, props, {
      description: 'Tributary warehouse load: COPY new lake files into Redshift, each messageId once',
      environment: {
        ...this.environment,
        // The admin runs migrations, creates the reader's user and owns every table it creates.
        TRIBUTARY_REDSHIFT_SECRET_ARN: this.adminSecret.secretArn,
        TRIBUTARY_LAKE_BUCKET: props.lake.bucketName,
        TRIBUTARY_REDSHIFT_COPY_ROLE_ARN: this.copyRole.roleArn,
      },
    });
    this.grantAdmin(this.loader.role);
    grantLakeFilesRead(this.loader.role, props.lake, LAKE_READ_REASON);
    this.grantQuarantine(this.loader.role, props.lake);
    this.quarantinedFiles = this.quarantineMetric();
    this.schedule = scheduleLoadStep(this, this.loader, props);
  }

  grantRead(role: iam.IRole): void {
    if (this.hasReader) {
      throw new Error('The warehouse has one reader: the load step gives one database user read access');
    }
    this.hasReader = true;
    // Signed in by IAM, a role is the database user `IAMR:<role name>`, its name's case kept.
    this.loader.function.addEnvironment('TRIBUTARY_REDSHIFT_READER_USER', `IAMR:${role.roleName}`);
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['redshift-data:ExecuteStatement'],
      resourceArns: [this.workgroup.attrWorkgroupWorkgroupArn],
    });
    // What the Data API calls to sign in as the role's own database user when no secret is given.
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['redshift-serverless:GetCredentials'],
      resourceArns: [this.workgroup.attrWorkgroupWorkgroupArn],
    });
    this.statementAccess.attachToRole(role);
  }

  grantDelete(role: iam.IRole): void {
    if (this.hasDeleter) {
      throw new Error('The warehouse has one deleter: the load step allows one database user to delete');
    }
    this.hasDeleter = true;
    // Signed in by IAM like the reader, as IAMR:<role name>; the load step lets that user delete.
    this.loader.function.addEnvironment('TRIBUTARY_REDSHIFT_DELETER_USER', `IAMR:${role.roleName}`);
    // An erasure is one transaction (BatchExecuteStatement) after single statements that stage its ids.
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'],
      resourceArns: [this.workgroup.attrWorkgroupWorkgroupArn],
    });
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['redshift-serverless:GetCredentials'],
      resourceArns: [this.workgroup.attrWorkgroupWorkgroupArn],
    });
    this.statementAccess.attachToRole(role);
  }

  /** Statements and transactions on the workgroup as the admin user, through the admin secret. */
  private grantAdmin(role: iam.IRole): void {
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'],
      resourceArns: [this.workgroup.attrWorkgroupWorkgroupArn],
    });
    this.statementAccess.attachToRole(role);
    this.adminSecret.grantRead(role);
  }

  /**
   * Moving a file COPY cannot load into the quarantine: CopyObject needs read on the file (granted
   * above) and write below quarantine/, then DeleteObject on the file.
   */
  private grantQuarantine(role: iam.Role, lake: s3.IBucket): void {
    lake.grantPut(role, `${QUARANTINE_PREFIX}*`);
    lake.grantDelete(role, `${EVENTS_PREFIX_ROOT}*`);
    lake.grantDelete(role, `${FAILED_PREFIX_ROOT}*`);
    const findings = ['Action::s3:Abort*', 'Action::s3:DeleteObject*'];
    const cfnBucket = lake.node.defaultChild;
    if (cfnBucket instanceof CfnElement) {
      const arn = `<${Stack.of(this).getLogicalId(cfnBucket)}.Arn>`;
      findings.push(
        `Resource::${arn}/${QUARANTINE_PREFIX}*`,
        `Resource::${arn}/${EVENTS_PREFIX_ROOT}*`,
        `Resource::${arn}/${FAILED_PREFIX_ROOT}*`,
      );
    }
    acknowledgeFindings(
      role,
      findings,
      "Generated by bucket.grantPut/grantDelete for the load step's quarantine: CDK's action groups, scoped to writing below quarantine/ and deleting the events/ and failed/ files of the one lake bucket that it moves there.",
    );
  }

  /** Counts the files the load step's log lines report as moved to quarantine. */
  private quarantineMetric(): cloudwatch.Metric {
    const filter = new logs.MetricFilter(this, 'QuarantinedFilesFilter', {
      logGroup: this.loader.logGroup,
      filterPattern: logs.FilterPattern.numberValue(`$.${QUARANTINED_FILES_LOG_FIELD}`, '>', 0),
      metricNamespace: 'Tributary',
      metricName: 'QuarantinedLakeFiles',
      metricValue: `$.${QUARANTINED_FILES_LOG_FIELD}`,
    });
    return filter.metric({ statistic: 'Sum', period: Duration.minutes(5) });
  }
}

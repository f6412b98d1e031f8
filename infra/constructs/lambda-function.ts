import fs from 'node:fs';
import path from 'node:path';
import { Duration, RemovalPolicy, type Size, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { checkSchemaDirectory } from '../../src/services/schema-files';
import { PROJECT_ROOT, sharedBundling } from './lambda-bundle';

export { PROJECT_ROOT };

/** The newest Node runtime this aws-cdk-lib knows (cdk-nag L1 insists on it); the bundle targets the same version (lambda-bundle.ts). */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

export interface TributaryFunctionProps {
  /** Entry file relative to the repository root, e.g. `src/handlers/graphql.ts`. */
  readonly entry: string;
  readonly description: string;
  /** Powertools service name, so log lines and traces say which function wrote them. */
  readonly serviceName: string;
  readonly logLevel: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly environment?: Record<string, string>;
  readonly memorySize?: number;
  readonly timeout?: Duration;
  /** Room under /tmp; Lambda's 512 MiB unless given. */
  readonly ephemeralStorageSize?: Size;
  /** Instances that may run at once; 1 runs one invocation at a time, and queues the others. */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Packages installed beside the bundle instead of bundled into it: native addons, whose binaries
   * esbuild cannot bundle. They are installed for Lambda's platform, whatever machine synthesizes.
   */
  readonly nodeModules?: readonly string[];
  /** Files copied into the bundle next to `index.js` (static assets a handler reads at run time). */
  readonly bundledFiles?: readonly BundledFile[];
  /** Commands run after `bundledFiles` are copied, e.g. to build static assets into the bundle (`outputDir`). */
  readonly afterBundling?: (inputDir: string, outputDir: string) => string[];
  /** The handler builds a type-graphql schema, so reflect-metadata is loaded before any module. */
  readonly decorators?: boolean;
}

export interface BundledFile {
  /** Path relative to the repository root. */
  readonly source: string;
  /** Path relative to the bundle root (`/var/task` in Lambda). */
  readonly target: string;
}

/**
 * The event schemas a function validates against, checked now: a malformed schema fails the
 * synth, and the deployed function, told so, skips the checks it would make at its cold start
 * (src/events/schema-registry.ts `checkedAhead`). The files the check read are the files bundled.
 */
export function checkedSchemas(): { bundledFiles: BundledFile[]; environment: Record<string, string> } {
  checkedSchemaDirectory ??= (checkSchemaDirectory(path.join(PROJECT_ROOT, 'schemas')), true);
  return {
    bundledFiles: directoryFiles('schemas'),
    environment: { TRIBUTARY_SCHEMAS_CHECKED_AHEAD: 'true' },
  };
}

/** The schema folder was checked in this synth (once, however many functions bundle it). */
let checkedSchemaDirectory: true | undefined;

/** Every file under a repository folder, copied to the same relative path in the bundle. */
export function directoryFiles(dir: string): BundledFile[] {
  const entries = fs.readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const relative = path.relative(PROJECT_ROOT, path.join(entry.parentPath, entry.name));
      const posix = relative.split(path.sep).join('/');
      return { source: posix, target: posix };
    })
    .sort((a, b) => a.source.localeCompare(b.source));
}

/** The afterBundling commands (run by local bundling, never in the template) that copy files into the bundle. */
export function copyCommands(files: readonly BundledFile[], inputDir: string, outputDir: string): string[] {
  return files.flatMap((file) => {
    const target = path.posix.join(outputDir, file.target);
    return [
      `mkdir -p "${path.posix.dirname(target)}"`,
      `cp "${path.posix.join(inputDir, file.source)}" "${target}"`,
    ];
  });
}

/**
 * npm installs the `nodeModules` packages with the optional dependencies of Lambda's platform (Linux on
 * arm64, glibc), so a native addon's binary is the one Lambda loads, not the synthesizing machine's.
 * It takes them from its cache when it has them and asks the registry nothing else (no audit), so
 * synth needs the network only the first time.
 */
const LAMBDA_PLATFORM_NPM_CONFIG = {
  npm_config_os: 'linux',
  npm_config_cpu: 'arm64',
  npm_config_libc: 'glibc',
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
};

/**
 * The one NodejsFunction setup every Tributary Lambda uses: runtime, arm64, local esbuild bundling,
 * JSON logs into a log group we own (so retention and removal follow the stage), X-Ray tracing.
 */
export class TributaryFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: TributaryFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    // Our own role instead of AWSLambdaBasicExecutionRole: that managed policy lets the function write to
    // every log group in the account, while this one can only write to its own.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role for ${props.serviceName}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      ephemeralStorageSize: props.ephemeralStorageSize,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.ACTIVE,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_LOG_LEVEL: props.logLevel,
        TRIBUTARY_LOG_LEVEL: props.logLevel,
        // No NODE_OPTIONS=--enable-source-maps: Node would parse the bundle's source map at every cold
        // start (lambda-bundle.ts; docs/benchmarks.md#lambda). Names survive minification (keepNames).
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        // Target, minification, names, source map, defines, externals, polyfill and aliases: shared with
        // the benchmark that measures these bundles (lambda-bundle.ts), so the two cannot drift.
        ...sharedBundling(props),
        nodeModules: props.nodeModules ? [...props.nodeModules] : undefined,
        environment: props.nodeModules ? LAMBDA_PLATFORM_NPM_CONFIG : undefined,
        commandHooks:
          props.bundledFiles || props.afterBundling
            ? {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (inputDir, outputDir) => [
                  ...copyCommands(props.bundledFiles ?? [], inputDir, outputDir),
                  ...(props.afterBundling?.(inputDir, outputDir) ?? []),
                ],
              }
            : undefined,
      },
    });

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray PutTraceSegments/PutTelemetryRecords, added by CDK for active tracing, do not support resource-level permissions.',
    });
  }
}

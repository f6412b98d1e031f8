import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { build, type Metafile } from 'esbuild';
import { esbuildOptions, PROJECT_ROOT, type LambdaBundleProps } from '../infra/constructs/lambda-bundle';
import { checkedSchemas } from '../infra/constructs/lambda-function';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../src/aws/clients';
import { loadConfig } from '../src/config';
import { sampleEvent } from './ingest.bench';
import { batches } from './stream.bench';
import { startStubAwsServer, stubRequestHandler, stubSecretValue } from './aws-stub';
import { fmt, ratio } from './harness';

/** Fresh processes per bundle and variant; each figure is the median of its rounds. */
const COLD_ROUNDS = Number(process.env.BENCH_LAMBDA_ROUNDS ?? '5');
/** Rounds of the in-process CPU comparison, and trackEvents(100) invocations per handler in each. */
const CPU_ROUNDS = 7;
const CPU_INVOCATIONS = 20;
/**
 * Invocations of each handler before its CPU is measured: a warm container serves many requests,
 * and the JIT needs thousands of events to settle (the first rounds after 5 warm-ups ran 2 to 3 times
 * slower). What the first request costs is target 3's, measured apart.
 */
const WARM_INVOCATIONS = 100;
const TARGET = { cpu: 1.5, cold: 1.25 };

const TRACK_MANY = `mutation($e: [TrackEventInput!]!) { trackEvents(events: $e) { accepted rejected } }`;

/** Secret ARNs the cold runs read through the Secrets Manager stub, as the deployed functions do. */
const SECRET_ARNS = {
  TRIBUTARY_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-api-key-AbCdEf',
  TRIBUTARY_WRITE_KEY_SECRET_ARN:
    'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-write-key-AbCdEf',
  TRIBUTARY_USER_TOKEN_SECRET_ARN:
    'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-user-token-AbCdEf',
  TRIBUTARY_PII_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-pii-AbCdEf',
};

/** What a Lambda bundle needs to be loaded and invoked outside AWS. */
interface LambdaUnderTest extends LambdaBundleProps {
  name: string;
  /** Repository folders the construct copies beside the bundle. */
  folders?: string[];
  env: (stub: string) => Record<string, string>;
  /** The event of the first request; none: the function is not invoked (require only). */
  firstRequest?: () => unknown;
  /** Throws when the first request's answer is not a success. */
  check?: (result: unknown) => void;
}

/** The API Gateway HTTP API (payload v2) event of a POST /graphql. */
function graphqlEvent(body: string, apiKey: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /graphql',
    rawPath: '/graphql',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey, host: 'api.example.com' },
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: {
        method: 'POST',
        path: '/graphql',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.9',
        userAgent: 'bench',
      },
      requestId: 'bench',
      routeKey: 'POST /graphql',
      stage: '$default',
      time: '02/Dec/2026:10:00:00 +0000',
      timeEpoch: Date.UTC(2026, 11, 2, 10),
    },
    body,
    isBase64Encoded: false,
  };
}

const TRACK_EVENTS_BODY = JSON.stringify({
  query: TRACK_MANY,
  variables: { e: Array.from({ length: 100 }, (_, i) => sampleEvent(i)) },
});

function checkTrackEvents(result: unknown): void {
  const { statusCode, body } = result as { statusCode?: number; body?: string };
  if (statusCode !== 200 || !String(body).includes('"accepted":100')) {
    throw new Error(`trackEvents(100) answered ${statusCode}: ${String(body).slice(0, 300)}`);
  }
}

const common = (stub: string): Record<string, string> => ({
  TRIBUTARY_DYNAMODB_ENDPOINT: stub,
  TRIBUTARY_KINESIS_ENDPOINT: stub,
  TRIBUTARY_FIREHOSE_ENDPOINT: stub,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: stub,
});

const FUNCTIONS: LambdaUnderTest[] = [
  {
    name: 'graphql',
    entry: 'src/handlers/graphql.ts',
    decorators: true,
    folders: ['schemas'],
    env: (stub) => ({
      ...common(stub),
      TRIBUTARY_API_KEY_SECRET_ARN: SECRET_ARNS.TRIBUTARY_API_KEY_SECRET_ARN,
      TRIBUTARY_WRITE_KEY_SECRET_ARN: SECRET_ARNS.TRIBUTARY_WRITE_KEY_SECRET_ARN,
      TRIBUTARY_USER_TOKEN_SECRET_ARN: SECRET_ARNS.TRIBUTARY_USER_TOKEN_SECRET_ARN,
      TRIBUTARY_RATE_LIMIT_STORE: 'dynamodb',
      ...checkedSchemas().environment,
    }),
    firstRequest: () =>
      graphqlEvent(TRACK_EVENTS_BODY, stubSecretValue(SECRET_ARNS.TRIBUTARY_WRITE_KEY_SECRET_ARN)),
    check: checkTrackEvents,
  },
  {
    name: 'stream',
    entry: 'src/handlers/stream.ts',
    folders: ['schemas'],
    env: (stub) => ({
      ...common(stub),
      TRIBUTARY_PII_SECRET_ARN: SECRET_ARNS.TRIBUTARY_PII_SECRET_ARN,
      ...checkedSchemas().environment,
    }),
    firstRequest: () => batches()[0],
    check: (result) => {
      const failures = (result as { batchItemFailures?: unknown[] }).batchItemFailures;
      if (failures === undefined || failures.length > 0) {
        throw new Error(`the stream handler answered ${JSON.stringify(result).slice(0, 300)}`);
      }
    },
  },
  {
    name: 'deletion',
    entry: 'src/handlers/deletion.ts',
    nodeModules: ['@duckdb/node-api'],
    env: (stub) => ({
      ...common(stub),
      TRIBUTARY_LAKE_BUCKET: 'bench-lake',
      TRIBUTARY_REDSHIFT_WORKGROUP: 'bench',
    }),
  },
  {
    name: 'hot-fold',
    entry: 'src/handlers/hot-fold.ts',
    env: common,
  },
  {
    name: 'warehouse-load',
    entry: 'src/handlers/warehouse-load.ts',
    env: (stub) => ({
      ...common(stub),
      TRIBUTARY_LAKE_BUCKET: 'bench-lake',
      TRIBUTARY_REDSHIFT_WORKGROUP: 'bench',
    }),
  },
];

/** The framework floor bundled like a Tributary function (graphql only). */
const FLOOR: LambdaUnderTest = {
  name: 'stock Apollo + type-graphql (floor)',
  entry: 'bench/apollo-floor-lambda.ts',
  decorators: true,
  env: () => ({}),
  firstRequest: () => graphqlEvent(TRACK_EVENTS_BODY, 'unused'),
  check: checkTrackEvents,
};

/**
 * The stream function's library floor bundled like a Tributary function (stream only): ajv, ua-parser-js
 * and one call of each AWS client, on the same first batch.
 */
const STREAM_FLOOR: LambdaUnderTest = {
  name: 'stream library floor',
  entry: 'bench/stream-floor-lambda.ts',
  folders: ['schemas'],
  env: common,
  firstRequest: () => batches()[0],
};

/** A built bundle: its folder (index.js beside the copied folders) and size. */
interface Bundle {
  dir: string;
  bytes: number;
}

async function bundle(props: LambdaBundleProps, dir: string, folders: string[] = []): Promise<Metafile> {
  const outfile = path.join(dir, 'index.js');
  const result = await build({ ...esbuildOptions(props, outfile), metafile: true });
  for (const folder of folders) {
    await cp(path.join(PROJECT_ROOT, folder), path.join(dir, folder), { recursive: true });
  }
  return result.metafile;
}

/**
 * The third-party modules the bundle imports statically, as its own code names them
 * (`@apollo/server/errors`, `@aws-sdk/client-kinesis`…): from the metafile's first-party inputs.
 */
export function thirdPartyImports(metafile: Metafile): string[] {
  const specifiers = new Set<string>();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    if (input.includes('node_modules/')) continue;
    for (const { kind, original, path: resolved } of imports) {
      const specifier = original ?? resolved;
      if (kind !== 'import-statement' || specifier.startsWith('.') || specifier.startsWith('/')) continue;
      if (isBuiltin(specifier) || specifier === '<runtime>') continue;
      specifiers.add(specifier);
    }
  }
  return [...specifiers].sort();
}

/** A bundle that imports the same third-party modules with the same options, and does nothing else. */
async function baselineBundle(props: LambdaBundleProps, metafile: Metafile, dir: string): Promise<void> {
  const specifiers = thirdPartyImports(metafile);
  const contents = [
    ...specifiers.map((specifier, i) => `import * as m${i} from ${JSON.stringify(specifier)};`),
    // Exported, so that no import is dropped as unused.
    `export const modules = [${specifiers.map((_, i) => `m${i}`).join(', ')}];`,
    'export const handler = async () => ({ statusCode: 200 });',
  ].join('\n');
  const options = esbuildOptions(props, path.join(dir, 'index.js'));
  await build({
    ...options,
    entryPoints: undefined,
    stdin: { contents, resolveDir: PROJECT_ROOT, sourcefile: 'baseline.js', loader: 'js' },
  });
}

/**
 * Run in a fresh `node` (no tsx, no flags but the variant's): loads the bundle, then invokes its
 * handler once with the event file's event; prints both times.
 */
const CHILD = `
const { readFileSync } = require('node:fs');
const [dir, eventFile] = process.argv.slice(1);
const event = eventFile ? JSON.parse(readFileSync(eventFile, 'utf8')) : undefined;
const ms = (from, to) => Number(to - from) / 1e6;
const cpuMs = (from, to) => (to.user + to.system - from.user - from.system) / 1000;
const started = process.hrtime.bigint();
const startedCpu = process.cpuUsage();
const { handler } = require(dir + '/index.js');
const loaded = process.hrtime.bigint();
const loadedCpu = process.cpuUsage();
const context = { functionName: 'bench', awsRequestId: 'bench', getRemainingTimeInMillis: () => 15000 };
const report = (result) => {
  const answered = process.hrtime.bigint();
  const answeredCpu = process.cpuUsage();
  process.stdout.write('\\nBENCH_RESULT ' + JSON.stringify({
    requireMs: ms(started, loaded),
    firstMs: event ? ms(loaded, answered) : 0,
    requireCpuMs: cpuMs(startedCpu, loadedCpu),
    firstCpuMs: event ? cpuMs(loadedCpu, answeredCpu) : 0,
    result,
  }) + '\\n');
  process.exit(0);
};
if (event) Promise.resolve(handler(event, context, () => undefined)).then(report, (error) => { console.error(error); process.exit(1); });
else report(undefined);
`;

/** Wall and CPU times (the whole process's CPU: V8's compiler and collector threads count). */
interface ColdRun {
  requireMs: number;
  firstMs: number;
  requireCpuMs: number;
  firstCpuMs: number;
  result: unknown;
}

/** BENCH_LAMBDA_CPU_PROF names a folder: each cold run writes its CPU profile there (evidence of what bounds it). */
const CPU_PROFILE_DIR = process.env.BENCH_LAMBDA_CPU_PROF;

function coldRun(
  dir: string,
  eventFile: string | undefined,
  env: Record<string, string>,
  profileName: string,
): Promise<ColdRun> {
  const profile = CPU_PROFILE_DIR
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${path.resolve(CPU_PROFILE_DIR)}`,
        `--cpu-prof-name=${profileName}.cpuprofile`,
      ]
    : [];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...profile, '-e', CHILD, dir, ...(eventFile ? [eventFile] : [])],
      { env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
        if (error || line === undefined) {
          reject(
            new Error(`cold run of ${dir} failed (exit ${String(error?.code)}):\n${stderr.slice(-2000)}`),
          );
          return;
        }
        resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as ColdRun);
      },
    );
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/** One way to start a bundle: its folder, event, environment; its runs. */
interface Variant {
  label: string;
  bundle: Bundle;
  eventFile?: string;
  env: Record<string, string>;
  check?: (result: unknown) => void;
  runs: ColdRun[];
}

function childEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    // The Lambda runtime provides the SDK; here it comes from the project's node_modules.
    NODE_PATH: path.join(PROJECT_ROOT, 'node_modules'),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    // The SDK warns about Node 20 on this machine; Lambda's runtime is newer.
    NODE_NO_WARNINGS: '1',
    ...extra,
  };
}

/**
 * Cold starts: every bundle, its baseline, and the floor, each in fresh processes, taking turns
 * round by round so a slow spell of the machine weighs on all.
 */
async function coldStarts(dir: string, stub: string): Promise<string[]> {
  /**
   * A function's bundle and its baseline; beside them, for graphql how it ran before, and for a
   * function with a floor of its own, that floor and the floor's baseline.
   */
  const variants: Array<{
    fn: LambdaUnderTest;
    real: Variant;
    baseline: Variant;
    before?: Variant;
    floor?: { real: Variant; baseline: Variant };
  }> = [];
  const build = async (fn: LambdaUnderTest, key: string): Promise<(typeof variants)[number]> => {
    const realDir = path.join(dir, key);
    const baseDir = path.join(dir, `${key}-baseline`);
    const metafile = await bundle(fn, realDir, fn.folders);
    await baselineBundle(fn, metafile, baseDir);
    const eventFile = fn.firstRequest ? path.join(dir, `${key}-event.json`) : undefined;
    if (eventFile && fn.firstRequest) await writeFile(eventFile, JSON.stringify(fn.firstRequest()));
    const sized = async (d: string): Promise<Bundle> => ({
      dir: d,
      bytes: (await stat(path.join(d, 'index.js'))).size,
    });
    const env = childEnv(fn.env(stub));
    return {
      fn,
      real: { label: fn.name, bundle: await sized(realDir), eventFile, env, check: fn.check, runs: [] },
      baseline: { label: `${fn.name} baseline`, bundle: await sized(baseDir), eventFile, env, runs: [] },
    };
  };
  for (const fn of FUNCTIONS) variants.push(await build(fn, fn.name));
  const graphql = variants[0];
  if (graphql) {
    // How the functions ran before: Node parsing the bundle's source map as it loads.
    graphql.before = {
      ...graphql.real,
      label: 'graphql with NODE_OPTIONS=--enable-source-maps (before)',
      env: { ...graphql.real.env, NODE_OPTIONS: '--enable-source-maps' },
      runs: [],
    };
    graphql.floor = await build(FLOOR, 'floor');
  }
  const stream = variants.find((v) => v.fn.name === 'stream');
  if (stream) stream.floor = await build(STREAM_FLOOR, 'stream-floor');

  const all = variants.flatMap((v) => [
    v.real,
    v.baseline,
    ...(v.before ? [v.before] : []),
    ...(v.floor ? [v.floor.real, v.floor.baseline] : []),
  ]);
  for (let round = 0; round < COLD_ROUNDS; round += 1) {
    // Each round starts at a different variant, so none always runs first or last.
    const order = all.map((_, i) => all[(i + round) % all.length] as Variant);
    for (const variant of order) {
      const profileName = `${variant.label.replace(/[^\w.-]+/g, '-')}-${round + 1}`;
      const run = await coldRun(variant.bundle.dir, variant.eventFile, variant.env, profileName);
      variant.check?.(run.result);
      variant.runs.push(run);
    }
  }

  const med = (v: Variant, pick: (r: ColdRun) => number) => median(v.runs.map(pick));
  const requireCpu = (v: Variant) => med(v, (r) => r.requireCpuMs);
  const coldCpu = (v: Variant) => med(v, (r) => r.requireCpuMs + r.firstCpuMs);
  const both = (v: Variant, cpu: (r: ColdRun) => number, wall: (r: ColdRun) => number) =>
    `${fmt(med(v, cpu))} (${fmt(med(v, wall))})`;
  const kb = (bytes: number) => `${fmt(bytes / 1024)} KiB`;
  const mark = (value: number, baseline: number) =>
    `${ratio(value, baseline)} ${value <= TARGET.cold * baseline ? '✓' : '✗'}`;
  const lines = [
    '| bundle | size | baseline size | require: CPU ms (wall) | baseline require | require vs baseline | first request | first request: CPU ms (wall) | require + first: CPU ms (wall) | baseline require + first | cold vs baseline |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
  ];
  const row = (v: Variant, base: Variant, request: string) => {
    const invoked = v.eventFile !== undefined;
    const cells = [
      v.label,
      kb(v.bundle.bytes),
      kb(base.bundle.bytes),
      both(
        v,
        (r) => r.requireCpuMs,
        (r) => r.requireMs,
      ),
      both(
        base,
        (r) => r.requireCpuMs,
        (r) => r.requireMs,
      ),
      mark(requireCpu(v), requireCpu(base)),
      request,
      invoked
        ? both(
            v,
            (r) => r.firstCpuMs,
            (r) => r.firstMs,
          )
        : 'n/a',
      invoked
        ? both(
            v,
            (r) => r.requireCpuMs + r.firstCpuMs,
            (r) => r.requireMs + r.firstMs,
          )
        : 'n/a',
      invoked
        ? both(
            base,
            (r) => r.requireCpuMs + r.firstCpuMs,
            (r) => r.requireMs + r.firstMs,
          )
        : 'n/a',
      invoked ? mark(coldCpu(v), coldCpu(base)) : 'n/a',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  };
  const REQUEST: Record<string, string> = {
    graphql: 'trackEvents(100)',
    stream: '500-record Kinesis batch',
  };
  for (const { fn, real, baseline, before, floor } of variants) {
    row(real, baseline, REQUEST[fn.name] ?? 'n/a (scheduled)');
    if (before) row(before, baseline, REQUEST[fn.name] ?? '');
    if (floor) row(floor.real, floor.baseline, REQUEST[fn.name] ?? '');
  }
  const streamFloor = variants.find((v) => v.fn.name === 'stream')?.floor;
  if (streamFloor) {
    const { real: floorReal, baseline: floorBase } = streamFloor;
    const floorRatio = coldCpu(floorReal) / coldCpu(floorBase);
    lines.push(
      '',
      `The stream's library floor (bench/stream-floor-lambda.ts: ajv compiling the batch's schemas, one user-agent parse, one call of each AWS client, no processing) takes ${ratio(coldCpu(floorReal), coldCpu(floorBase))} its baseline's CPU for require + first request: ` +
        (floorRatio > TARGET.cold
          ? `above ${TARGET.cold}×, so no stream handler on these libraries whose first request is a batch can meet target 3 against a baseline that only imports them.`
          : `within ${TARGET.cold}×, so the libraries alone do not put target 3 out of reach.`),
    );
  }
  return lines;
}

/**
 * Target 2: CPU per event of trackEvents(100) through the graphql handler in this process, its AWS
 * clients answered at the transport, beside the stock Apollo floor as a Lambda handler with the same
 * events. The two take turns round by round; each figure is the median of the rounds.
 */
async function handlerCpu(): Promise<string[]> {
  const { createGraphqlHandler } = await import('../src/handlers/graphql-handler');
  const { handler: floorHandler } = await import('./apollo-floor-lambda');
  const writeKey = 'bench-write-key-0123456789';
  const config = loadConfig({
    TRIBUTARY_API_KEY: 'bench-secret-key-0123456789',
    TRIBUTARY_WRITE_KEY: writeKey,
    TRIBUTARY_USER_TOKEN_SECRET: 'bench-user-token-secret-0123456789-0123456789',
    TRIBUTARY_RATE_LIMIT_STORE: 'dynamodb',
  });
  // Lambda hands its functions credentials in the environment; the stub accepts any signature.
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  // The last PutRecords the handler sent, to send the very same records through the SDK alone.
  let putRecordsBody = '';
  const transport = stubRequestHandler((target, body) => {
    if (target.endsWith('.PutRecords')) putRecordsBody = body;
  });
  const tributary = createGraphqlHandler({ config, transport: { kinesis: transport, dynamodb: transport } });
  const context = { functionName: 'bench', awsRequestId: 'bench' } as Context;
  const event = graphqlEvent(TRACK_EVENTS_BODY, writeKey);
  const handlers: Array<{ name: string; invoke: () => Promise<unknown>; perEvent: number[] }> = [
    {
      name: 'stock Apollo + type-graphql (floor)',
      invoke: async () => floorHandler(event, context, () => undefined),
      perEvent: [],
    },
    { name: 'Tributary graphql handler', invoke: () => tributary(event, context), perEvent: [] },
  ];
  for (const h of handlers) {
    for (let i = 0; i < WARM_INVOCATIONS; i += 1) checkTrackEvents(await h.invoke());
  }
  // What any handler that writes the events to Kinesis through the AWS SDK pays on top of the
  // framework: one PutRecords of the same 100 records (serialising, signing, parsing the answer).
  const kinesis = createKinesisClient(config, { kinesis: stubRequestHandler() });
  const sent = JSON.parse(putRecordsBody) as {
    StreamName: string;
    Records: Array<{ Data: string; PartitionKey: string }>;
  };
  const putRecords = new PutRecordsCommand({
    StreamName: sent.StreamName,
    Records: sent.Records.map((r) => ({ Data: Buffer.from(r.Data, 'base64'), PartitionKey: r.PartitionKey })),
  });
  const sdk = {
    name: 'the Kinesis SDK alone: PutRecords of the handler’s 100 records',
    invoke: () => kinesis.send(putRecords),
    perEvent: [] as number[],
  };
  for (let i = 0; i < WARM_INVOCATIONS; i += 1) await sdk.invoke();
  handlers.push(sdk);
  for (let round = 0; round < CPU_ROUNDS; round += 1) {
    for (const h of round % 2 === 0 ? handlers : [...handlers].reverse()) {
      const before = process.cpuUsage();
      for (let i = 0; i < CPU_INVOCATIONS; i += 1) await h.invoke();
      const used = process.cpuUsage(before);
      h.perEvent.push((used.user + used.system) / (CPU_INVOCATIONS * 100));
    }
  }
  const [floor, ours, sdkAlone] = handlers.map((h) => median(h.perEvent)) as [number, number, number];
  const reachable = floor + sdkAlone;
  return [
    '| handler (in process, trackEvents(100)) | CPU µs per event | vs floor | µs per event per round |',
    '| --- | ---: | ---: | ---: |',
    ...handlers.map(
      (h) =>
        `| ${h.name} | ${fmt(median(h.perEvent), 1)} | ${ratio(median(h.perEvent), floor)} | ${h.perEvent.map((v) => fmt(v)).join(', ')} |`,
    ),
    '',
    `Target 2: CPU per event ≤ ${TARGET.cpu}× the floor's: ${ratio(ours, floor)} ${ours <= TARGET.cpu * floor ? '✓' : '✗'}. ` +
      `The floor answers without writing anything; the framework floor plus the SDK's PutRecords of the same records ` +
      `is ${ratio(reachable, floor)} the floor, the least a handler that writes the events through the AWS SDK can take` +
      (reachable > TARGET.cpu * floor
        ? ', so the target is out of reach while the events go through the SDK.'
        : '.'),
  ];
}

/** `npm run bench -- lambda`: cold starts of every Lambda bundle, and the graphql handler's CPU per event. */
export async function lambdaBenchmark(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tributary-lambda-bench-'));
  const stub = await startStubAwsServer();
  try {
    const cold = await coldStarts(dir, stub.endpoint);
    const cpu = await handlerCpu();
    return [
      ...cold,
      '',
      `Cold starts: ${COLD_ROUNDS} fresh processes per row, taking turns; medians. Ratios and marks compare CPU time ` +
        "(the process's, all threads), which a busy shared machine distorts far less than wall time, shown in brackets. " +
        `Target 3: require, and require + first request, ≤ ${TARGET.cold}× the baseline's.`,
      '',
      ...cpu,
    ].join('\n');
  } finally {
    await stub.close();
    // Profiles name lines of the minified bundles: those stay, with their source maps, to read them by.
    if (CPU_PROFILE_DIR)
      process.stderr.write(`lambda: bundles kept in ${dir} for the profiles' source maps\n`);
    else await rm(dir, { recursive: true, force: true });
  }
}

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { cruise, folderCycles, folderOf } from '../../scripts/check-folder-cycles';

const ROOT = path.join(__dirname, '..', '..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.js');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** A small tree that breaks each rule once, next to imports the rules allow. */
const FIXTURE: Record<string, string> = {
  'src/events/uses-sdk.ts': `import { KinesisClient } from '@aws-sdk/client-kinesis';\nexport const c = KinesisClient;\n`,
  'src/events/uses-graphql.ts': `import { GraphQLError } from 'graphql';\nexport const e = GraphQLError;\n`,
  'src/events/reads-files.ts': `import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n`,
  'src/events/validates.ts': `import Ajv from 'ajv';\nexport const a = Ajv;\n`,
  'src/realtime/calls-a-service.ts': `import { ingest } from '../services/ingest';\nexport const u = ingest;\n`,
  'src/services/ingest.ts': `export const ingest = 1;\n`,
  'src/resolvers/hot.resolver.ts':
    `import { GraphQLError } from 'graphql';\nimport { ingest } from '../services/ingest';\n` +
    `import { producer } from '../stream/kinesis/kinesis-producer';\nexport const h = [GraphQLError, ingest, producer];\n`,
  'src/stream/kinesis/kinesis-producer.ts': `export const producer = 1;\n`,
  'src/services/a.ts': `import { b } from './b';\nexport const a = () => b;\n`,
  'src/services/b.ts': `import { a } from './a';\nexport const b = () => a;\n`,
  'src/handlers/graphql.ts': `import { wire } from '../services/wiring';\nexport const handler = wire;\n`,
  'src/services/wiring.ts': `import { emulators } from '../local/emulators';\nexport const wire = emulators;\n`,
  'src/local/emulators.ts': `import { build } from 'esbuild';\nexport const emulators = build;\n`,
  'src/api/bundles.ts': `import { build } from 'esbuild';\nexport const b = build;\n`,
  'src/api/undeclared.ts': `import semver from 'semver';\nexport const s = semver;\n`,
  'src/privacy/port.ts': `export type Eraser = () => number;\n`,
  'src/privacy/plan.ts': `import type { Eraser } from './port';\nexport const p = (e: Eraser) => e();\n`,
  'src/privacy/writes-files.ts': `import { writeFileSync } from 'node:fs';\nexport const w = writeFileSync;\n`,
  'src/privacy/dynamodb/store.ts':
    `import { KinesisClient } from '@aws-sdk/client-kinesis';\nimport type { Eraser } from '../port';\n` +
    `export const s: [unknown, Eraser?] = [KinesisClient];\n`,
  'src/console/page-config.ts': `export const CONFIG_ID = 'config';\n`,
  'src/console/chart.ts': `import { build } from 'esbuild';\nexport const chart = build;\n`,
  'src/console/reads-a-service.ts': `import { ingest } from '../services/ingest';\nexport const r = ingest;\n`,
  'src/api/console-page.ts':
    `import { CONFIG_ID } from '../console/page-config';\nimport { chart } from '../console/chart';\n` +
    `export const page = [CONFIG_ID, chart];\n`,
  'package.json': JSON.stringify({
    name: 'fixture',
    private: true,
    dependencies: { '@aws-sdk/client-kinesis': '*', ajv: '*', graphql: '*' },
    devDependencies: { esbuild: '*' },
  }),
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node' } }),
};

/** `rule: from` of each violation the fixture plants, one per rule. */
const PLANTED = [
  'domain-not-to-outer-layers: src/realtime/calls-a-service.ts',
  'domain-not-to-engine-libraries: src/events/uses-sdk.ts',
  'domain-not-to-graphql: src/events/uses-graphql.ts',
  'domain-no-io: src/events/reads-files.ts',
  'resolvers-not-to-adapters: src/resolvers/hot.resolver.ts',
  'no-circular: src/services/a.ts',
  'lambda-handlers-not-to-local: src/handlers/graphql.ts',
  'runtime-code-not-to-dev-dependencies: src/api/bundles.ts',
  'no-non-package-json: src/api/undeclared.ts',
  'privacy-core-pure: src/privacy/writes-files.ts',
  'console-is-a-browser-client: src/console/reads-a-service.ts',
  'only-the-page-contract-from-console: src/api/console-page.ts',
];

/** Runs dependency-cruiser on `src` under `cwd` as `npm run lint` does: exit status and report. */
function depcruise(cwd: string): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DEPCRUISE, 'src', '--config', CONFIG], { cwd }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ status, output: stdout + stderr });
    });
  });
}

describe('layer rules (.dependency-cruiser.js)', () => {
  let fixtureDir: string;
  let fixture: Promise<{ status: number; output: string }>;
  let project: Promise<{ status: number; output: string }>;

  beforeAll(async () => {
    fixtureDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-layer-rules-'));
    for (const [file, text] of Object.entries(FIXTURE)) {
      await mkdir(path.dirname(path.join(fixtureDir, file)), { recursive: true });
      await writeFile(path.join(fixtureDir, file), text);
    }
    // The project's installed packages, so package imports resolve as they do in the project.
    await symlink(path.join(ROOT, 'node_modules'), path.join(fixtureDir, 'node_modules'), 'dir');
    // Both runs at once: each takes a few seconds, mostly loading the TypeScript parser.
    fixture = depcruise(fixtureDir);
    project = depcruise(ROOT);
    await Promise.all([fixture, project]);
  }, 30_000);

  afterAll(async () => {
    await rm(fixtureDir, { recursive: true, force: true });
  });

  it('run in npm run lint', async () => {
    const { scripts } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts.lint).toContain('depcruise src --config .dependency-cruiser.js');
  });

  it('report each planted violation, nothing the rules allow, and fail the run', async () => {
    const { status, output } = await fixture;
    const reported = [...output.matchAll(/^\s*error ([\w-]+: \S+) →/gm)].map((m) => m[1]);
    expect(reported.sort()).toEqual([...PLANTED].sort());
    // dependency-cruiser exits with the number of errors, which fails the lint step.
    expect(status).toBe(PLANTED.length);
  });

  it('find no violation in src', async () => {
    const { status, output } = await project;
    expect({ status, output }).toEqual({
      status: 0,
      output: expect.stringContaining('no dependency violations'),
    });
  });
});

describe('folder cycles', () => {
  const graph = (edges: Array<[string, string]>) => ({
    modules: edges.map(([source, resolved]) => ({ source, dependencies: [{ resolved }] })),
  });

  it('finds folders that import each other through different modules, and nothing else', () => {
    const cycles = folderCycles(
      graph([
        ['src/services/a.ts', 'src/stream/port.ts'],
        ['src/stream/process-batch.ts', 'src/services/schema-files.ts'],
        ['src/sinks/lake/local/x.ts', 'src/sinks/lake/port.ts'],
        ['src/sinks/warehouse/duckdb/y.ts', 'src/sinks/lake/columns.ts'],
        ['src/resolvers/r.ts', 'src/services/a.ts'],
      ]),
    );
    expect(cycles).toEqual([['src/services', 'src/stream']]);
    expect(folderOf('src/sinks/warehouse/duckdb/duckdb-sql.ts')).toBe('src/sinks/warehouse');
    expect(folderOf('src/config.ts')).toBeUndefined();
  });

  // Cruising the whole of src takes a few seconds.
  it('finds none in src, and runs in npm run lint', async () => {
    expect(folderCycles(cruise(ROOT))).toEqual([]);
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: { lint: string };
    };
    expect(pkg.scripts.lint).toContain('tsx scripts/check-folder-cycles.ts');
  }, 30_000);
});

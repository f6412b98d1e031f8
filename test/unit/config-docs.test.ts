import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

const ROOT = path.join(__dirname, '..', '..');
const DOC = 'docs/configuration.md';

/**
 * TRIBUTARY_* variables the table documents although loadConfig does not read them, each with
 * the file that does and why it reads the environment itself.
 */
const READ_ELSEWHERE: ReadonlyArray<{ name: string; readIn: string; reason: string }> = [
  {
    name: 'TRIBUTARY_FAULT_SEED',
    readIn: 'test/helpers/seeded-random.ts',
    reason: 'a test setting: it replays a fault-injection run, the product never sees it',
  },
];

/**
 * Every variable loadConfig reads, found by handing it an env that records each property read.
 * Some are read only once another is set (the Redshift settings once a workgroup is named), so
 * each variable seen is then given a value, one at a time, and kept where loadConfig accepts it,
 * until no new variable shows up.
 */
function variablesReadByLoadConfig(): Set<string> {
  const read = new Set<string>();
  const run = (env: Record<string, string>): void => {
    const recording = new Proxy(env, {
      get(target, name) {
        if (typeof name === 'string') read.add(name);
        return Reflect.get(target, name) as unknown;
      },
      has(target, name) {
        if (typeof name === 'string') read.add(name);
        return Reflect.has(target, name);
      },
      ownKeys() {
        throw new Error('loadConfig enumerates the environment: the names it reads cannot be recorded');
      },
    });
    loadConfig(recording, ROOT);
  };

  const accepted: Record<string, string> = {};
  run(accepted);
  const tried = new Set<string>();
  for (let untried = [...read]; untried.length > 0; untried = [...read].filter((n) => !tried.has(n))) {
    for (const name of untried) {
      tried.add(name);
      const candidate = { ...accepted, [name]: '1' };
      try {
        run(candidate);
        accepted[name] = '1';
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
      }
    }
  }
  return read;
}

/** The variables in the first column of the doc's table (the one whose header starts with "variable"). */
function documentedVariables(): string[] {
  const lines = readFileSync(path.join(ROOT, DOC), 'utf8').split('\n');
  const header = lines.findIndex((line) => /^\|\s*variable\s*\|/.test(line));
  if (header < 0) throw new Error(`${DOC} has no table with a "variable" column`);
  const rows = lines.slice(header + 2);
  const end = rows.findIndex((line) => !line.startsWith('|'));
  return rows
    .slice(0, end < 0 ? rows.length : end)
    .flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1] ?? ''));
}

describe(`${DOC}`, () => {
  const read = variablesReadByLoadConfig();
  const documented = documentedVariables();

  it('finds the variables loadConfig reads, including those read only once another is set', () => {
    expect(read).toContain('PORT');
    expect(read).toContain('TRIBUTARY_REDSHIFT_COPY_MAX_FILES');
  });

  it('lists every variable loadConfig reads', () => {
    expect([...read].filter((name) => !documented.includes(name)).sort()).toEqual([]);
  });

  it('lists each variable once', () => {
    expect(documented.filter((name, i) => documented.indexOf(name) !== i)).toEqual([]);
  });

  it('lists only TRIBUTARY_* variables that loadConfig reads, or that are known to be read elsewhere', () => {
    const elsewhere = new Set(READ_ELSEWHERE.map((e) => e.name));
    const unread = documented.filter(
      (name) => name.startsWith('TRIBUTARY_') && !read.has(name) && !elsewhere.has(name),
    );
    expect(unread).toEqual([]);
  });

  it.each(READ_ELSEWHERE)('$name is documented and read in $readIn', ({ name, readIn }) => {
    expect(documented).toContain(name);
    expect(readFileSync(path.join(ROOT, readIn), 'utf8')).toContain(`process.env.${name}`);
  });
});

/**
 * `npm run lint` runs this after dependency-cruiser: no import cycle between folders, where a
 * folder is a stage or layer (`src/<name>`, and `src/sinks/<stage>` for the delivery targets).
 * dependency-cruiser's own `no-circular` rule sees cycles between modules only; two folders that
 * import each other through different modules are a cycle of layers all the same.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

interface CruiseResult {
  modules: Array<{ source: string; dependencies: Array<{ resolved: string }> }>;
}

const ROOT = path.join(__dirname, '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** The folder a module belongs to, or undefined outside the layered source. */
export function folderOf(modulePath: string): string | undefined {
  return /^src\/(?:sinks\/[^/]+|[^/]+)(?=\/)/.exec(modulePath)?.[0];
}

/** Every set of folders that import each other in a cycle (Tarjan's strongly connected components). */
export function folderCycles(result: CruiseResult): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const module of result.modules) {
    const from = folderOf(module.source);
    if (from === undefined) continue;
    for (const dependency of module.dependencies) {
      const to = folderOf(dependency.resolved);
      if (to === undefined || to === from) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)?.add(to);
    }
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (folder: string): void => {
    index.set(folder, index.size);
    low.set(folder, index.get(folder) ?? 0);
    stack.push(folder);
    onStack.add(folder);
    for (const next of edges.get(folder) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(folder, Math.min(low.get(folder) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(folder, Math.min(low.get(folder) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(folder) !== index.get(folder)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      component.push(member);
    } while (member !== folder);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const folder of edges.keys()) if (!index.has(folder)) visit(folder);
  return cycles;
}

/** dependency-cruiser's module graph of `src` under `cwd` (its own rule violations are ignored here). */
export function cruise(cwd: string): CruiseResult {
  let output: string;
  try {
    output = execFileSync(
      process.execPath,
      [DEPCRUISE, 'src', '--no-config', '--output-type', 'json', '--ts-pre-compilation-deps'],
      {
        cwd,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? '');
  }
  return JSON.parse(output) as CruiseResult;
}

if (require.main === module) {
  const cycles = folderCycles(cruise(ROOT));
  if (cycles.length > 0) {
    for (const cycle of cycles) console.error(`folders import each other: ${cycle.join(' ↔ ')}`);
    process.exit(1);
  }
  console.log('no import cycle between folders');
}

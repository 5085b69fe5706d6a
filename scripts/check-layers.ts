/**
 * The layer and cycle check `npm run lint` runs on the product (src/ and workers/):
 * - the module rules of `.dependency-cruiser.cjs` (pure decisions, engine layers, no cycles);
 * - no folder-level value cycle: if a module of folder A imports one of folder B, no module of B
 *   may reach back into A, whichever files carry the imports. A folder is `src/<name>` (with
 *   `src/engine/<role>` each its own), `workers`, and each file directly under src/ stands alone
 *   (`errors.ts`, `config.ts` are leaves everything imports; `cli.ts` is the entry).
 *
 * One dependency-cruiser run serves both. Only value imports count (`tsPreCompilationDeps:
 * false`): a type-only import is erased at build time and creates no runtime cycle, so shared
 * types may sit anywhere, and shared values move to leaf files.
 *
 * Run with `npx tsx scripts/check-layers.ts`.
 */
import { cruise, format, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { pathToFileURL } from 'node:url';

export const ROOTS = ['src', 'workers'];

/** The folder a module belongs to for the cycle rule; undefined outside the product. */
export function folderOf(modulePath: string): string | undefined {
  const parts = modulePath.split('/');
  if (parts[0] === 'workers') return 'workers';
  if (parts[0] !== 'src') return undefined;
  if (parts.length === 2) return modulePath;
  if (parts[1] === 'engine' && parts.length > 3) return parts.slice(0, 3).join('/');
  return parts.slice(0, 2).join('/');
}

export interface FolderCycle {
  folders: string[];
  /** One module import per folder edge inside the cycle, so the fix can start from a file. */
  edges: string[];
}

/** Strongly connected groups of folders (Tarjan), each with an example import per edge. */
export function folderCycles(modules: ICruiseResult['modules']): FolderCycle[] {
  const evidence = new Map<string, string>();
  const next = new Map<string, Set<string>>();
  for (const module of modules) {
    const from = folderOf(module.source);
    if (from === undefined) continue;
    for (const dependency of module.dependencies) {
      if (dependency.coreModule || dependency.couldNotResolve) continue;
      const to = folderOf(dependency.resolved);
      if (to === undefined || to === from) continue;
      if (!next.has(from)) next.set(from, new Set());
      next.get(from)!.add(to);
      const key = `${from} -> ${to}`;
      if (!evidence.has(key)) evidence.set(key, `${module.source} -> ${dependency.resolved}`);
    }
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return groups.map((folders) => {
    const inside = new Set(folders);
    const edges = [...evidence]
      .filter(([key]) => {
        const [from, to] = key.split(' -> ');
        return inside.has(from!) && inside.has(to!);
      })
      .map(([key, example]) => `${key}  (${example})`);
    return { folders, edges };
  });
}

async function main(): Promise<number> {
  const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
  const result = await cruise(ROOTS, options, {}, { tsConfig: extractTSConfig('tsconfig.json') });
  const output = result.output as ICruiseResult;
  const report = await format(output, { outputType: 'err' });
  const cycles = folderCycles(output.modules);
  if (report.exitCode !== 0) process.stderr.write(String(report.output));
  for (const cycle of cycles) {
    process.stderr.write(`error folder-cycle: ${cycle.folders.join(' <-> ')}\n`);
    for (const edge of cycle.edges) process.stderr.write(`    ${edge}\n`);
  }
  return report.exitCode !== 0 || cycles.length > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}

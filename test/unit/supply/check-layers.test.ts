import { describe, expect, it } from 'vitest';
import type { ICruiseResult } from 'dependency-cruiser';
import { folderCycles, folderOf } from '../../../scripts/check-layers.js';

type Modules = ICruiseResult['modules'];

/** A cruise result's modules from `from -> [to, ...]` pairs (only what folderCycles reads). */
function modules(graph: Record<string, string[]>): Modules {
  return Object.entries(graph).map(([source, targets]) => ({
    source,
    dependencies: targets.map((resolved) => ({ resolved, coreModule: false, couldNotResolve: false })),
  })) as unknown as Modules;
}

describe('folderOf', () => {
  it('groups by src/<name>, engine roles apart, files under src/ alone', () => {
    expect(folderOf('src/api/runs-routes.ts')).toBe('src/api');
    expect(folderOf('src/gates/zap/zap-gate.ts')).toBe('src/gates');
    expect(folderOf('src/engine/stages/deploy/deploy-stage.ts')).toBe('src/engine/stages');
    expect(folderOf('src/engine/readme.ts')).toBe('src/engine');
    expect(folderOf('src/errors.ts')).toBe('src/errors.ts');
    expect(folderOf('workers/index.ts')).toBe('workers');
    expect(folderOf('node_modules/ioredis/built/index.js')).toBeUndefined();
  });
});

describe('folderCycles', () => {
  it('finds a cycle carried by different files on each side', () => {
    const cycles = folderCycles(
      modules({
        'src/api/a.ts': ['src/server/context.ts', 'src/errors.ts'],
        'src/server/plugins.ts': ['src/api/b.ts'],
        'src/server/context.ts': ['src/errors.ts'],
      }),
    );
    expect(cycles).toEqual([
      {
        folders: ['src/api', 'src/server'],
        edges: [
          'src/api -> src/server  (src/api/a.ts -> src/server/context.ts)',
          'src/server -> src/api  (src/server/plugins.ts -> src/api/b.ts)',
        ],
      },
    ]);
  });

  it('accepts a layered graph, and imports inside one folder', () => {
    expect(
      folderCycles(
        modules({
          'src/engine/stages/x.ts': ['src/engine/progress/y.ts', 'src/engine/stages/deploy/z.ts'],
          'src/engine/stages/deploy/z.ts': ['src/engine/stages/x.ts'],
          'src/engine/progress/y.ts': ['src/errors.ts'],
          'src/cli.ts': ['src/commands/c.ts'],
          'src/commands/c.ts': ['src/errors.ts'],
        }),
      ),
    ).toEqual([]);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkDependencies,
  checkRepository,
  importsOf,
  packageOf,
} from '../../../scripts/check-dependencies.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A tiny repository: package.json plus files, so the check runs exactly as CI runs it. */
function repo(manifest: object, files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-deps-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

const clean = {
  manifest: { dependencies: { zod: '^4' }, devDependencies: { vitest: '^4', autocannon: '^8' } },
  files: {
    'src/a.ts': "import { z } from 'zod';\nexport const s = z.string();\n",
    'test/a.test.ts': "import { it } from 'vitest';\nimport { s } from '../src/a.js';\nit('x', () => s);\n",
    'bench/b.ts':
      "import { createRequire } from 'node:module';\nconst ac = createRequire(import.meta.url)('autocannon');\n",
  },
};

describe('check-dependencies', () => {
  it('passes a repository whose declarations match its imports', () => {
    expect(checkRepository(repo(clean.manifest, clean.files))).toEqual([]);
  });

  it('fails on a planted runtime dependency that nothing imports', () => {
    const manifest = {
      ...clean.manifest,
      dependencies: { ...clean.manifest.dependencies, '@octokit/webhooks': '^14' },
    };
    expect(checkRepository(repo(manifest, clean.files))).toEqual([
      expect.objectContaining({ kind: 'unused', name: '@octokit/webhooks' }),
    ]);
  });

  it('fails on a runtime dependency that only tests import (misplaced)', () => {
    const manifest = {
      ...clean.manifest,
      dependencies: { ...clean.manifest.dependencies, '@octokit/webhooks-methods': '^6' },
    };
    const files = { ...clean.files, 'test/sign.ts': "export { sign } from '@octokit/webhooks-methods';\n" };
    expect(checkRepository(repo(manifest, files))).toEqual([
      expect.objectContaining({ kind: 'misplaced', name: '@octokit/webhooks-methods' }),
    ]);
  });

  it('fails on a planted import of an undeclared package, and on shipped code importing a devDependency', () => {
    const files = {
      ...clean.files,
      'src/planted.ts': "import left from 'left-pad';\nimport ac from 'autocannon';\nexport { left, ac };\n",
    };
    const problems = checkRepository(repo(clean.manifest, files));
    expect(problems.map((p) => [p.kind, p.name])).toEqual([
      ['dev-in-production', 'autocannon'],
      ['unlisted', 'left-pad'],
    ]);
  });

  it('lets a type-only import in shipped code use a devDependency', () => {
    const files = {
      ...clean.files,
      'src/t.ts': "import type { Options } from 'autocannon';\nexport type O = Options;\n",
    };
    expect(checkRepository(repo(clean.manifest, files))).toEqual([]);
  });

  it('fails on a devDependency nothing uses unless it is a named tool', () => {
    const manifest = {
      ...clean.manifest,
      devDependencies: { ...clean.manifest.devDependencies, probot: '^14' },
    };
    expect(checkRepository(repo(manifest, clean.files)).map((p) => [p.kind, p.name])).toEqual([
      ['unused', 'probot'],
    ]);
    expect(
      checkDependencies(manifest, [], [], { vitest: 'tests', autocannon: 'bench', probot: 'x' }),
    ).toEqual([expect.objectContaining({ kind: 'unused', name: 'zod' })]);
  });

  it('reads static, dynamic, re-exported, required and computed imports', () => {
    const text = [
      "import type { A } from '@scope/types-only';",
      "import { type B } from 'all-type-names';",
      "export * from 'reexported/sub';",
      "const m = await import('dynamic');",
      "const dir = 'v1';",
      'const specifier = `kubernetes-models/${dir}/Pod`;',
      'await import(specifier);',
      "const url = new URL('../node_modules/@octokit/webhooks-examples/index.json', import.meta.url);",
      "const p = path.resolve('not-a-package');",
    ].join('\n');
    const uses = importsOf('x.ts', text).map((u) => [packageOf(u.specifier), u.typeOnly]);
    expect(uses).toEqual([
      ['@scope/types-only', true],
      ['all-type-names', true],
      ['reexported', false],
      ['dynamic', false],
      ['kubernetes-models', false],
      ['@octokit/webhooks-examples', false],
    ]);
  });

  it('passes on this repository, and its CLI exits 1 on a planted unused import', () => {
    // The real package.json and tree: the same run as CI's.
    expect(checkRepository(process.cwd())).toEqual([]);
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
      dependencies: Record<string, string>;
    };
    manifest.dependencies['left-pad'] = '^1.3.0';
    const dir = repo(manifest, { 'src/only.ts': "import 'zod';\n" });
    let status = 0;
    try {
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/check-dependencies.ts', dir], {
        stdio: 'pipe',
      });
    } catch (err) {
      status = (err as { status: number }).status;
      expect(String((err as { stderr: Buffer }).stderr)).toMatch(
        /unused: left-pad is a dependency that nothing imports/,
      );
    }
    expect(status).toBe(1);
  }, 180_000);
});

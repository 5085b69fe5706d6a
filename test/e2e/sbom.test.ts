import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_LICENCES, checkLicences, expressionAllowed } from '../../scripts/check-licences.js';

interface LockEntry {
  name?: string;
  version: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
}
interface Component {
  name: string;
  group?: string;
  version: string;
  purl?: string;
  licenses?: { license?: { id?: string } }[];
}

const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-sbom-'));
const file = path.join(dir, 'sbom.cdx.json');
let components: Component[];

beforeAll(() => {
  // The same script CI runs; it installs the production tree from the lock file (npm's cache).
  execFileSync('scripts/generate-sbom.sh', [file], { stdio: 'pipe' });
  const sbom = JSON.parse(readFileSync(file, 'utf8')) as { bomFormat: string; components: Component[] };
  expect(sbom.bomFormat).toBe('CycloneDX');
  components = sbom.components;
}, 600_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockEntry> };
const entries = Object.entries(lock.packages)
  .filter(([key]) => key !== '')
  .map(([key, entry]) => ({
    ...entry,
    name: entry.name ?? key.slice(key.lastIndexOf('node_modules/') + 13),
  }));
const fits = (entry: LockEntry) =>
  (entry.os === undefined || entry.os.includes(process.platform)) &&
  (entry.cpu === undefined || entry.cpu.includes(process.arch));
const idOf = (c: Component) => `${c.group ? `${c.group}/` : ''}${c.name}@${c.version}`;

describe('the production SBOM', { timeout: 600_000 }, () => {
  it('lists every production package of the lock file at its locked version', () => {
    const listed = new Set(components.map(idOf));
    // Required packages, and optional ones this platform installs (the image's platform builds its own).
    const production = entries.filter((e) => !e.dev && (!(e.optional || e.devOptional) || fits(e)));
    expect(production.length).toBeGreaterThan(200);
    expect(production.map((e) => `${e.name}@${e.version}`).filter((id) => !listed.has(id))).toEqual([]);
    for (const name of [
      'fastify',
      'bullmq',
      '@octokit/app',
      '@octokit/auth-app',
      '@kubernetes/client-node',
      'zod',
    ]) {
      const locked = lock.packages[`node_modules/${name}`]!.version;
      expect(listed.has(`${name}@${locked}`), `${name}@${locked}`).toBe(true);
    }
  });

  it('lists none of the development packages', () => {
    const production = new Set(entries.filter((e) => !e.dev).map((e) => `${e.name}@${e.version}`));
    const devOnly = components.map(idOf).filter((id) => !production.has(id));
    expect(devOnly).toEqual([]);
    const names = new Set(components.map((c) => (c.group ? `${c.group}/${c.name}` : c.name)));
    for (const dev of ['vitest', 'typescript', 'eslint', 'probot', '@octokit/webhooks-examples', 'tsx']) {
      expect(names.has(dev), dev).toBe(false);
    }
  });

  it('passes the licence check, which fails on a planted copyleft component', () => {
    expect(checkLicences({ components })).toEqual([]);
    const planted = [
      ...components,
      { name: 'readline-gpl', version: '1.0.0', licenses: [{ license: { id: 'GPL-3.0-only' } }] },
      { name: 'mystery', version: '0.0.1' },
    ];
    expect(checkLicences({ components: planted })).toEqual([
      { component: 'readline-gpl@1.0.0', licences: ['GPL-3.0-only'] },
      { component: 'mystery@0.0.1', licences: [] },
    ]);
    const cli = () =>
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/check-licences.ts', file], {
        stdio: 'pipe',
      });
    expect(cli).not.toThrow();
  });
});

describe('licence expressions', () => {
  it('reads OR, AND and WITH as SPDX does', () => {
    expect(expressionAllowed('(MIT OR GPL-3.0-only)')).toBe(true);
    expect(expressionAllowed('MIT AND GPL-2.0-only')).toBe(false);
    expect(expressionAllowed('Apache-2.0 WITH LLVM-exception')).toBe(true);
    expect(expressionAllowed('LGPL-2.1-or-later')).toBe(false);
    expect(ALLOWED_LICENCES.has('AGPL-3.0-only')).toBe(false);
  });
});

import { writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GitopsManifestsInvalid,
  GitopsPathUnsafe,
  GitopsRenderFailed,
  GitopsSourceTooLarge,
  type ShipgateError,
} from '../../../src/errors.js';
import { GitCli } from '../../../src/git/git-cli.js';
import { releaseToEnvironment } from '../../../src/gitops/prepare-environment.js';
import type { ManifestSource } from '../../../src/gitops/types.js';
import { createEnvRepo, type EnvRepo } from '../../support/env-repo.js';

/**
 * Every hostile input goes through the whole release step (render → validate → commit) and
 * must fail with a typed error before git is touched: the env repo's branch never moves.
 */

const APPS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/apps');

describe('hostile inputs are refused and nothing is written', () => {
  let root: string;
  let checkout: string;
  let outside: string;
  let repo: EnvRepo;
  let headBefore: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'shipgate-hostile-'));
    checkout = path.join(root, 'app');
    outside = path.join(root, 'outside');
    await cp(path.join(APPS, 'web'), checkout, { recursive: true });
    await mkdir(outside);
    await writeFile(
      path.join(outside, 'stolen.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen\ndata:\n  secret: from-outside\n',
    );
    await writeFile(path.join(outside, 'kustomization.yaml'), 'resources:\n  - stolen.yaml\n');
    repo = await createEnvRepo();
    headBefore = await repo.head();
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await repo.cleanup();
  });

  const release = (source: ManifestSource) =>
    releaseToEnvironment(
      { git: new GitCli(), remote: { url: repo.url }, workDir: repo.workDir },
      {
        checkoutDir: checkout,
        source,
        target: { app: 'web', env: 'staging', path: 'apps/web/staging', namespace: 'web-staging' },
        image: { repository: 'ghcr.io/acme/web', tag: '9.9.9' },
        trailers: {
          shipgateRun: 'run-hostile',
          sourceRepo: 'acme/web',
          sourceCommit: 'f'.repeat(40),
          gates: 'tests=passed',
        },
      },
    ).then(
      () => {
        throw new Error('expected a refusal');
      },
      (err: ShipgateError) => err,
    );

  const expectRefused = async (
    source: ManifestSource,
    factory: { is(e: unknown): boolean },
    pattern: RegExp,
  ) => {
    const err = await release(source);
    expect(factory.is(err), `${JSON.stringify(source)} → ${err.code}: ${err.message}`).toBe(true);
    expect(err.message).toMatch(pattern);
    expect(await repo.head()).toBe(headBefore);
  };

  it('path traversal and absolute paths in the manifest source', async () => {
    await expectRefused({ directory: '../outside' }, GitopsPathUnsafe, /must not contain "\.\."/);
    await expectRefused({ kustomize: 'deploy/../../outside' }, GitopsPathUnsafe, /\.\./);
    await expectRefused({ directory: outside }, GitopsPathUnsafe, /must be relative/);
    await expectRefused({ directory: '.git' }, GitopsPathUnsafe, /\.git/);
  });

  it('a kustomization that reaches outside the checkout or to the network', async () => {
    const overlay = path.join(checkout, 'deploy/overlays/evil');
    await mkdir(overlay, { recursive: true });
    await writeFile(
      path.join(overlay, 'kustomization.yaml'),
      `resources:\n  - ../../base\n  - ../../../../outside\n`,
    );
    await expectRefused(
      { kustomize: 'deploy/overlays/evil' },
      GitopsPathUnsafe,
      /outside the app repository/,
    );
    await writeFile(
      path.join(overlay, 'kustomization.yaml'),
      `resources:\n  - https://github.com/acme/evil//base?ref=main\n`,
    );
    await expectRefused(
      { kustomize: 'deploy/overlays/evil' },
      GitopsPathUnsafe,
      /remote references are not allowed/,
    );
    await writeFile(
      path.join(overlay, 'kustomization.yaml'),
      `configMapGenerator:\n  - name: passwd\n    files:\n      - passwd=/etc/passwd\n`,
    );
    await expectRefused({ kustomize: 'deploy/overlays/evil' }, GitopsPathUnsafe, /absolute paths/);
  });

  it('symlinks in the app repo that point outside', async () => {
    await symlink(outside, path.join(checkout, 'linked-dir'));
    await expectRefused({ directory: 'linked-dir' }, GitopsPathUnsafe, /symlink/);
    await expectRefused({ kustomize: 'linked-dir' }, GitopsPathUnsafe, /symlink/);

    const plain = path.join(checkout, 'plain');
    await mkdir(plain);
    await symlink(path.join(outside, 'stolen.yaml'), path.join(plain, 'stolen.yaml'));
    await expectRefused({ directory: 'plain' }, GitopsPathUnsafe, /symlink that points outside/);

    const overlay = path.join(checkout, 'deploy/overlays/linked-base');
    await mkdir(overlay, { recursive: true });
    await symlink(outside, path.join(checkout, 'deploy/evil-base'));
    await writeFile(path.join(overlay, 'kustomization.yaml'), 'resources:\n  - ../../evil-base\n');
    await expectRefused(
      { kustomize: 'deploy/overlays/linked-base' },
      GitopsPathUnsafe,
      /outside the app repository/,
    );
  });

  it('a manifest folder of 10,000 files', async () => {
    const many = path.join(checkout, 'many');
    await mkdir(many);
    const doc = (i: number) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${i}\n`;
    // Synchronous writes: an order of magnitude faster than 10,000 queued async ones.
    for (let i = 0; i < 10_000; i++) writeFileSync(path.join(many, `cm-${i}.yaml`), doc(i));
    const started = Date.now();
    await expectRefused({ directory: 'many' }, GitopsSourceTooLarge, /500 YAML files/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a 50 MB YAML file', async () => {
    const big = path.join(checkout, 'big');
    await mkdir(big);
    const line = 'k: "' + 'x'.repeat(1000) + '"\n';
    await writeFile(
      path.join(big, 'huge.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n' + `  ${line}`.repeat(50_000),
    );
    await expectRefused({ directory: 'big' }, GitopsSourceTooLarge, /huge\.yaml \(\d{8} bytes\)/);
  });

  it('YAML aliases that explode (billion laughs)', async () => {
    const bomb = path.join(checkout, 'bomb');
    await mkdir(bomb);
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    await writeFile(
      path.join(bomb, 'bomb.yaml'),
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n${levels.map((l) => `  ${l}`).join('\n')}\n`,
    );
    const started = Date.now();
    const err = await release({ directory: 'bomb' });
    expect(GitopsManifestsInvalid.is(err), err.message).toBe(true);
    expect(err.message).toMatch(/bomb\.yaml.*alias/i);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await repo.head()).toBe(headBefore);
  });

  it('a kustomization that fails to build names the overlay', async () => {
    const overlay = path.join(checkout, 'deploy/overlays/missing');
    await mkdir(overlay, { recursive: true });
    await writeFile(path.join(overlay, 'kustomization.yaml'), 'resources:\n  - not-there.yaml\n');
    await expectRefused(
      { kustomize: 'deploy/overlays/missing' },
      GitopsRenderFailed,
      /deploy\/overlays\/missing.*not-there\.yaml/s,
    );
  });
});

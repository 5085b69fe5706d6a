import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitCli } from '../../../src/git/git-cli.js';
import { releaseToEnvironment } from '../../../src/gitops/prepare-environment.js';
import { previewManifestDiffs, type PreviewEnvironment } from '../../../src/gitops/preview-diff.js';
import type { EnvRepoOptions } from '../../../src/gitops/write-env-path.js';
import { createEnvRepo, type EnvRepo } from '../../support/env-repo.js';

const APPS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/apps');

describe('previewManifestDiffs', () => {
  let repo: EnvRepo;
  let options: EnvRepoOptions;
  let checkout: string;
  const envs: PreviewEnvironment[] = ['staging', 'production'].map((env) => ({
    target: { app: 'web', env, path: `apps/web/${env}`, namespace: `web-${env}`, requireBlueGreen: true },
    source: { kustomize: `deploy/overlays/${env}` },
  }));

  beforeAll(async () => {
    repo = await createEnvRepo();
    options = { git: new GitCli(), remote: { url: repo.url }, workDir: repo.workDir };
    checkout = await mkdtemp(path.join(tmpdir(), 'shipgate-preview-'));
    await cp(path.join(APPS, 'web'), checkout, { recursive: true });
    // Production is live; staging has never been deployed.
    await releaseToEnvironment(options, {
      checkoutDir: checkout,
      source: envs[1]!.source,
      target: envs[1]!.target,
      image: { repository: 'ghcr.io/acme/web', tag: '0.0.0' },
      trailers: {
        shipgateRun: 'run-1',
        sourceRepo: 'acme/web',
        sourceCommit: '1'.repeat(40),
        gates: 'tests=passed',
      },
    });
  });
  afterAll(async () => {
    await repo.cleanup();
    await rm(checkout, { recursive: true, force: true });
  });

  it('diffs each environment against the env repo without writing', async () => {
    await writeFile(
      path.join(checkout, 'deploy/overlays/production/replicas.yaml'),
      'apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\nspec:\n  replicas: 6\n',
    );
    const head = await repo.head();
    const result = await previewManifestDiffs(options, { checkoutDir: checkout, environments: envs });
    expect(await repo.head()).toBe(head);
    expect(result.conclusion).toBe('success');
    const [staging, production] = result.environments;
    expect(staging!.diff!.added).toEqual([
      'configmap-web-config.yaml',
      'rollout-web.yaml',
      'service-web-active.yaml',
      'service-web-preview.yaml',
    ]);
    expect(production!.diff).toMatchObject({
      added: [],
      changed: ['rollout-web.yaml'],
      removed: [],
      unchanged: 3,
      truncated: false,
    });
    expect(production!.diff!.patch).toContain('--- a/apps/web/production/rollout-web.yaml');
    expect(production!.diff!.patch).toMatch(/^- {2}replicas: 4$/m);
    expect(production!.diff!.patch).toMatch(/^\+ {2}replicas: 6$/m);
    expect(result.title).toBe('Manifests change in staging, production');
    expect(result.summary).toContain('| production | `apps/web/production` | valid | 0 | 1 | 0 |');
    expect(result.text).toContain('```diff\n');
  });

  it('cuts long diffs and says what it cut', async () => {
    const result = await previewManifestDiffs(options, {
      checkoutDir: checkout,
      environments: envs,
      diffLimits: { maxChars: 900, maxLinesPerFile: 12 },
    });
    const staging = result.environments[0]!.diff!;
    expect(staging.truncated).toBe(true);
    expect(staging.patch).toMatch(/more lines of configmap-web-config\.yaml not shown|not shown/);
    expect(staging.patch.length).toBeLessThan(1400);
    expect(result.text).toContain('The diff was cut to fit');
  });

  it('fails the check with annotations on the source files', async () => {
    await writeFile(
      path.join(checkout, 'deploy/overlays/staging/kustomization.yaml'),
      'namespace: somewhere-else\nresources:\n  - ../../base\n',
    );
    await writeFile(
      path.join(checkout, 'deploy/overlays/production/kustomization.yaml'),
      'resources:\n  - missing.yaml\n',
    );
    const result = await previewManifestDiffs(options, { checkoutDir: checkout, environments: envs });
    expect(result.conclusion).toBe('failure');
    expect(result.environments.map((e) => e.status)).toEqual(['invalid', 'error']);
    expect(result.annotations).toContainEqual(
      expect.objectContaining({
        path: 'deploy/overlays/staging/kustomization.yaml',
        annotation_level: 'failure',
        title: 'staging: rollout-web.yaml metadata.namespace',
        message: 'namespace "somewhere-else" is not this environment\'s (expected web-staging)',
      }),
    );
    expect(result.annotations).toContainEqual(
      expect.objectContaining({
        path: 'deploy/overlays/production/kustomization.yaml',
        annotation_level: 'failure',
        start_line: 1,
      }),
    );
    expect(result.title).toBe('Manifests invalid in staging, production');
  });
});

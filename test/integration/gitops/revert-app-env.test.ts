import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitCli } from '../../../src/git/git-cli.js';
import { commitToEnvRepo } from '../../../src/gitops/commit-to-env-repo.js';
import { listPathHistory, readLive } from '../../../src/gitops/read-live.js';
import { revertAppEnv } from '../../../src/gitops/revert-app-env.js';
import type { EnvRepoOptions } from '../../../src/gitops/write-env-path.js';
import { createEnvRepo, type EnvRepo } from '../../support/env-repo.js';

const release = (options: EnvRepoOptions, app: string, env: string, version: string, run: string) =>
  commitToEnvRepo(options, {
    path: `apps/${app}/${env}`,
    app,
    env,
    files: [
      { name: `rollout-${app}.yaml`, content: `kind: Rollout\nimage: ghcr.io/acme/${app}:${version}\n` },
    ],
    trailers: {
      shipgateRun: run,
      sourceRepo: `acme/${app}`,
      sourceCommit: version.padEnd(40, '0'),
      image: `ghcr.io/acme/${app}:${version}`,
      gates: 'tests=passed',
    },
  });

describe('readLive and revertAppEnv', () => {
  let repo: EnvRepo;
  let options: EnvRepoOptions;

  beforeEach(async () => {
    repo = await createEnvRepo();
    // A small lookback so the searches below must deepen past the shallow boundary.
    options = { git: new GitCli(), remote: { url: repo.url }, workDir: repo.workDir, lookback: 2 };
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('reads what is live from the trailers, through a shallow boundary', async () => {
    const good = await release(options, 'web', 'production', '1.0.0', 'run-1');
    for (let i = 0; i < 5; i++)
      await repo.commitFiles({ [`apps/other/staging/f${i}.yaml`]: `i: ${i}\n` }, `other ${i}`);
    const live = await readLive(options, { path: 'apps/web/production' });
    expect(live).toMatchObject({
      commit: good.commit,
      run: 'run-1',
      image: 'ghcr.io/acme/web:1.0.0',
      sourceRepo: 'acme/web',
      sourceCommit: '1.0.0'.padEnd(40, '0'),
      gates: 'tests=passed',
      approvedBy: [],
    });
    expect(await readLive(options, { path: 'apps/nothing/here' })).toBeNull();
  });

  it('restores exactly one app and environment, once, and never reverts a good commit', async () => {
    const good = await release(options, 'web', 'production', '1.0.0', 'run-1');
    await release(options, 'web', 'staging', '2.0.0', 'run-2');
    await release(options, 'api', 'production', '7.0.0', 'run-3');
    const bad = await release(options, 'web', 'production', '2.0.0', 'run-2');
    await repo.commitFiles({ 'apps/api/production/extra.yaml': 'x: 1\n' }, 'a person edits api');
    const before = await repo.head();

    const result = await revertAppEnv(options, {
      path: 'apps/web/production',
      badCommit: bad.commit!,
      runId: 'run-2',
      reason: 'AnalysisRun web-2 failed: error rate 12% > 5%',
      app: 'web',
      env: 'production',
    });
    expect(result, JSON.stringify({ result, bad, good })).toMatchObject({
      status: 'reverted',
      reverted: bad.commit,
      restored: good.commit,
    });
    const after = await repo.head();
    expect(result.commit).toBe(after);
    expect(await repo.show(after, 'apps/web/production/rollout-web.yaml')).toBe(
      'kind: Rollout\nimage: ghcr.io/acme/web:1.0.0\n',
    );
    // The tree of the path equals the good commit's; everything else equals the previous tip.
    const treeOf = async (rev: string, p: string) => (await repo.git(['rev-parse', `${rev}:${p}`])).trim();
    expect(await treeOf(after, 'apps/web/production')).toBe(
      await treeOf(good.commit!, 'apps/web/production'),
    );
    for (const p of ['apps/web/staging', 'apps/api', 'README.md'])
      expect(await treeOf(after, p)).toBe(await treeOf(before, p));

    const live = await readLive(options, { path: 'apps/web/production' });
    expect(live).toMatchObject({
      reverts: bad.commit,
      restores: good.commit,
      image: 'ghcr.io/acme/web:1.0.0',
      run: 'run-2',
    });

    // Retried job: one revert commit only.
    const again = await revertAppEnv(options, {
      path: 'apps/web/production',
      badCommit: bad.commit!,
      runId: 'run-2',
      reason: 'retry',
    });
    expect(again).toMatchObject({ status: 'already-reverted', commit: after });
    expect(await repo.head()).toBe(after);

    // A new good release lands; a late revert of the old bad commit must do nothing.
    const newer = await release(options, 'web', 'production', '2.0.1', 'run-4');
    const late = await revertAppEnv(options, {
      path: 'apps/web/production',
      badCommit: bad.commit!,
      runId: 'run-5',
      reason: 'late',
    });
    expect(late).toMatchObject({ status: 'not-live', commit: newer.commit });
    expect(late.explanation).toMatch(/not live/);
    expect(await repo.head()).toBe(newer.commit);
  });

  it('rolls back to an earlier commit, and removes a path that did not exist before', async () => {
    const v1 = await release(options, 'web', 'staging', '1.0.0', 'run-1');
    await release(options, 'web', 'staging', '1.1.0', 'run-2');
    const v3 = await release(options, 'web', 'staging', '1.2.0', 'run-3');
    const history = await listPathHistory(options, { path: 'apps/web/staging', limit: 10 });
    expect(history.map((h) => h.image)).toEqual([
      'ghcr.io/acme/web:1.2.0',
      'ghcr.io/acme/web:1.1.0',
      'ghcr.io/acme/web:1.0.0',
    ]);

    const rollback = await revertAppEnv(options, {
      path: 'apps/web/staging',
      toCommit: v1.commit!,
      runId: 'rollback-1',
      reason: 'manual rollback',
    });
    expect(rollback).toMatchObject({ status: 'reverted', reverted: v3.commit, restored: v1.commit });
    expect((await readLive(options, { path: 'apps/web/staging' }))?.image).toBe('ghcr.io/acme/web:1.0.0');

    const first = await release(options, 'fresh', 'staging', '0.1.0', 'run-9');
    const removed = await revertAppEnv(options, {
      path: 'apps/fresh/staging',
      badCommit: first.commit!,
      runId: 'run-9',
      reason: 'first release failed',
    });
    expect(removed).toMatchObject({ status: 'reverted', restored: null });
    expect(await repo.list(await repo.head(), 'apps/fresh/staging')).toEqual([]);
    expect(await repo.list(await repo.head(), 'apps/web/staging')).toEqual(['rollout-web.yaml']);
  });
});

import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitopsPathUnsafe, GitopsRequestInvalid, ShipgateError } from '../../../src/errors.js';
import { GitCli } from '../../../src/git/git-cli.js';
import { removeStaleScratchRepos } from '../../../src/git/scratch-repo.js';
import { commitToEnvRepo } from '../../../src/gitops/commit-to-env-repo.js';
import type { ReleaseTrailers } from '../../../src/gitops/commit-message.js';
import type { EnvRepoOptions } from '../../../src/gitops/write-env-path.js';
import { createRedisConnection } from '../../../src/redis/connection.js';
import { WriteTurns } from '../../../src/runs/write-turn.js';
import { createEnvRepo, git, type EnvRepo } from '../../support/env-repo.js';
import { TEST_REDIS_URL } from '../../support/redis.js';

const trailers = (run: string, over: Partial<ReleaseTrailers> = {}): ReleaseTrailers => ({
  shipgateRun: run,
  sourceRepo: 'acme/web',
  sourceCommit: 'a'.repeat(40),
  image: `ghcr.io/acme/web@sha256:${'b'.repeat(64)}`,
  gates: 'tests=passed trivy=passed zap=passed',
  ...over,
});

const files = (tag: string) => [
  {
    name: 'configmap-web.yaml',
    content: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  v: "${tag}"\n`,
  },
  { name: 'rollout-web.yaml', content: `kind: Rollout\nimage: ${tag}\n` },
];

describe('commitToEnvRepo', () => {
  let repo: EnvRepo;
  let options: EnvRepoOptions;

  beforeEach(async () => {
    repo = await createEnvRepo({
      initial: {
        'apps/api/staging/deployment-api.yaml': 'kind: Deployment\n',
        'apps/web/staging/old-file.yaml': 'kind: Stale\n',
        'shipgate/policy.yml': 'version: 1\n',
      },
    });
    options = {
      git: new GitCli(),
      remote: { url: repo.url },
      workDir: repo.workDir,
      backoff: { baseMs: 10, maxMs: 100 },
    };
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('replaces exactly the granted path and writes parseable trailers', async () => {
    const before = await repo.head();
    const result = await commitToEnvRepo(options, {
      path: 'apps/web/staging',
      app: 'web',
      env: 'staging',
      files: files('v1'),
      trailers: trailers('run-1', { approvedBy: ['U123', 'U456'] }),
    });
    expect(result.status).toBe('committed');
    expect(await repo.head()).toBe(result.commit);
    expect(await repo.list(result.commit!, 'apps/web/staging')).toEqual([
      'configmap-web.yaml',
      'rollout-web.yaml',
    ]);
    // Other paths keep their exact blobs and trees.
    for (const p of ['apps/api', 'shipgate', 'README.md']) {
      expect(await repo.git(['rev-parse', `${result.commit}:${p}`])).toBe(
        await repo.git(['rev-parse', `${before}:${p}`]),
      );
    }
    const message = await repo.git(['log', '-1', '--format=%B', result.commit!]);
    const parsed = await git(repo.root, ['interpret-trailers', '--parse'], message);
    expect(parsed.trim().split('\n')).toEqual([
      'Shipgate-Run: run-1',
      'Source-Repo: acme/web',
      `Source-Commit: ${'a'.repeat(40)}`,
      `Image: ghcr.io/acme/web@sha256:${'b'.repeat(64)}`,
      'Gates: tests=passed trivy=passed zap=passed',
      'Approved-by: U123',
      'Approved-by: U456',
    ]);
    expect(await repo.git(['log', '-1', '--format=%an <%ae>|%cn <%ce>', result.commit!])).toBe(
      'Shipgate <shipgate@users.noreply.github.com>|Shipgate <shipgate@users.noreply.github.com>\n',
    );
  });

  it('is idempotent: same run reuses its commit, same content makes no commit', async () => {
    const req = {
      path: 'apps/web/staging',
      app: 'web',
      env: 'staging',
      files: files('v1'),
      trailers: trailers('run-1'),
    };
    const first = await commitToEnvRepo(options, req);
    await repo.commitFiles({ 'apps/other/prod/x.yaml': 'x: 1\n' }, 'someone else');
    const again = await commitToEnvRepo(options, req);
    expect(again).toMatchObject({ status: 'reused', commit: first.commit });
    const sameContent = await commitToEnvRepo(options, { ...req, trailers: trailers('run-2') });
    expect(sameContent.status).toBe('unchanged');
    expect(sameContent.commit).toBe(await repo.head());
    expect((await repo.messages()).filter((m) => m.message.includes('Shipgate-Run'))).toHaveLength(1);
  });

  it('a crash between commit and push, then a retry, gives one commit', async () => {
    const req = {
      path: 'apps/web/staging',
      app: 'web',
      env: 'staging',
      files: files('v2'),
      trailers: trailers('run-crash'),
    };
    let localCommit: string | undefined;
    await expect(
      commitToEnvRepo(
        {
          ...options,
          hooks: { beforePush: async (c) => ((localCommit = c), Promise.reject(new Error('killed'))) },
        },
        req,
      ),
    ).rejects.toThrow('killed');
    expect(localCommit).toMatch(/^[0-9a-f]{40}$/);
    // Crash after the push landed but before the job recorded it.
    const pushed = await commitToEnvRepo(
      { ...options, hooks: { afterPush: () => Promise.reject(new Error('killed')) } },
      req,
    ).catch((e: Error) => e);
    expect(pushed).toBeInstanceOf(Error);
    const retry = await commitToEnvRepo(options, req);
    expect(retry.status).toBe('reused');
    const runCommits = (await repo.messages()).filter((m) => m.message.includes('Shipgate-Run: run-crash'));
    expect(runCommits).toHaveLength(1);
    expect(runCommits[0]!.sha).toBe(retry.commit);
  });

  it('a worker killed (SIGKILL) between commit and push, then retried, makes one commit', async () => {
    const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-before-push.child.ts');
    const killed = await new Promise<{ signal: string | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', child, repo.url, repo.workDir, 'run-killed'],
        (err, stdout) => resolve({ signal: (err as { signal?: string } | null)?.signal ?? null, stdout }),
      );
    });
    expect(killed.signal).toBe('SIGKILL');
    const orphan = killed.stdout.trim();
    expect(orphan).toMatch(/^[0-9a-f]{40}$/);
    const before = await repo.head();
    const req = { path: 'apps/web/staging', app: 'web', env: 'staging', trailers: trailers('run-killed') };
    const files = [{ name: 'rollout-web.yaml', content: 'kind: Rollout\nrun: run-killed\n' }];
    const retry = await commitToEnvRepo(options, { ...req, files });
    expect(retry.status).toBe('committed');
    expect(retry.commit).not.toBe(orphan);
    expect((await repo.git(['rev-list', `${before}..${retry.commit}`])).trim().split('\n')).toHaveLength(1);
    const again = await commitToEnvRepo(options, { ...req, files });
    expect(again).toMatchObject({ status: 'reused', commit: retry.commit });
    // The killed process left its scratch repository behind; maintenance sweeps it.
    expect(await removeStaleScratchRepos(repo.workDir, 0)).toBe(1);
    expect(await readdir(repo.workDir)).toEqual([]);
  });

  it('ten releases of different apps at once all land, without force', async () => {
    const apps = Array.from({ length: 10 }, (_, i) => `app${i}`);
    const results = await Promise.all(
      apps.map((app) =>
        commitToEnvRepo(
          { ...options, backoff: undefined },
          {
            path: `apps/${app}/staging`,
            app,
            env: 'staging',
            files: files(app),
            trailers: trailers(`run-${app}`),
          },
        ),
      ),
    );
    expect(results.every((r) => r.status === 'committed')).toBe(true);
    // Most writers lost at least one race, so the retry path really ran.
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    const head = await repo.head();
    for (const [i, app] of apps.entries()) {
      expect(await repo.show(head, `apps/${app}/staging/rollout-web.yaml`)).toBe(
        `kind: Rollout\nimage: ${app}\n`,
      );
      await repo.git(['merge-base', '--is-ancestor', results[i]!.commit!, head]);
    }
    // Every update of the branch was a fast-forward.
    const updates = await repo.reflog();
    expect(updates.length).toBeGreaterThanOrEqual(10);
    for (const u of updates) await repo.git(['merge-base', '--is-ancestor', u.old, u.new]);
    expect(await repo.list(head, 'apps/api/staging')).toEqual(['deployment-api.yaml']);
  });

  it('ten releases at once in turns (WriteTurns on Redis): each lands on its first push', async () => {
    const redis = createRedisConnection(TEST_REDIS_URL, 'worker');
    try {
      const turns = new WriteTurns(redis, { prefix: `test-turns-${process.pid}-${Date.now()}` });
      const inTurns = { ...options, backoff: undefined, writeTurn: turns.forRepo(repo.url) };
      const apps = Array.from({ length: 10 }, (_, i) => `app${i}`);
      const results = await Promise.all(
        apps.map((app) =>
          commitToEnvRepo(inTurns, {
            path: `apps/${app}/staging`,
            app,
            env: 'staging',
            files: files(app),
            trailers: trailers(`run-${app}`),
          }),
        ),
      );
      expect(results.map((r) => [r.status, r.attempts])).toEqual(apps.map(() => ['committed', 1]));
      const head = await repo.head();
      for (const app of apps)
        expect(await repo.show(head, `apps/${app}/staging/rollout-web.yaml`)).toBe(
          `kind: Rollout\nimage: ${app}\n`,
        );
    } finally {
      redis.disconnect();
    }
  });

  it('refuses unsafe paths and symlinks in the env repo, writing nothing', async () => {
    await repo.commitFiles({}, 'noop');
    // A symlink planted in the env repo that points outside.
    const seedLink = await repo.git(['hash-object', '-w', '--stdin'], '/etc');
    const headTree = (await repo.git(['rev-parse', `${await repo.head()}^{tree}`])).trim();
    const appsTree = (await repo.git(['rev-parse', `${headTree}:apps`])).trim();
    const appsEntries = await repo.git(['ls-tree', appsTree]);
    const newApps = (
      await repo.git(['mktree'], `${appsEntries}120000 blob ${seedLink.trim()}\tevil\n`)
    ).trim();
    const rootEntries = (await repo.git(['ls-tree', headTree])).replace(appsTree, newApps);
    const newRoot = (await repo.git(['mktree'], rootEntries)).trim();
    const commit = (
      await repo.git(['commit-tree', newRoot, '-p', await repo.head(), '-m', 'plant symlink'])
    ).trim();
    await repo.git(['update-ref', 'refs/heads/main', commit]);
    const before = await repo.head();

    const attempt = (path: string) =>
      commitToEnvRepo(options, {
        path,
        app: 'x',
        env: 'staging',
        files: files('evil'),
        trailers: trailers('run-evil'),
      });
    for (const bad of ['../outside', '/etc/passwd', 'apps/../../x', 'apps/.git/hooks', '']) {
      const err = await attempt(bad).catch((e: unknown) => e);
      expect(GitopsPathUnsafe.is(err), `${bad}: ${String(err)}`).toBe(true);
    }
    const viaLink = await attempt('apps/evil/staging').catch((e: unknown) => e);
    expect(GitopsPathUnsafe.is(viaLink)).toBe(true);
    expect((viaLink as ShipgateError).message).toMatch(/symlink/);
    expect(await repo.head()).toBe(before);
    const empty = await commitToEnvRepo(options, {
      path: 'apps/x/staging',
      app: 'x',
      env: 'staging',
      files: [],
      trailers: trailers('run-empty'),
    }).catch((e: unknown) => e);
    expect(GitopsRequestInvalid.is(empty)).toBe(true);
  });
});

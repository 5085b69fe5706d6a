import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  GitAuthFailed,
  GitopsPullRequestClosed,
  GitopsPullRequestTimeout,
  type ShipgateError,
} from '../../../src/errors.js';
import { GitCli } from '../../../src/git/git-cli.js';
import { createGithubApp } from '../../../src/github/index.js';
import {
  commitToEnvRepo,
  pullRequestBranch,
  type CommitToEnvRepoRequest,
} from '../../../src/gitops/commit-to-env-repo.js';
import { createGithubPullRequestPort } from '../../../src/gitops/github-pull-request-port.js';
import type { EnvRepoOptions, PullRequestPort } from '../../../src/gitops/write-env-path.js';
import { createLogger } from '../../../src/logger.js';
import { createEnvRepo, type EnvRepo } from '../../support/env-repo.js';
import { serveGitOverHttp } from '../../../sandbox/git-remote.js';
import { startGithubStandIn, type GithubStandIn } from '../../../sandbox/github-stand-in.js';

const APP_ID = 99;
const OWNER = 'platform';
const ENV_REPO = 'env';

const request = (run: string): CommitToEnvRepoRequest => ({
  path: 'apps/web/production',
  app: 'web',
  env: 'production',
  files: [{ name: 'rollout-web.yaml', content: `kind: Rollout\nrun: ${run}\n` }],
  trailers: {
    shipgateRun: run,
    sourceRepo: 'acme/web',
    sourceCommit: 'e'.repeat(40),
    image: 'ghcr.io/acme/web:3.0.0',
    gates: 'tests=passed',
    approvedBy: ['U0APPROVER'],
  },
});

async function until<T>(fn: () => T | undefined, deadlineMs = 10_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PR mode against the GitHub stand-in', () => {
  let keys: { privateKey: string; publicKey: string };
  let standIn: GithubStandIn;
  let repo: EnvRepo;
  let options: EnvRepoOptions;
  let port: PullRequestPort;

  beforeAll(() => {
    keys = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
  });
  beforeEach(async () => {
    standIn = await startGithubStandIn({ appId: APP_ID, publicKeyPem: keys.publicKey });
    const app = createGithubApp({
      appId: APP_ID,
      privateKey: keys.privateKey,
      apiUrl: standIn.url,
      logger: createLogger('silent', new Writable({ write: (_c, _e, done) => done() })),
      spaceWrites: false,
      retryAfterBaseMs: 5,
    });
    port = createGithubPullRequestPort(await app.forInstallation(1), { owner: OWNER, repo: ENV_REPO });
    repo = await createEnvRepo({ initial: { 'apps/api/production/x.yaml': 'x: 1\n' } });
    options = { git: new GitCli(), remote: { url: repo.url }, workDir: repo.workDir };
  });
  afterEach(async () => {
    await standIn.close();
    await repo.cleanup();
  });

  /** Does what GitHub's merge button does: a merge commit of the PR branch into main. */
  async function mergeOnRemote(number: number, branch: string): Promise<string> {
    const main = (await repo.git(['rev-parse', 'main'])).trim();
    const tip = (await repo.git(['rev-parse', branch])).trim();
    const tree = (await repo.git(['merge-tree', '--write-tree', main, tip])).trim().split('\n')[0]!;
    const merge = (
      await repo.git(['commit-tree', tree, '-p', main, '-p', tip, '-m', `Merge pull request #${number}`])
    ).trim();
    await repo.git(['update-ref', 'refs/heads/main', merge, main]);
    standIn.mergePullRequest(number, { mergeCommitSha: merge });
    return merge;
  }

  it('pushes a run branch, opens one PR, waits for the merge, and a retry reuses it', async () => {
    const mode = { kind: 'pr' as const, pullRequests: port, pollIntervalMs: 30, mergeTimeoutMs: 10_000 };
    const branch = pullRequestBranch('web', 'production', 'run-7');
    expect(branch).toBe('shipgate/web/production/run-7');
    const pending = commitToEnvRepo(options, { ...request('run-7'), mode });
    const pr = await until(() => standIn.pullRequests(OWNER, ENV_REPO)[0]);
    // Someone else lands on main while the PR waits: the merge must keep both.
    await repo.commitFiles({ 'apps/api/production/x.yaml': 'x: 2\n' }, 'api change');
    expect(pr).toMatchObject({ title: 'deploy web web:3.0.0 to production', state: 'open' });
    expect((pr.head as { ref: string }).ref).toBe(branch);
    expect(String(pr.body)).toContain('Shipgate-Run: run-7');
    const merge = await mergeOnRemote(pr.number, branch);

    const result = await pending;
    expect(result).toMatchObject({
      status: 'merged',
      commit: merge,
      pullRequest: { number: pr.number, branch },
    });
    expect(await repo.show('main', 'apps/web/production/rollout-web.yaml')).toBe(
      'kind: Rollout\nrun: run-7\n',
    );
    expect(await repo.show('main', 'apps/api/production/x.yaml')).toBe('x: 2\n');

    const again = await commitToEnvRepo(options, { ...request('run-7'), mode });
    expect(again.status).toBe('reused');
    expect(standIn.pullRequests(OWNER, ENV_REPO)).toHaveLength(1);
  });

  it('times out retryably, and the retry continues with the same branch and PR', async () => {
    const mode = { kind: 'pr' as const, pullRequests: port, pollIntervalMs: 20, mergeTimeoutMs: 200 };
    const err = (await commitToEnvRepo(options, { ...request('run-8'), mode }).catch(
      (e: unknown) => e,
    )) as ShipgateError;
    expect(GitopsPullRequestTimeout.is(err)).toBe(true);
    expect(err.retryable).toBe(true);
    const branchTip = (await repo.git(['rev-parse', pullRequestBranch('web', 'production', 'run-8')])).trim();

    const retry = commitToEnvRepo(options, {
      ...request('run-8'),
      mode: { ...mode, mergeTimeoutMs: 10_000 },
    });
    const pr = standIn.pullRequests(OWNER, ENV_REPO)[0]!;
    await until(() =>
      standIn.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/pulls/${pr.number}`)).length > 12
        ? true
        : undefined,
    );
    await mergeOnRemote(pr.number, pullRequestBranch('web', 'production', 'run-8'));
    expect((await retry).status).toBe('merged');
    expect(standIn.pullRequests(OWNER, ENV_REPO)).toHaveLength(1);
    expect((await repo.git(['rev-parse', pullRequestBranch('web', 'production', 'run-8')])).trim()).toBe(
      branchTip,
    );
  });

  it('a PR closed without merging fails for good', async () => {
    const mode = { kind: 'pr' as const, pullRequests: port, pollIntervalMs: 20, mergeTimeoutMs: 10_000 };
    const pending = commitToEnvRepo(options, { ...request('run-9'), mode }).catch((e: unknown) => e);
    const pr = await until(() => standIn.pullRequests(OWNER, ENV_REPO)[0]);
    standIn.closePullRequest(pr.number);
    const err = (await pending) as ShipgateError;
    expect(GitopsPullRequestClosed.is(err)).toBe(true);
    expect(err.retryable).toBe(false);
  });
});

describe('HTTPS with an installation token', () => {
  const TOKEN = 'ghs_' + 'S3cr3tT0k3n'.repeat(3);
  let repo: EnvRepo;

  beforeEach(async () => {
    repo = await createEnvRepo();
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('authenticates through askpass; the token never reaches URLs, config or errors', async () => {
    const server = await serveGitOverHttp(repo.bare, TOKEN);
    try {
      const seen: string[] = [];
      const git = new GitCli();
      const options: EnvRepoOptions = {
        git,
        remote: { url: server.cloneUrl, auth: async () => ({ password: TOKEN }) },
        workDir: repo.workDir,
        hooks: {
          beforePush: async () => {
            // The scratch repo exists now: nothing in it may hold the token.
            for (const dir of await readdir(repo.workDir)) {
              seen.push(await readFile(path.join(repo.workDir, dir, 'config'), 'utf8'));
            }
          },
        },
      };
      const result = await commitToEnvRepo(options, request('run-https'));
      expect(result.status).toBe('committed');
      expect(await repo.head()).toBe(result.commit);
      expect(server.requests.some((r) => r.method === 'POST' && r.url.includes('git-receive-pack'))).toBe(
        true,
      );
      expect(server.requests.every((r) => !r.url.includes(TOKEN))).toBe(true);
      expect(seen.join('\n')).not.toContain(TOKEN);
      expect(seen.join('\n')).toContain(server.cloneUrl);

      const wrong = (await commitToEnvRepo(
        { ...options, remote: { url: server.cloneUrl, auth: async () => ({ password: 'ghs_wrong' }) } },
        request('run-https-2'),
      ).catch((e: unknown) => e)) as ShipgateError;
      expect(GitAuthFailed.is(wrong)).toBe(true);
      expect(wrong.retryable).toBe(false);
      expect(JSON.stringify({ m: wrong.message, d: wrong.details })).not.toMatch(/ghs_/);
    } finally {
      await server.close();
    }
  });

  it('refuses a URL with credentials in it', async () => {
    const err = (await commitToEnvRepo(
      {
        git: new GitCli(),
        remote: { url: `https://x-access-token:${TOKEN}@github.example/platform/env.git` },
        workDir: repo.workDir,
      },
      request('run-x'),
    ).catch((e: unknown) => e)) as ShipgateError;
    expect(err.code).toBe('SHIPGATE_E_GITOPS_REQUEST_INVALID');
    expect(err.message).not.toContain(TOKEN);
  });
});

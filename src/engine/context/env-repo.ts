import path from 'node:path';
import type { Config } from '../../config.js';
import type { GithubApp } from '../../github/index.js';
import { GitCli, type GitAuth } from '../../git/git-cli.js';
import { ScratchRepo, type RemoteSpec } from '../../git/scratch-repo.js';
import { openEnvRepo } from '../../gitops/open-env-repo.js';
import type { WriteTurns } from '../../runs/write-turn.js';
import type { EnvRepoOptions, WriteMode } from '../../gitops/write-env-path.js';
import { createGithubPullRequestPort } from '../../gitops/github-pull-request-port.js';
import { splitRepo, type EngineContext } from './engine-context.js';
import { createPolicyCache, type Policy, POLICY_FILE_PATH } from '../../policy/index.js';
import { ConfigInvalid } from '../../errors.js';

/** GitHub's web host for clone URLs: api.github.com → github.com; GHES /api/v3 → its host. */
export function githubWebUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === 'api.github.com') return 'https://github.com';
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/api\/v3\/?$/, '')}`.replace(/\/+$/, '');
}

/** What cloning the env repo needs of the GitHub App: an installation token for it. */
export type EnvRepoGithub = Pick<GithubApp, 'findRepoInstallation' | 'getInstallationToken'>;

/**
 * Where the env repo lives and how to authenticate. `owner/name` is cloned over HTTPS from the
 * configured GitHub with an installation token of the App's installation on that repo; a URL
 * is used as it is (file:// for local use and tests).
 */
export function envRepoRemote(config: Readonly<Config>, github: EnvRepoGithub | undefined): RemoteSpec {
  const envRepo = config.envRepo;
  if (envRepo === undefined)
    throw ConfigInvalid('ENV_REPO', 'is required to deploy and to read the platform policy');
  if (/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(envRepo)) {
    const [owner, repo] = envRepo.split('/') as [string, string];
    if (github === undefined) throw ConfigInvalid('ENV_REPO', 'owner/name needs the GitHub App credentials');
    let installationId: number | undefined;
    return {
      url: `${githubWebUrl(config.github.apiUrl)}/${owner}/${repo}.git`,
      auth: async (): Promise<GitAuth> => {
        installationId ??= await github.findRepoInstallation(owner, repo);
        const { token } = await github.getInstallationToken(installationId);
        return { password: token };
      },
    };
  }
  return { url: envRepo };
}

/** `turns`: Shipgate's writers of the env repo take turns (see WriteTurns) instead of racing. */
export function envRepoOptions(
  config: Readonly<Config>,
  github: EnvRepoGithub | undefined,
  turns?: WriteTurns,
): EnvRepoOptions {
  const remote = envRepoRemote(config, github);
  return {
    git: new GitCli(),
    remote,
    workDir: path.join(config.dataDir, 'gitops'),
    ...(turns ? { writeTurn: turns.forRepo(remote.url) } : {}),
  };
}

export interface PolicySource {
  /** The policy at the env repo's current tip, and that commit. */
  current(): Promise<{ policy: Policy; commit: string }>;
}

/**
 * Reads `shipgate/policy.yml` from the env repo's tip. The tip is checked at most once per
 * `ttlMs`: one `ls-remote`, and only when the branch moved a fetch (shallow, blobless) of the
 * new tip's policy. Parsing is cached per commit, so a burst of webhooks costs one check, and a
 * webhook after a quiet spell pays a round trip, not a fetch (~90 ms → ~15 ms on loopback).
 */
export function createEnvRepoPolicySource(
  options: EnvRepoOptions,
  ttlMs = 10_000,
  now = Date.now,
): PolicySource {
  const texts = new Map<string, string | null>();
  const cache = createPolicyCache(async (sha) => texts.get(sha) ?? null);
  let tip: { commit: string; at: number } | undefined;
  let inFlight: Promise<string> | undefined;

  const fetchTip = async (): Promise<string> =>
    openEnvRepo({ ...options, lookback: 1 }, async (repo, _branch, head) => {
      if (head === null)
        throw ConfigInvalid(
          'ENV_REPO',
          `has no branch ${options.branch ?? 'main'} to read ${POLICY_FILE_PATH} from`,
        );
      const oid = await repo.objectAt(head, POLICY_FILE_PATH);
      let text: string | null = null;
      if (oid !== null) {
        await repo.fetchBlobs([oid]);
        text = (await repo.readBlobs([oid])).get(oid) ?? null;
      }
      texts.set(head, text);
      // Only recent tips are ever asked for again; keep the map as small as the parse cache.
      if (texts.size > 32) texts.delete(texts.keys().next().value!);
      return head;
    });

  // The known tip if the branch still points at it (its policy text is in `texts`), else a fetch.
  const refreshTip = async (): Promise<string> => {
    if (tip !== undefined && texts.has(tip.commit)) {
      const head = await ScratchRepo.remoteBranchTip(
        options.git,
        options.workDir,
        options.remote,
        options.branch ?? 'main',
      );
      if (head === tip.commit) return head;
    }
    return fetchTip();
  };

  return {
    async current() {
      if (tip === undefined || now() - tip.at > ttlMs) {
        inFlight ??= refreshTip().finally(() => {
          inFlight = undefined;
        });
        const commit = await inFlight;
        tip = { commit, at: now() };
      }
      return { policy: await cache.get(tip.commit), commit: tip.commit };
    },
  };
}

/**
 * How a commit reaches the env repo's branch for one environment: pushed directly, or (policy
 * `mode: pr`) through a pull request in the env repo, opened with the App's installation there.
 */
export async function envRepoWriteMode(ctx: EngineContext, mode: 'direct' | 'pr'): Promise<WriteMode> {
  if (mode === 'direct') return { kind: 'direct' };
  const { owner, repo } = splitRepo(ctx.config.envRepo!);
  const installationId = await ctx.github.findRepoInstallation(owner, repo);
  const octokit = await ctx.github.forInstallation(installationId);
  return { kind: 'pr', pullRequests: createGithubPullRequestPort(octokit, { owner, repo }) };
}

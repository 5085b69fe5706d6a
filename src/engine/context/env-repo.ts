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
 * new tip, plus the policy blob if it is one not seen before. Parsing is cached per commit, so
 * a burst of webhooks costs one check, and a webhook after a quiet spell pays one round trip
 * when nothing was committed meanwhile (the usual case is a deploy commit: two round trips, as
 * one fetch and one blob fetch were before).
 */
export function createEnvRepoPolicySource(
  options: EnvRepoOptions,
  ttlMs = 10_000,
  now = Date.now,
): PolicySource {
  const texts = new Map<string, string | null>();
  const blobTexts = new Map<string, string>();
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
      // Deploy commits move the tip far more often than the policy changes: a policy blob seen
      // before is not fetched again.
      const text =
        oid === null ? null : (blobTexts.get(oid) ?? (await repo.readBlobs([oid])).get(oid) ?? null);
      if (oid !== null && text !== null) keepRecent(blobTexts, oid, text);
      keepRecent(texts, head, text);
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

/** Only recent tips and blobs are ever asked for again: as many as the parse cache keeps. */
function keepRecent<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > 32) map.delete(map.keys().next().value!);
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

import { z } from 'zod';
import { CHECK_NAMES } from '../engine/decisions/check-names.js';
import { splitRepo } from '../engine/context/engine-context.js';
import {
  latestDeploymentStatus,
  listCheckRunsForRef,
  listDeployments,
  runIdOfDeployment,
  type GithubApp,
  type GithubOctokit,
} from '../github/index.js';
import { callGithub, parseGithubResponse } from '../github/github-error.js';
import type { LiveState } from '../gitops/read-live.js';
import type { Logger } from '../logger.js';
import { candidateCommits } from './plan-recovery.js';
import type { ObservedCheck, ObservedDeployment } from './types.js';

const SHIPGATE_CHECKS = new Set<string>(Object.values(CHECK_NAMES));
const PullHeadsSchema = z.array(z.object({ head: z.object({ sha: z.string() }) }));
const TagsSchema = z.array(z.object({ name: z.string(), commit: z.object({ sha: z.string() }) }));
/**
 * Tags read per repo: a release lost in its first gates has committed nothing and is on no PR,
 * but its tag is there. One page; a repo that pushes more release tags than this between a loss
 * and the recovery is beyond the drill.
 */
export const RECENT_TAGS = 30;

/**
 * What GitHub shows of Shipgate's recent work in `repos`: its deployments (newest 100 per repo,
 * with their newest status), and its check runs on the commits that may carry a run (see
 * `candidateCommits`: env-repo sources, open PR heads, the newest tags, deployed commits). A repo the App cannot reach is logged and skipped.
 */
export async function observeGithub(
  github: GithubApp,
  repos: readonly string[],
  recentEnvCommits: readonly LiveState[],
  logger: Logger,
): Promise<{ checks: ObservedCheck[]; deployments: ObservedDeployment[] }> {
  const reachable: { repo: string; installationId: number; octokit: GithubOctokit }[] = [];
  for (const repo of repos) {
    const { owner, repo: name } = splitRepo(repo);
    try {
      const installationId = await github.findRepoInstallation(owner, name);
      reachable.push({ repo, installationId, octokit: await github.forInstallation(installationId) });
    } catch (err) {
      logger.warn({ repo, code: (err as { code?: string }).code }, 'recovery: cannot reach this repo');
    }
  }

  const deployments: ObservedDeployment[] = [];
  const pullHeads: { repo: string; sha: string }[] = [];
  const tagCommits: { repo: string; sha: string }[] = [];
  for (const { repo, installationId, octokit } of reachable) {
    const target = splitRepo(repo);
    for (const d of await listDeployments(octokit, target)) {
      const runId = runIdOfDeployment(d);
      if (runId === undefined) continue;
      const latest = await latestDeploymentStatus(octokit, { ...target, deploymentId: d.id });
      deployments.push({
        repo,
        installationId,
        id: d.id,
        sha: d.sha,
        environment: d.environment,
        runId,
        latestState: latest?.state,
      });
    }
    const op = 'GET /repos/{owner}/{repo}/pulls';
    const { data } = await callGithub(op, () =>
      octokit.request(op, { ...target, state: 'open', per_page: 100 }),
    );
    for (const pr of parseGithubResponse(op, PullHeadsSchema, data))
      pullHeads.push({ repo, sha: pr.head.sha });
    const tagsOp = 'GET /repos/{owner}/{repo}/tags';
    const tags = await callGithub(tagsOp, () =>
      octokit.request(tagsOp, { ...target, per_page: RECENT_TAGS }),
    );
    for (const tag of parseGithubResponse(tagsOp, TagsSchema, tags.data))
      tagCommits.push({ repo, sha: tag.commit.sha });
  }

  const candidates = candidateCommits({ recentEnvCommits, pullHeads, tagCommits, deployments });
  const checks: ObservedCheck[] = [];
  for (const { repo, installationId, octokit } of reachable) {
    for (const sha of candidates.get(repo.toLowerCase()) ?? []) {
      for (const c of await listCheckRunsForRef(octokit, { ...splitRepo(repo), ref: sha })) {
        if (!SHIPGATE_CHECKS.has(c.name)) continue;
        checks.push({
          repo,
          installationId,
          id: c.id,
          name: c.name,
          sha: c.head_sha,
          externalId: c.external_id ?? undefined,
          status: c.status,
        });
      }
    }
  }
  return { checks, deployments };
}

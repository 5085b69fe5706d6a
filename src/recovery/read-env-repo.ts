import { liveStateOf, pathHistory, type LiveState } from '../gitops/read-live.js';
import { assertSafeRelativePath } from '../gitops/path-safety.js';
import { openEnvRepo } from '../gitops/open-env-repo.js';
import type { EnvRepoOptions } from '../gitops/write-env-path.js';
import { resolveDeployTarget, type Policy } from '../policy/index.js';
import { liveEntryOf, type GrantedTarget } from './plan-recovery.js';
import type { LiveEntry } from './types.js';

/** Every app/env folder the policy grants (the places something can be live). */
export function grantedTargets(policy: Policy): GrantedTarget[] {
  const out: GrantedTarget[] = [];
  for (const [repo, grant] of Object.entries(policy.repos.grants)) {
    for (const env of Object.keys(grant.environments)) {
      const target = resolveDeployTarget(policy, repo, env);
      if (target.allowed) out.push({ app: target.app, env, path: target.path, repo });
    }
  }
  return out.sort((a, b) => `${a.app}/${a.env}`.localeCompare(`${b.app}/${b.env}`));
}

/** What is live in each granted folder, read from git alone, in one fetch of the env repo. */
export async function readLiveEntries(envRepo: EnvRepoOptions, policy: Policy): Promise<LiveEntry[]> {
  const targets = grantedTargets(policy);
  return openEnvRepo(envRepo, async (repo, branch, tip) => {
    const entries: LiveEntry[] = [];
    for (const target of targets) {
      const path = assertSafeRelativePath(target.path, 'env repo path');
      const [latest] = tip
        ? await pathHistory(repo, branch, tip, path, 1, LIVE_MAX_DEPTH, envRepo.lookback ?? 50)
        : [];
      entries.push(liveEntryOf(target, latest === undefined ? null : liveStateOf(latest)));
    }
    return entries;
  });
}

/** Commits looked through for a folder's newest change (as `readLive`). */
const LIVE_MAX_DEPTH = 2000;

/** The newest `count` commits of the env repo's branch, with their trailers. */
export async function recentEnvCommits(envRepo: EnvRepoOptions, count: number): Promise<LiveState[]> {
  return openEnvRepo(envRepo, async (repo, _branch, tip) => {
    if (!tip) return [];
    return (await repo.log(tip, { maxCount: count })).map(liveStateOf);
  });
}

import { parseCheckExternalId } from '../engine/decisions/check-names.js';
import type { LiveState } from '../gitops/read-live.js';
import { OPEN_CHECK_STATES, OPEN_DEPLOYMENT_STATES } from './open-states.js';
import type { LiveEntry, LostRun, ObservedCheck, ObservedDeployment } from './types.js';

/**
 * Pure decisions of disaster recovery: what is live (from the env repo's trailers), which
 * commits may carry work of a lost run, and which runs were lost. Adapters feed them what git
 * and GitHub show; nothing here reads Redis, which is what was lost.
 */

export interface GrantedTarget {
  app: string;
  env: string;
  path: string;
  repo: string;
}

/** What is live for one target, from the newest env-repo commit that touched its folder. */
export function liveEntryOf(target: GrantedTarget, live: LiveState | null): LiveEntry {
  if (live === null) return { ...target, kind: 'none' };
  const kind = live.reverts !== undefined ? 'revert' : live.run !== undefined ? 'release' : 'manual';
  return {
    ...target,
    kind,
    commit: live.commit,
    committedAt: live.committedAt.toISOString(),
    ...(live.run === undefined ? {} : { run: live.run }),
    ...(live.image === undefined ? {} : { image: live.image }),
    ...(live.sourceRepo === undefined ? {} : { sourceRepo: live.sourceRepo }),
    ...(live.sourceCommit === undefined ? {} : { sourceCommit: live.sourceCommit }),
    ...(live.approvedBy.length === 0 ? {} : { approvedBy: live.approvedBy }),
  };
}

/**
 * The app commits worth asking GitHub about, per repo: what recent env-repo commits released
 * (`Source-Commit`), the heads of open pull requests, the commits of the newest tags, and the
 * commits of recent deployments. A run lost on a commit that is none of these (a push to a
 * branch with no PR, or a tag older than the newest `RECENT_TAGS`) is not found (its checks stay
 * open until it runs again; see the runbook).
 */
export function candidateCommits(input: {
  recentEnvCommits: readonly LiveState[];
  pullHeads: readonly { repo: string; sha: string }[];
  /** The commits of each repo's newest tags: where a release lost before its first commit sits. */
  tagCommits: readonly { repo: string; sha: string }[];
  deployments: readonly ObservedDeployment[];
}): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (repo: string, sha: string) => {
    const key = repo.toLowerCase();
    const set = out.get(key) ?? new Set<string>();
    set.add(sha);
    out.set(key, set);
  };
  for (const c of input.recentEnvCommits) {
    if (c.sourceRepo !== undefined && c.sourceCommit !== undefined && c.run !== undefined)
      add(c.sourceRepo, c.sourceCommit);
  }
  for (const p of input.pullHeads) add(p.repo, p.sha);
  for (const t of input.tagCommits) add(t.repo, t.sha);
  for (const d of input.deployments) if (d.runId !== undefined) add(d.repo, d.sha);
  return out;
}

/**
 * The runs that were in flight and are now lost: Shipgate check runs still open and Shipgate
 * deployments still pending, whose run the (new) run store does not know. A run it knows was
 * started after the loss, or survived it, and is left alone: that is what makes running this on
 * a healthy Redis harmless.
 */
export function planLostRuns(input: {
  checks: readonly ObservedCheck[];
  deployments: readonly ObservedDeployment[];
  knownRunIds: ReadonlySet<string>;
}): LostRun[] {
  const byRun = new Map<string, LostRun>();
  const entry = (runId: string, from: { repo: string; installationId: number; sha: string }) => {
    let run = byRun.get(runId);
    if (!run) {
      run = {
        runId,
        repo: from.repo,
        installationId: from.installationId,
        sha: from.sha,
        checks: [],
        deployments: [],
      };
      byRun.set(runId, run);
    }
    return run;
  };
  for (const check of input.checks) {
    if (!OPEN_CHECK_STATES.includes(check.status)) continue;
    const owner = check.externalId === undefined ? undefined : parseCheckExternalId(check.externalId);
    if (owner === undefined || input.knownRunIds.has(owner.runId)) continue;
    const run = entry(owner.runId, check);
    if (!run.checks.some((c) => c.id === check.id)) run.checks.push({ id: check.id, name: check.name });
  }
  for (const d of input.deployments) {
    if (d.runId === undefined || input.knownRunIds.has(d.runId)) continue;
    if (d.latestState !== undefined && !OPEN_DEPLOYMENT_STATES.includes(d.latestState)) continue;
    const run = entry(d.runId, d);
    if (!run.deployments.some((x) => x.id === d.id))
      run.deployments.push({ id: d.id, environment: d.environment });
  }
  return [...byRun.values()].sort((a, b) => a.runId.localeCompare(b.runId));
}

/** The words on every check run and deployment status of a lost run. */
export function lostRunExplanation(runId: string): string {
  return (
    `Shipgate lost run ${runId}: its state store (Redis) was lost while the run was in flight. ` +
    'Nothing deployed was lost: the env repo still holds what is live. ' +
    'Push the commit or tag again (or re-run the check) to start a new run.'
  );
}

/** The same, within GitHub's 140 characters for a deployment status. */
export function lostDeploymentDescription(runId: string): string {
  return `Shipgate lost run ${runId} with its Redis; what is deployed is in the env repo. Release again.`;
}

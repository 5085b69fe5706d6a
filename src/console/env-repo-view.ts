import { createTwoFilesPatch } from 'diff';
import { planManualRollback } from '../deploy/plan-manual-rollback.js';
import { rollbackTargetOf } from '../engine/triggers/start-rollback-run.js';
import type { ScratchRepo } from '../git/scratch-repo.js';
import { openEnvRepo } from '../gitops/open-env-repo.js';
import { liveStateOf, pathHistory, type LiveState } from '../gitops/read-live.js';
import type { EnvRepoOptions } from '../gitops/write-env-path.js';
import type { Policy } from '../policy/schema.js';

/**
 * What the console reads from the env repo (git is the truth of what is live): the state of
 * every granted app × environment with its previous good versions, and the diff a rollback
 * would make. One fetch per call; history per path is bounded.
 */

export interface EnvironmentCell {
  app: string;
  env: string;
  version: string | null;
  commit: string | null;
  /** The env-repo commit that made it live. */
  envCommit: string | null;
  liveSince: string | null;
  by: string | null;
  health: string;
  previous: Array<{ version: string | null; commit: string | null; at: string }>;
}

/** The tag of an image reference `repo:tag@digest`, or null. */
export function versionOfImage(image: string | undefined): string | null {
  if (image === undefined) return null;
  const withoutDigest = image.split('@')[0]!;
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(colon + 1) : null;
}

function releaseTagOf(state: LiveState): string | null {
  const tag = state.trailers.find(([k]) => k.toLowerCase() === 'release-tag')?.[1];
  return tag ?? versionOfImage(state.image);
}

function isRevert(state: LiveState): boolean {
  return state.reverts !== undefined;
}

export async function readEnvironments(
  envRepo: EnvRepoOptions,
  policy: Policy,
  options: {
    history?: number;
    /** Who made a run's change live (its releaser, or whoever asked for the rollback). */
    whoOfRun?: (runId: string) => Promise<string | undefined>;
  } = {},
): Promise<Array<Omit<EnvironmentCell, 'health'>>> {
  const limit = options.history ?? 6;
  const pairs: Array<{ app: string; env: string; path: string }> = [];
  for (const grant of Object.values(policy.repos.grants)) {
    for (const [env, { path }] of Object.entries(grant.environments))
      pairs.push({ app: grant.app, env, path });
  }
  return openEnvRepo({ ...envRepo, lookback: envRepo.lookback ?? 50 }, async (repo, branch, tip) => {
    const cells: Array<Omit<EnvironmentCell, 'health'>> = [];
    for (const { app, env, path } of pairs) {
      const history = tip
        ? (await pathHistory(repo, branch, tip, path, limit, 500, 50)).map(liveStateOf)
        : [];
      const live = history[0];
      // A release a revert commit undid is not a good version to go back to.
      const undone = new Set(history.map((h) => h.reverts).filter((sha): sha is string => sha !== undefined));
      const by = live?.run === undefined ? undefined : await options.whoOfRun?.(live.run);
      cells.push({
        app,
        env,
        version: live ? releaseTagOf(live) : null,
        commit: live?.sourceCommit ?? null,
        envCommit: live?.commit ?? null,
        liveSince: live ? live.committedAt.toISOString() : null,
        by: by ?? (live && live.approvedBy.length > 0 ? live.approvedBy.join(', ') : null),
        previous: history
          .slice(1)
          .filter((s) => !isRevert(s) && !undone.has(s.commit) && s.sourceCommit !== undefined)
          .map((s) => ({
            version: releaseTagOf(s),
            commit: s.sourceCommit ?? null,
            at: s.committedAt.toISOString(),
          })),
      });
    }
    return cells;
  });
}

async function filesAt(repo: ScratchRepo, commit: string, path: string): Promise<Map<string, string>> {
  const tree = await repo.objectAt(commit, path);
  if (tree === null) return new Map();
  const entries = (await repo.lsTreeRecursive(tree)).filter((e) => e.type === 'blob');
  await repo.fetchBlobs(entries.map((e) => e.oid));
  const blobs = await repo.readBlobs(entries.map((e) => e.oid));
  return new Map(entries.map((e) => [e.name, blobs.get(e.oid) ?? '']));
}

/** The unified diff from what is live at app/env to what a rollback `to` would restore. */
export async function previewRollback(
  envRepo: EnvRepoOptions,
  policy: Policy,
  request: { app: string; env: string; to: string },
): Promise<{
  diff: string;
  from: { commit: string; version: string | null };
  to: { commit: string; version: string | null };
}> {
  const { target } = rollbackTargetOf(policy, request.app, request.env);
  return openEnvRepo({ ...envRepo, lookback: envRepo.lookback ?? 50 }, async (repo, branch, tip) => {
    const history = tip
      ? (await pathHistory(repo, branch, tip, target.path, 200, 2000, 50)).map(liveStateOf)
      : [];
    // The same planner the rollback worker uses, so the preview shows what would be restored.
    const plan = planManualRollback({
      liveCommits: history.map((c) => ({ sha: c.commit, trailers: c.trailers, message: c.subject })),
      to: request.to,
    });
    const live = history[0]!;
    const before = await filesAt(repo, live.commit, target.path);
    const after = await filesAt(repo, plan.target.sha, target.path);
    const names = [...new Set([...before.keys(), ...after.keys()])].sort();
    const parts: string[] = [];
    for (const name of names) {
      const a = before.get(name);
      const b = after.get(name);
      if (a === b) continue;
      parts.push(
        createTwoFilesPatch(
          a === undefined ? '/dev/null' : `a/${target.path}/${name}`,
          b === undefined ? '/dev/null' : `b/${target.path}/${name}`,
          a ?? '',
          b ?? '',
          undefined,
          undefined,
          { context: 3 },
        ),
      );
    }
    return {
      diff: parts.join(''),
      from: { commit: live.commit, version: releaseTagOf(live) },
      to: { commit: plan.target.sha, version: plan.target.tag ?? null },
    };
  });
}

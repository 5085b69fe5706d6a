import type { ScratchRepo, CommitInfo } from '../git/scratch-repo.js';
import { parseTrailers, trailerValue, trailerValues } from './commit-message.js';
import { assertSafeRelativePath } from './path-safety.js';
import { openEnvRepo } from './open-env-repo.js';
import type { EnvRepoOptions } from './write-env-path.js';

/**
 * "What is live" for an app and environment, read from git alone (the source of truth when
 * Redis is gone): the latest commit on the branch that touched the path, and its trailers.
 */

export interface LiveState {
  /** Latest commit that changed the path. */
  commit: string;
  committedAt: Date;
  subject: string;
  /** Shipgate's trailers; absent when a person committed by hand. */
  run?: string;
  image?: string;
  sourceRepo?: string;
  sourceCommit?: string;
  gates?: string;
  approvedBy: string[];
  /** Set on revert commits: the commit they undid. */
  reverts?: string;
  /** Set on revert commits: the commit whose state they restored. */
  restores?: string;
  trailers: [string, string][];
}

export function liveStateOf(commit: CommitInfo): LiveState {
  const trailers = parseTrailers(commit.message);
  const opt = (key: string, name: keyof LiveState) => {
    const v = trailerValue(trailers, key);
    return v === undefined ? {} : { [name]: v };
  };
  return {
    commit: commit.sha,
    committedAt: commit.committedAt,
    subject: commit.subject,
    ...opt('Shipgate-Run', 'run'),
    ...opt('Image', 'image'),
    ...opt('Source-Repo', 'sourceRepo'),
    ...opt('Source-Commit', 'sourceCommit'),
    ...opt('Gates', 'gates'),
    ...opt('Reverts', 'reverts'),
    ...opt('Restores', 'restores'),
    approvedBy: trailerValues(trailers, 'Approved-by'),
    trailers,
  };
}

/**
 * Commits that touched `path`, newest first, up to `limit`, looking through at most
 * `maxDepth` commits of history. A shallow fetch cuts history, and git then sees the oldest
 * fetched commit as adding everything; such a boundary commit is only trusted after
 * deepening shows its parent.
 */
export async function pathHistory(
  repo: ScratchRepo,
  branch: string,
  tip: string,
  path: string,
  limit: number,
  maxDepth: number,
  startDepth: number,
): Promise<CommitInfo[]> {
  let depth = startDepth;
  for (;;) {
    const commits = await repo.log(tip, { path, maxCount: limit });
    const last = commits.at(-1);
    const cut = last !== undefined && last.parents.length === 0 && (await repo.isShallowBoundary(last.sha));
    const short = commits.length < limit && (await historyIsCut(repo, tip));
    if ((!cut && !short) || depth >= maxDepth) {
      return cut && depth >= maxDepth ? commits.slice(0, -1) : commits;
    }
    const more = Math.min(depth, maxDepth - depth);
    await repo.deepen(branch, more);
    depth += more;
  }
}

async function historyIsCut(repo: ScratchRepo, tip: string): Promise<boolean> {
  const roots = await repo.run(['rev-list', '--max-parents=0', tip]);
  for (const sha of roots.stdout.trim().split('\n').filter(Boolean)) {
    if (await repo.isShallowBoundary(sha)) return true;
  }
  return false;
}

export interface ReadLiveRequest {
  path: string;
  /** Commits to look through before giving up. @defaultValue 2000 */
  maxDepth?: number;
}

/** The live state of `path`, or null when nothing was ever committed there. */
export async function readLive(options: EnvRepoOptions, request: ReadLiveRequest): Promise<LiveState | null> {
  const history = await listPathHistory(options, { ...request, limit: 1 });
  return history[0] ?? null;
}

/** Recent states of `path`, newest first, for picking a rollback target. */
export async function listPathHistory(
  options: EnvRepoOptions,
  request: ReadLiveRequest & { limit: number },
): Promise<LiveState[]> {
  const path = assertSafeRelativePath(request.path, 'env repo path');
  return openEnvRepo(options, async (repo, branch, tip) => {
    if (!tip) return [];
    const depth = options.lookback ?? 50;
    const commits = await pathHistory(
      repo,
      branch,
      tip,
      path,
      request.limit,
      request.maxDepth ?? 2000,
      depth,
    );
    return commits.map(liveStateOf);
  });
}

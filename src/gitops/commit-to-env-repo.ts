import { GitopsRequestInvalid } from '../errors.js';
import {
  formatCommitMessage,
  parseTrailers,
  releaseTrailerPairs,
  trailerValue,
  type ReleaseTrailers,
} from './commit-message.js';
import { writeFlatTree } from './edit-env-tree.js';
import type { ScratchRepo } from '../git/scratch-repo.js';
import { assertSafeRelativePath } from './path-safety.js';
import type { RenderedFile } from './types.js';
import { writeEnvPath, type EnvRepoOptions, type WriteMode } from './write-env-path.js';

/**
 * Commits one environment's rendered manifests to the env repo, replacing exactly the
 * granted path. Idempotent: the same run never makes two commits (an earlier attempt's commit
 * is found by its `Shipgate-Run` trailer), and identical content makes none.
 */

export interface CommitToEnvRepoRequest {
  /** Granted path, e.g. `apps/api/staging`. */
  path: string;
  app: string;
  env: string;
  files: readonly RenderedFile[];
  trailers: ReleaseTrailers;
  /** Subject line. @defaultValue `deploy <app> <tag-or-image> to <env>` */
  subject?: string;
  /** Free text between the subject and the trailers. */
  body?: string;
  /** @defaultValue `{ kind: 'direct' }` */
  mode?: WriteMode;
}

export interface CommitToEnvRepoResult {
  /**
   * `committed`: a new commit was pushed. `unchanged`: the path already held these files.
   * `reused`: this run's commit was already on the branch (a retried job). `merged`: PR mode.
   */
  status: 'committed' | 'unchanged' | 'reused' | 'merged';
  /** The commit that now holds the files (the branch tip for `unchanged`, the merge commit in PR mode). */
  commit: string | null;
  attempts: number;
  pullRequest?: { number: number; url?: string; branch: string };
}

/** `shipgate/<app>/<env>/<run>`, reduced to characters every git host accepts. */
export function pullRequestBranch(app: string, env: string, runId: string): string {
  return `shipgate/${refPart(app)}/${refPart(env)}/${refPart(runId)}`;
}

/** One path segment of a branch name: lowercase letters, digits, `_` and single dashes. */
export function refPart(value: string): string {
  const part = value
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return part || 'x';
}

export async function commitToEnvRepo(
  options: EnvRepoOptions,
  request: CommitToEnvRepoRequest,
): Promise<CommitToEnvRepoResult> {
  const path = assertSafeRelativePath(request.path, 'env repo path');
  if (request.files.length === 0) {
    // An empty render would delete the app from the environment; that is a revert's job.
    throw GitopsRequestInvalid(`nothing was rendered for ${request.app} in ${request.env}`);
  }
  const runId = request.trailers.shipgateRun;
  const message = formatCommitMessage({
    subject:
      request.subject ??
      `deploy ${request.app} ${request.trailers.image.split(/[/]/).pop()} to ${request.env}`,
    ...(request.body !== undefined ? { body: request.body } : {}),
    trailers: releaseTrailerPairs(request.trailers),
  });
  const mode = request.mode ?? { kind: 'direct' };
  const prBranch = mode.kind === 'pr' ? pullRequestBranch(request.app, request.env, runId) : undefined;

  const outcome = await writeEnvPath<string>(options, path, mode, prBranch, async (ctx) => {
    if (ctx.head) {
      // A commit of this run on this path means an earlier attempt landed (maybe the job died
      // after pushing): report it instead of committing again, even if newer commits followed.
      const earlier = await findRunCommit(
        ctx.repo,
        ctx.branch,
        ctx.head,
        path,
        runId,
        options.lookback ?? 50,
      );
      if (earlier) return { kind: 'done', result: earlier };
    }
    return { kind: 'write', subtree: await writeFlatTree(ctx.repo, request.files), message };
  });

  if (outcome.status === 'done')
    return { status: 'reused', commit: outcome.result, attempts: outcome.attempts };
  return {
    status: outcome.status,
    commit: outcome.commit,
    attempts: outcome.attempts,
    ...(outcome.pullRequest ? { pullRequest: outcome.pullRequest } : {}),
  };
}

/**
 * This run's commit on `path` within the fetched history. Shallow history makes git see the
 * oldest fetched commit as adding every path, so a match there is confirmed with its parent.
 */
async function findRunCommit(
  repo: ScratchRepo,
  branch: string,
  head: string,
  path: string,
  runId: string,
  lookback: number,
): Promise<string | undefined> {
  for (let deepened = false; ; deepened = true) {
    const history = await repo.log(head, { path, maxCount: lookback });
    const match = history.find((c) => trailerValue(parseTrailers(c.message), 'Shipgate-Run') === runId);
    if (!match) return undefined;
    if (match.parents.length > 0 || !(await repo.isShallowBoundary(match.sha))) return match.sha;
    if (deepened) return undefined;
    await repo.deepen(branch, 1);
  }
}

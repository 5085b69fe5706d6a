import { assertSha } from '../git/scratch-repo.js';
import { activeTraceId } from '../telemetry/trace-context.js';
import { formatCommitMessage } from './commit-message.js';
import { refPart } from './commit-to-env-repo.js';
import { subtreeAt } from './edit-env-tree.js';
import { assertSafeRelativePath } from './path-safety.js';
import { liveStateOf, pathHistory } from './read-live.js';
import { writeEnvPath, type EnvRepoOptions, type WriteMode } from './write-env-path.js';

/**
 * Restores one app and environment to its previous good state as a new commit, so git never
 * claims a broken version is live. Only the path changes; other apps keep their trees.
 *
 * Safe to retry: it never reverts a commit that is not live (someone shipped since, or it was
 * already reverted), and a second call for the same bad commit finds the first revert.
 */

export interface RevertRequest {
  /** Granted path, e.g. `apps/api/production`. */
  path: string;
  /** The commit to undo (full sha). If it is not what is live, nothing happens. @defaultValue what is live */
  badCommit?: string;
  /** Restore the path as it was at this commit (a rollback), instead of as it was before `badCommit`. */
  toCommit?: string;
  /** The run doing the revert (rollback run or the failed release's run). */
  runId: string;
  /** Why, in a sentence; goes into the commit body. */
  reason: string;
  /** For the subject line. */
  app?: string;
  env?: string;
  /** @defaultValue `{ kind: 'direct' }` */
  mode?: WriteMode;
  /** Commits of history to search for the previous state. @defaultValue 2000 */
  maxDepth?: number;
}

export interface RevertResult {
  /**
   * `reverted`: a revert commit was pushed (or merged, in PR mode). `already-reverted`: an
   * earlier revert of this commit is live. `not-live`: the bad commit is no longer what is
   * live, so nothing was done. `nothing-to-revert`: the path has no history, or the restored
   * state equals what is live.
   */
  status: 'reverted' | 'already-reverted' | 'not-live' | 'nothing-to-revert';
  /** The commit now live for the path (the revert commit when one was made). */
  commit: string | null;
  /** The commit that was undone. */
  reverted?: string;
  /** The commit whose state was restored; null when the path was removed. */
  restored?: string | null;
  /** A sentence for logs and notifications. */
  explanation: string;
  attempts: number;
}

type Done = Omit<RevertResult, 'attempts'>;

export async function revertAppEnv(options: EnvRepoOptions, request: RevertRequest): Promise<RevertResult> {
  const path = assertSafeRelativePath(request.path, 'env repo path');
  const segments = path.split('/');
  if (request.badCommit) assertSha(request.badCommit);
  if (request.toCommit) assertSha(request.toCommit);
  const lookback = options.lookback ?? 50;
  const maxDepth = request.maxDepth ?? 2000;
  const mode = request.mode ?? { kind: 'direct' };
  const label = `${request.app ?? path}${request.env ? ` in ${request.env}` : ''}`;
  let plannedBad: string | undefined;
  let plannedRestore: string | null = null;

  const outcome = await writeEnvPath<Done>(
    options,
    path,
    mode,
    mode.kind === 'pr' ? `shipgate/revert/${refPart(request.runId)}` : undefined,
    async (ctx) => {
      if (!ctx.head)
        return {
          kind: 'done',
          result: {
            status: 'nothing-to-revert',
            commit: null,
            explanation: 'the env repo branch does not exist',
          },
        };
      const history = await pathHistory(ctx.repo, ctx.branch, ctx.head, path, 2, maxDepth, lookback);
      const live = history[0] ? liveStateOf(history[0]) : undefined;
      if (!live) {
        return {
          kind: 'done',
          result: { status: 'nothing-to-revert', commit: null, explanation: `${path} has no history` },
        };
      }
      if (live.reverts && (live.reverts === request.badCommit || live.run === request.runId)) {
        return {
          kind: 'done',
          result: {
            status: 'already-reverted',
            commit: live.commit,
            reverted: live.reverts,
            explanation: `${live.reverts.slice(0, 12)} was already reverted by ${live.commit.slice(0, 12)}`,
          },
        };
      }
      const bad = request.badCommit ?? live.commit;
      if (live.commit !== bad) {
        return {
          kind: 'done',
          result: {
            status: 'not-live',
            commit: live.commit,
            explanation: `${bad.slice(0, 12)} is not live for ${path} (live is ${live.commit.slice(0, 12)}); nothing reverted`,
          },
        };
      }

      let restoredTree: string | null;
      let restoredFrom: ReturnType<typeof liveStateOf> | undefined;
      if (request.toCommit) {
        await ctx.repo.fetchCommit(request.toCommit, lookback);
        restoredTree = await subtreeAt(
          ctx.repo,
          await ctx.repo.revParse(`${request.toCommit}^{tree}`),
          segments,
        );
        const at = await ctx.repo.log(request.toCommit, { path, maxCount: 1 });
        restoredFrom = at[0] ? liveStateOf(at[0]) : undefined;
      } else {
        const badInfo = history[0]!;
        const parent = badInfo.parents[0];
        restoredTree = parent
          ? await subtreeAt(ctx.repo, await ctx.repo.revParse(`${parent}^{tree}`), segments)
          : null;
        restoredFrom = history[1] ? liveStateOf(history[1]) : undefined;
      }
      plannedBad = bad;
      plannedRestore = restoredFrom?.commit ?? null;

      const trailers: [string, string][] = [
        ['Shipgate-Run', request.runId],
        ['Reverts', bad],
      ];
      if (restoredFrom) {
        trailers.push(['Restores', restoredFrom.commit]);
        // Carry the restored state's provenance, so "what is live" reads right after a revert.
        if (restoredFrom.sourceRepo) trailers.push(['Source-Repo', restoredFrom.sourceRepo]);
        if (restoredFrom.sourceCommit) trailers.push(['Source-Commit', restoredFrom.sourceCommit]);
        if (restoredFrom.image) trailers.push(['Image', restoredFrom.image]);
      }
      const traceId = activeTraceId();
      if (traceId !== undefined) trailers.push(['Shipgate-Trace', traceId]);
      const message = formatCommitMessage({
        subject: `revert ${label} to ${restoredFrom ? restoredFrom.commit.slice(0, 12) : 'nothing'}`,
        body: `${request.reason}\n\nThis reverts ${bad} ("${live.subject}")${
          restoredFrom ? ` and restores ${path} as of ${restoredFrom.commit}` : ` and removes ${path}`
        }.`,
        trailers,
      });
      return { kind: 'write', subtree: restoredTree, message };
    },
  );

  if (outcome.status === 'done') return { ...outcome.result, attempts: outcome.attempts };
  if (outcome.status === 'unchanged') {
    return {
      status: 'nothing-to-revert',
      commit: outcome.commit,
      ...(plannedBad ? { reverted: plannedBad } : {}),
      explanation: `the state before ${plannedBad?.slice(0, 12) ?? 'it'} equals what is live; no commit needed`,
      attempts: outcome.attempts,
    };
  }
  return {
    status: 'reverted',
    commit: outcome.commit,
    ...(plannedBad ? { reverted: plannedBad } : {}),
    restored: plannedRestore,
    explanation: `reverted ${plannedBad?.slice(0, 12)} for ${path}${outcome.pullRequest ? ` through PR #${outcome.pullRequest.number}` : ''}`,
    attempts: outcome.attempts,
  };
}

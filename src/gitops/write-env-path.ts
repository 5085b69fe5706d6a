import { setTimeout as sleep } from 'node:timers/promises';
import {
  GitopsPullRequestClosed,
  GitopsPullRequestTimeout,
  GitopsPushConflict,
  GitopsPushRefused,
} from '../errors.js';
import { retry } from '../retry/retry.js';
import type { GitCli } from '../git/git-cli.js';
import { assertRefName, ScratchRepo, type RemoteSpec } from '../git/scratch-repo.js';
import { emptyTreeId, replaceSubtree, subtreeAt } from './edit-env-tree.js';
import { assertSafeRelativePath } from './path-safety.js';

/**
 * The one write loop of the GitOps writer, shared by release commits and reverts:
 * fetch the branch tip (shallow, partial) → decide → swap exactly one path's subtree →
 * commit → push without force. A non-fast-forward push means someone else landed first, so
 * the loop fetches the new tip, decides again (the caller may now find its work done) and
 * re-applies its path on top, with jittered backoff. Because only the granted path is
 * replaced, re-applying never undoes another writer's change.
 */

/** What Shipgate needs from GitHub for PR mode (implemented over `src/github/pulls.ts`). */
export interface PullRequestPort {
  /** Opens a PR from `head` into `base`, or returns the open PR for `head` if one exists. */
  open(input: {
    head: string;
    base: string;
    title: string;
    body: string;
  }): Promise<{ number: number; url?: string }>;
  /** `mergeCommitSha` is set once merged. */
  state(number: number): Promise<{ state: 'open' | 'closed' | 'merged'; mergeCommitSha?: string | null }>;
}

export type WriteMode =
  | { kind: 'direct' }
  | {
      kind: 'pr';
      pullRequests: PullRequestPort;
      /** @defaultValue 5_000 */
      pollIntervalMs?: number;
      /** How long to wait for a merge before failing (retryably). @defaultValue 600_000 */
      mergeTimeoutMs?: number;
    };

export interface EnvRepoOptions {
  git: GitCli;
  remote: RemoteSpec;
  /** Branch Argo CD watches. @defaultValue `main` */
  branch?: string;
  /** Scratch space for the temporary repositories (e.g. `<dataDir>/gitops`). */
  workDir: string;
  /** Commits of history fetched, to find an earlier attempt of the same run. @defaultValue 50 */
  lookback?: number;
  /** Push attempts before giving up on a busy branch. @defaultValue 12 */
  maxAttempts?: number;
  /** Backoff between rejected pushes: base and cap. @defaultValue { baseMs: 100, maxMs: 2_000 } */
  backoff?: { baseMs: number; maxMs: number };
  /** Partial-clone filter; null fetches blobs too. @defaultValue `blob:none` */
  filter?: string | null;
  /**
   * Runs one direct-mode attempt (fetch → decide → commit → push) in this writer's turn among
   * Shipgate's writers of the branch, so they stop losing push races to each other. Optional:
   * without it every writer races, and the loop below still makes that safe.
   */
  writeTurn?: <R>(branch: string, work: () => Promise<R>) => Promise<R>;
  /** Test seams around the push (e.g. to simulate a crash between commit and push). */
  hooks?: {
    beforePush?: (commit: string) => Promise<void>;
    afterPush?: (commit: string) => Promise<void>;
  };
}

export interface WriteContext {
  repo: ScratchRepo;
  branch: string;
  /** Branch tip, or null when the branch does not exist yet. */
  head: string | null;
  /** Tree id at the path now, or null when it does not exist. */
  current: string | null;
  emptyTree: string;
  attempt: number;
}

export type WritePlan<T> =
  { kind: 'done'; result: T } | { kind: 'write'; subtree: string | null; message: string; date?: Date };

export interface WriteOutcome {
  status: 'committed' | 'unchanged' | 'merged';
  /** The commit now on the branch for this path (the merge commit in PR mode). */
  commit: string | null;
  attempts: number;
  pullRequest?: { number: number; url?: string; branch: string };
}

/** A push that lost the race to another writer: fetch, decide and commit again. */
class PushRaced extends Error {}

export async function writeEnvPath<T>(
  options: EnvRepoOptions,
  pathInRepo: string,
  mode: WriteMode,
  prBranch: string | undefined,
  decide: (ctx: WriteContext) => Promise<WritePlan<T>>,
): Promise<WriteOutcome | { status: 'done'; result: T; attempts: number }> {
  const path = assertSafeRelativePath(pathInRepo, 'env repo path');
  const segments = path.split('/');
  const branch = options.branch ?? 'main';
  assertRefName(branch);
  if (prBranch) assertRefName(prBranch);
  const lookback = options.lookback ?? 50;
  const maxAttempts = options.maxAttempts ?? 12;
  const backoff = options.backoff ?? { baseMs: 100, maxMs: 2_000 };
  const filter = options.filter === null ? undefined : (options.filter ?? 'blob:none');

  const repo = await ScratchRepo.open(options.git, options.workDir, options.remote, filter);
  try {
    const emptyTree = await emptyTreeId(repo);
    const attemptWrite = async (
      attempt: number,
    ): Promise<WriteOutcome | { status: 'done'; result: T; attempts: number }> => {
      const head = await repo.fetchBranch(branch, lookback);
      const headTree = head ? await repo.revParse(`${head}^{tree}`) : null;
      const current = await subtreeAt(repo, headTree, segments);
      const plan = await decide({ repo, branch, head, current, emptyTree, attempt });
      if (plan.kind === 'done') return { status: 'done', result: plan.result, attempts: attempt };
      const normalizedCurrent = current === emptyTree ? null : current;
      const normalizedNext = plan.subtree === emptyTree ? null : plan.subtree;
      if (normalizedCurrent === normalizedNext)
        return { status: 'unchanged', commit: head, attempts: attempt };

      if (mode.kind === 'pr') {
        return await writeThroughPullRequest(
          repo,
          mode,
          branch,
          prBranch!,
          attempt,
          async () => {
            const root = await replaceSubtree(repo, headTree, segments, plan.subtree, emptyTree);
            return repo.commitTree(root, head ? [head] : [], plan.message, plan.date);
          },
          plan.message,
          options.hooks,
        );
      }

      const root = await replaceSubtree(repo, headTree, segments, plan.subtree, emptyTree);
      const commit = await repo.commitTree(root, head ? [head] : [], plan.message, plan.date);
      await options.hooks?.beforePush?.(commit);
      const pushed = await repo.push(commit, branch);
      if (pushed.ok) {
        await options.hooks?.afterPush?.(commit);
        return { status: 'committed', commit, attempts: attempt };
      }
      if (!pushed.race) throw GitopsPushRefused(branch, pushed.reason);
      throw new PushRaced();
    };
    // PR mode waits minutes for a merge and pushes only its own branch: it takes no turn.
    const inTurn = mode.kind === 'direct' && options.writeTurn ? options.writeTurn : undefined;
    return await retry(
      (_signal, attempt) => (inTurn ? inTurn(branch, () => attemptWrite(attempt)) : attemptWrite(attempt)),
      {
        attempts: maxAttempts,
        minDelayMs: backoff.baseMs,
        maxDelayMs: backoff.maxMs,
        // Equal jitter: spreads ten writers that collided apart, while still waiting at least half.
        jitter: 'equal',
        retryable: (err) => err instanceof PushRaced,
      },
    ).catch((err: unknown) => {
      throw err instanceof PushRaced ? GitopsPushConflict(branch, maxAttempts) : err;
    });
  } finally {
    await repo.close();
  }
}

async function writeThroughPullRequest(
  repo: ScratchRepo,
  mode: Extract<WriteMode, { kind: 'pr' }>,
  base: string,
  prBranch: string,
  attempt: number,
  makeCommit: () => Promise<string>,
  message: string,
  hooks: EnvRepoOptions['hooks'],
): Promise<WriteOutcome> {
  // The branch name carries the run id, so a branch that exists is this run's earlier attempt:
  // reuse it rather than pushing a second commit.
  const existing = await repo.fetchBranch(prBranch, 1);
  if (!existing) {
    const commit = await makeCommit();
    await hooks?.beforePush?.(commit);
    const pushed = await repo.push(commit, prBranch);
    if (!pushed.ok) {
      if (pushed.race) throw GitopsPushConflict(prBranch, 1);
      throw GitopsPushRefused(prBranch, pushed.reason);
    }
    await hooks?.afterPush?.(commit);
  }
  const [subject = '', ...rest] = message.split('\n');
  const pr = await mode.pullRequests.open({
    head: prBranch,
    base,
    title: subject,
    body: `${rest.join('\n').trim()}\n\nOpened by Shipgate. Merging this pull request deploys it.`,
  });
  const poll = mode.pollIntervalMs ?? 5_000;
  const timeout = mode.mergeTimeoutMs ?? 600_000;
  const deadline = Date.now() + timeout;
  for (;;) {
    const state = await mode.pullRequests.state(pr.number);
    if (state.state === 'merged') {
      return {
        status: 'merged',
        commit: state.mergeCommitSha ?? null,
        attempts: attempt,
        pullRequest: { ...pr, branch: prBranch },
      };
    }
    if (state.state === 'closed') throw GitopsPullRequestClosed(pr.number);
    if (Date.now() + poll > deadline) throw GitopsPullRequestTimeout(pr.number, timeout);
    await sleep(poll);
  }
}

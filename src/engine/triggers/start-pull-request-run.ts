import { evaluateRepoAccess, forkPullRequestPolicy } from '../../policy/index.js';
import { setExpectedGates } from '../progress/advance-run.js';
import type { CheckKey } from '../decisions/check-names.js';
import { windDownRun } from '../progress/cancel-run.js';
import type { Trigger } from '../decisions/decide-trigger.js';
import type { EngineContext } from '../context/engine-context.js';
import { loadPipelineOfRun } from '../progress/pipeline-of-run.js';
import { reportConfigCheck } from './report-config-check.js';
import { ensureRunChecks } from '../progress/run-checks.js';
import { enqueueStage } from '../context/stage-jobs.js';
import { withRunStartLease } from './run-start-lease.js';

export type StartOutcome =
  | { status: 'started'; runId: string }
  | { status: 'exists'; runId: string }
  | { status: 'stopped'; runId: string; reason: string }
  | { status: 'ignored'; reason: string };

type PullRequestTrigger = Extract<Trigger, { type: 'pull-request' }>;

export const PR_ORIGIN_STEP = 'pr-origin';

/**
 * A pull request's head: one run per head sha. A newer head supersedes older runs of the PR
 * (their jobs are removed, their checks completed as cancelled). Fork PRs run nothing unless
 * the platform policy says `checks-only`, and then never the test command.
 */
export async function startPullRequestRun(
  ctx: EngineContext,
  trigger: PullRequestTrigger,
  options: { idempotencyKey?: string } = {},
): Promise<StartOutcome> {
  const { policy } = await ctx.policy.current();
  const access = evaluateRepoAccess(policy, trigger.repo);
  if (!access.allowed) return { status: 'ignored', reason: access.reason };
  const forkMode = trigger.isFork ? forkPullRequestPolicy(policy) : 'all';
  if (forkMode === 'none')
    return { status: 'ignored', reason: 'pull request from a fork: the policy runs nothing for forks' };

  const { run } = await ctx.runs.createRun(
    {
      kind: 'pr',
      repo: trigger.repo,
      installationId: trigger.installationId,
      sha: trigger.headSha,
      ref: `refs/pull/${trigger.prNumber}/head`,
      prNumber: trigger.prNumber,
      releaser: trigger.senderLogin,
    },
    { idempotencyKey: options.idempotencyKey ?? trigger.idempotencyKey },
  );
  // Kept with the run: a "Re-run" of a fork's check must still treat it as a fork.
  await ctx.runs.recordStepResult(run.id, PR_ORIGIN_STEP, { isFork: trigger.isFork });
  const superseded = await ctx.runs.supersedeOlderPrRuns(trigger.repo, trigger.prNumber, run.id);
  for (const oldId of superseded) {
    const old = await ctx.runs.getRun(oldId);
    if (old) await windDownRun(ctx, old, `Superseded by a newer push (${trigger.headSha.slice(0, 7)}).`);
  }
  return withRunStartLease(ctx, run.id, async () => {
    // A redelivered webhook finds the run started. Gating runs go through the steps again, which
    // are all idempotent, so a crash between the transition and the enqueues is recovered.
    if (run.state !== 'queued' && run.state !== 'gating') return { status: 'exists', runId: run.id };

    const load = await loadPipelineOfRun(ctx, run);
    if (!(await reportConfigCheck(ctx, run, load))) {
      return { status: 'stopped', runId: run.id, reason: 'no valid .shipgate.yml' };
    }
    const keys: CheckKey[] =
      forkMode === 'checks-only' ? ['trivy', 'manifests'] : ['tests', 'trivy', 'manifests'];
    await setExpectedGates(ctx, run.id, keys);
    // Their gate jobs are enqueued in this same step, so the checks are created running: a
    // PATCH to mark each one started a moment later would be one more paced GitHub write.
    const checks = await ensureRunChecks(ctx, run, keys, { status: 'in_progress' });
    const moved = await ctx.runs.transition(run.id, {
      from: 'queued',
      to: 'gating',
      eventKey: `${run.id}:to-gating`,
    });
    if (!moved.ok) {
      // A newer push superseded this run while its checks were being created: the superseder
      // wound down only the checks that existed then, so the ones made since are ours to end.
      const now = await ctx.runs.getRun(run.id);
      if (now && (now.state === 'superseded' || now.state === 'cancelled')) {
        await windDownRun(ctx, now, now.reason ?? 'Superseded by a newer push.');
        return { status: 'stopped', runId: run.id, reason: `run ${now.state} while starting` };
      }
      return { status: 'exists', runId: run.id };
    }

    if (checks.tests !== undefined) {
      await enqueueStage(ctx.queues, {
        stage: 'gate',
        runId: run.id,
        gate: 'tests',
        checkRunId: checks.tests,
        attempt: 1,
      });
    }
    await enqueueStage(ctx.queues, {
      stage: 'gate',
      runId: run.id,
      gate: 'trivy',
      checkRunId: checks.trivy!,
      attempt: 1,
    });
    await enqueueStage(ctx.queues, {
      stage: 'manifests-preview',
      runId: run.id,
      checkRunId: checks.manifests!,
      attempt: 1,
    });
    return { status: 'started', runId: run.id };
  });
}

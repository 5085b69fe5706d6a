import { getCheckRun } from '../../github/index.js';
import { closeOpenDeployments } from '../../recovery/close-open-work.js';
import { NON_TERMINAL_STATES } from '../../runs/run-state-machine.js';
import { completeRunCheck, runChecks } from './run-checks.js';
import { splitRepo, type EngineContext } from '../context/engine-context.js';

/**
 * A stage job BullMQ failed for good without its handler reporting it: "job stalled more than
 * allowable limit" (its worker kept dying or missed its lock renewals), or a last attempt that
 * crashed before `onGivingUp` ran. Nothing else would ever move the run on, so it is failed here
 * and its open check runs and GitHub Deployments completed, or the PR, the tag and the
 * Environments page would show them pending forever.
 *
 * Idempotent: the transition is keyed on the run, and a check already completed on GitHub (by its
 * gate, or by an earlier call) is left alone. A run already terminal keeps its state; its open checks
 * are still closed, since a superseded run may have lost the race with its own starter.
 */
export async function failAbandonedRun(
  ctx: EngineContext,
  runId: string,
  explanation: string,
): Promise<{ failed: boolean; checksClosed: number; deploymentsClosed: number }> {
  const run = await ctx.runs.getRun(runId);
  if (!run) return { failed: false, checksClosed: 0, deploymentsClosed: 0 };
  const reason = `Shipgate gave up on this run: ${explanation}`;
  const moved = await ctx.runs.transition(run.id, {
    from: NON_TERMINAL_STATES,
    to: 'failed',
    reason,
    eventKey: `${run.id}:abandoned`,
    event: { type: 'abandoned', message: reason },
  });
  const now = moved.run ?? run;
  const checks = await runChecks(ctx, run.id);
  const finished = new Set(Object.keys(now.gates ?? {}));
  const octokit = await ctx.github.forInstallation(run.installationId);
  let checksClosed = 0;
  for (const [key, checkRunId] of Object.entries(checks)) {
    if (key === 'config' || finished.has(key) || checkRunId === undefined) continue;
    // Level-triggered: what GitHub shows decides, so a repeat does not rewrite a closed check.
    const current = await getCheckRun(octokit, { ...splitRepo(run.repo), checkRunId });
    if (current.status === 'completed') continue;
    await completeRunCheck(ctx, now, checkRunId, {
      conclusion: now.state === 'superseded' || now.state === 'cancelled' ? 'cancelled' : 'failure',
      title: 'Shipgate could not finish this check',
      summary: reason,
    });
    checksClosed += 1;
  }
  const deploymentsClosed =
    run.kind === 'pr'
      ? []
      : await closeOpenDeployments(
          octokit,
          { ...splitRepo(run.repo), sha: run.sha },
          (id) => id === run.id,
          reason,
        );
  return { failed: moved.ok && !moved.replayed, checksClosed, deploymentsClosed: deploymentsClosed.length };
}

import { approvalRequirement } from '../../policy/index.js';
import type { Run } from '../../runs/run-types.js';
import { releaseEnvironments } from './advance-run.js';
import type { EngineContext } from '../context/engine-context.js';
import { enqueueStage } from '../context/stage-jobs.js';

const APPROVED_BY_STEP = (env: string) => `approved-by:${env}`;

/** `Approved-by` trailer values recorded for `env` by the approval that let the release in. */
export async function approvedByFor(ctx: EngineContext, runId: string, env: string): Promise<string[]> {
  return (await ctx.runs.getStepResult<string[]>(runId, APPROVED_BY_STEP(env))) ?? [];
}

/**
 * After `env` deployed and verified: the release moves to the next environment, through an
 * approval when the platform policy asks for one, or ends as succeeded after the last one.
 */
export async function continueAfterEnvironment(ctx: EngineContext, run: Run, env: string): Promise<Run> {
  const envs = await releaseEnvironments(ctx, run.id);
  const next = envs[envs.indexOf(env) + 1];
  if (next === undefined) {
    const done = await ctx.runs.transition(run.id, {
      from: ['deploying', 'verifying'],
      to: 'succeeded',
      eventKey: `${run.id}:done`,
    });
    return done.run ?? run;
  }
  const { policy } = await ctx.policy.current();
  if (approvalRequirement(policy, next).required) {
    const moved = await ctx.runs.transition(run.id, {
      from: ['deploying', 'verifying'],
      to: 'awaiting-approval',
      env: next,
      eventKey: `${run.id}:await:${next}`,
    });
    if (moved.ok) await enqueueStage(ctx.queues, { stage: 'approval-request', runId: run.id, env: next });
    return moved.run ?? run;
  }
  const moved = await ctx.runs.transition(run.id, {
    from: ['deploying', 'verifying'],
    to: 'deploying',
    env: next,
    eventKey: `${run.id}:deploy:${next}`,
  });
  if (moved.ok) await enqueueStage(ctx.queues, { stage: 'deploy', runId: run.id, env: next });
  return moved.run ?? run;
}

/**
 * The approval for `env` is complete: remember who approved (for the commit's `Approved-by`
 * trailers and the audit log) and send the release on to deploy `env`.
 */
export async function continueAfterApproval(
  ctx: EngineContext,
  runId: string,
  env: string,
  approvedBy: readonly string[],
): Promise<Run> {
  await ctx.runs.recordStepResult(runId, APPROVED_BY_STEP(env), approvedBy);
  await ctx.runs.appendEvent(
    runId,
    { type: 'approval', message: `${env} approved by ${approvedBy.join(', ')}`, data: { env, approvedBy } },
    { eventKey: `approved:${env}` },
  );
  const moved = await ctx.runs.transition(runId, {
    from: 'awaiting-approval',
    to: 'deploying',
    env,
    eventKey: `${runId}:deploy:${env}`,
  });
  if (moved.ok) await enqueueStage(ctx.queues, { stage: 'deploy', runId, env });
  return moved.run ?? (await ctx.runs.requireRun(runId));
}

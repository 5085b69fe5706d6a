import { evaluateRepoAccess } from '../../policy/index.js';
import { setExpectedGates, setReleaseEnvironments } from '../progress/advance-run.js';
import type { Trigger } from '../decisions/decide-trigger.js';
import { planEnvironments } from '../decisions/deploy-targets.js';
import { splitRepo, type EngineContext } from '../context/engine-context.js';
import { notifyRelease } from '../progress/notify-release.js';
import { loadPipelineOfRun } from '../progress/pipeline-of-run.js';
import { reportConfigCheck } from './report-config-check.js';
import { resolveTagCommit } from './resolve-tag.js';
import { ensureRunChecks } from '../progress/run-checks.js';
import { enqueueStage } from '../context/stage-jobs.js';
import { withRunStartLease } from './run-start-lease.js';
import type { StartOutcome } from './start-pull-request-run.js';

type ReleaseTrigger = Extract<Trigger, { type: 'release' }>;

/**
 * A release tag: one run per repo and tag, whichever of the tag's `push` and `create`
 * deliveries comes first. Gates (tests, Trivy) run first; `advanceGatingRun` then sends the
 * release to its first environment.
 */
export async function startReleaseRun(
  ctx: EngineContext,
  trigger: ReleaseTrigger,
  options: { idempotencyKey?: string } = {},
): Promise<StartOutcome> {
  const { policy } = await ctx.policy.current();
  const access = evaluateRepoAccess(policy, trigger.repo);
  if (!access.allowed) return { status: 'ignored', reason: access.reason };

  let sha = trigger.sha;
  if (sha === null) {
    const octokit = await ctx.github.forInstallation(trigger.installationId);
    sha = await resolveTagCommit(octokit, { ...splitRepo(trigger.repo), tag: trigger.tag });
  }
  const { run } = await ctx.runs.createRun(
    {
      kind: 'release',
      repo: trigger.repo,
      installationId: trigger.installationId,
      sha,
      ref: `refs/tags/${trigger.tag}`,
      tag: trigger.tag,
      releaser: trigger.releaser,
    },
    { idempotencyKey: options.idempotencyKey ?? trigger.idempotencyKey },
  );
  return withRunStartLease(ctx, run.id, async () => {
    if (run.state !== 'queued' && run.state !== 'gating') return { status: 'exists', runId: run.id };

    const load = await loadPipelineOfRun(ctx, run);
    const plan = load.ok ? planEnvironments(load.config, policy, run.repo) : undefined;
    const refusals = plan?.refused.map((r) => `environment \`${r.env}\`: ${r.reason}`) ?? [];
    if (!(await reportConfigCheck(ctx, run, load, refusals))) {
      return { status: 'stopped', runId: run.id, reason: 'no valid .shipgate.yml' };
    }
    if (load.ok) await ctx.runs.updateRunFields(run.id, { app: load.config.app });
    await setReleaseEnvironments(
      ctx,
      run.id,
      plan!.environments.map((e) => e.target.env),
    );
    await setExpectedGates(ctx, run.id, ['tests', 'trivy']);
    // Their gate jobs are enqueued in this same step, so the checks are created running: a
    // PATCH to mark each one started a moment later would be one more paced GitHub write.
    const checks = await ensureRunChecks(ctx, run, ['tests', 'trivy'], { status: 'in_progress' });
    const moved = await ctx.runs.transition(run.id, {
      from: 'queued',
      to: 'gating',
      eventKey: `${run.id}:to-gating`,
    });
    if (!moved.ok) return { status: 'exists', runId: run.id };
    await notifyRelease(ctx, moved.run, { kind: 'release-started' });
    await enqueueStage(ctx.queues, {
      stage: 'gate',
      runId: run.id,
      gate: 'tests',
      checkRunId: checks.tests!,
      attempt: 1,
    });
    await enqueueStage(ctx.queues, {
      stage: 'gate',
      runId: run.id,
      gate: 'trivy',
      checkRunId: checks.trivy!,
      attempt: 1,
    });
    return { status: 'started', runId: run.id };
  });
}

import { isReleaseTag } from '../../policy/index.js';
import type { WebhookJob } from '../../webhooks/webhook-job.js';
import { checkExternalId, parseCheckExternalId, type CheckKey } from '../decisions/check-names.js';
import { runChecks } from '../progress/run-checks.js';
import { decideTrigger, releaseIdempotencyKey, type Trigger } from '../decisions/decide-trigger.js';
import type { EngineContext } from '../context/engine-context.js';
import { PR_ORIGIN_STEP, startPullRequestRun, type StartOutcome } from './start-pull-request-run.js';
import { startReleaseRun } from './start-release-run.js';

/**
 * The pipeline worker's one call: turn a verified delivery into a run (or a logged reason for
 * doing nothing). Every step below is idempotent, so a retried job converges on one run.
 */
export async function handleWebhookJob(ctx: EngineContext, job: WebhookJob): Promise<StartOutcome> {
  const { policy } = await ctx.policy.current();
  const appId = ctx.config.github.appId === undefined ? undefined : Number(ctx.config.github.appId);
  const trigger = decideTrigger(job, { isReleaseTag: (tag) => isReleaseTag(policy, tag), appId });
  const log = ctx.logger.child({ deliveryId: job.deliveryId, event: job.event, repo: job.repo?.fullName });

  const outcome = await dispatch(ctx, trigger);
  if (outcome.status === 'ignored') log.info({ reason: outcome.reason }, 'delivery starts nothing');
  else log.info({ runId: outcome.runId, status: outcome.status }, 'delivery handled');
  return outcome;
}

async function dispatch(ctx: EngineContext, trigger: Trigger): Promise<StartOutcome> {
  switch (trigger.type) {
    case 'ignore':
      return { status: 'ignored', reason: trigger.reason };
    case 'pull-request':
      return startPullRequestRun(ctx, trigger);
    case 'release':
      return startReleaseRun(ctx, trigger);
    case 'rerun-check':
      return rerunFromCheck(ctx, trigger);
    case 'rerun-suite':
      return rerunSuite(ctx, trigger);
  }
}

/** "Re-run all checks" on the suite: re-run the newest Shipgate run of that commit. */
async function rerunSuite(
  ctx: EngineContext,
  trigger: Extract<Trigger, { type: 'rerun-suite' }>,
): Promise<StartOutcome> {
  const { runs } = await ctx.runs.listRuns({ repo: trigger.repo, limit: 100 });
  const latest = runs.find((run) => run.sha === trigger.headSha && run.kind !== 'rollback');
  if (!latest)
    return { status: 'ignored', reason: `no Shipgate run of ${trigger.headSha.slice(0, 7)} to re-run` };
  const [key, checkRunId] =
    Object.entries(await runChecks(ctx, latest.id)).find(([, id]) => id !== undefined) ?? [];
  if (key === undefined || checkRunId === undefined) {
    return { status: 'ignored', reason: `run ${latest.id} has no check runs to re-run` };
  }
  return rerunFromCheck(ctx, {
    type: 'rerun-check',
    repo: trigger.repo,
    installationId: trigger.installationId,
    checkRunId,
    externalId: checkExternalId(latest.id, key as CheckKey),
    headSha: trigger.headSha,
  });
}

/**
 * "Re-run" on a Shipgate check restarts the run at the same commit as a new run. A run is
 * never changed after it ended, so its history stays true; the new run supersedes it.
 */
async function rerunFromCheck(
  ctx: EngineContext,
  trigger: Extract<Trigger, { type: 'rerun-check' }>,
): Promise<StartOutcome> {
  const parsed = parseCheckExternalId(trigger.externalId);
  if (!parsed) return { status: 'ignored', reason: 'check run external id is not Shipgate’s' };
  const old = await ctx.runs.getRun(parsed.runId);
  if (!old) return { status: 'ignored', reason: `run ${parsed.runId} is unknown or expired` };
  if (old.repo.toLowerCase() !== trigger.repo.toLowerCase()) {
    return { status: 'ignored', reason: 'check run belongs to another repository' };
  }
  const rerunKey = `rerun:${trigger.checkRunId}`;
  if (old.kind === 'pr' && old.prNumber !== undefined) {
    // Unknown origin counts as a fork: a re-run must never grant a fork more than it had.
    const origin = await ctx.runs.getStepResult<{ isFork: boolean }>(old.id, PR_ORIGIN_STEP);
    return startPullRequestRun(
      ctx,
      {
        type: 'pull-request',
        repo: old.repo,
        installationId: old.installationId,
        cloneUrl: ctx.cloneUrlOf(old.repo),
        prNumber: old.prNumber,
        headSha: old.sha,
        headRef: old.ref,
        baseRef: '',
        isFork: origin?.isFork ?? true,
        senderLogin: old.releaser,
        idempotencyKey: `pr:${old.repo.toLowerCase()}:${old.prNumber}:${old.sha}`,
      },
      { idempotencyKey: `pr:${old.repo.toLowerCase()}:${old.prNumber}:${old.sha}:${rerunKey}` },
    );
  }
  if (old.kind === 'release' && old.tag !== undefined) {
    return startReleaseRun(
      ctx,
      {
        type: 'release',
        repo: old.repo,
        installationId: old.installationId,
        cloneUrl: ctx.cloneUrlOf(old.repo),
        tag: old.tag,
        sha: old.sha,
        releaser: old.releaser,
        idempotencyKey: releaseIdempotencyKey(old.repo, old.tag),
      },
      { idempotencyKey: `${releaseIdempotencyKey(old.repo, old.tag)}:${rerunKey}` },
    );
  }
  return { status: 'ignored', reason: `${old.kind} runs are not re-run from a check` };
}

import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { DeployNotConfigured } from '../../../errors.js';
import { cloneAtSha } from '../../../git/clone-with-token.js';
import { releaseToEnvironment } from '../../../gitops/prepare-environment.js';
import { renderImageTag } from '../../../pipeline/index.js';
import { isTerminal } from '../../../runs/run-state-machine.js';
import type { Run } from '../../../runs/run-types.js';
import { envRepoWriteMode } from '../../context/env-repo.js';
import { approvedByFor, continueAfterEnvironment } from '../../progress/continue-release.js';
import { rolloutAbortWording } from '../../../deploy/rollout-abort-wording.js';
import { markRolledBack, syncAndVerify } from './sync-and-verify.js';
import { withDeployTurn } from './with-deploy-turn.js';
import { notifyRelease } from '../../progress/notify-release.js';
import { planEnvironments } from '../../decisions/deploy-targets.js';
import { commitOnce } from './commit-once.js';
import { createDeployPorts } from './deploy-ports.js';
import type { EngineContext } from '../../context/engine-context.js';
import { requirePipelineOfRun } from '../../progress/pipeline-of-run.js';
import type { GatesField } from '../../progress/record-gate-result.js';
import { checkoutOf } from '../gate-stage.js';
import type { StageJob } from '../../context/stage-jobs.js';

type DeployJob = Extract<StageJob, { stage: 'deploy' }>;

/** One line for the commit's `Gates:` trailer: `tests=success trivy=success`. */
export function gatesLine(gates: GatesField): string {
  const parts = Object.entries(gates).map(([key, g]) => `${key}=${g?.conclusion ?? 'unknown'}`);
  return parts.length === 0 ? 'none' : parts.join(' ');
}

/**
 * Deploys one environment of a release: waits its turn on the app+env lock, renders and
 * commits the manifests (idempotent by the run's trailer), then drives Argo CD and the
 * blue-green Rollout through the health gates, and rolls back (abort + revert commit) on a
 * failed gate. Every side effect is a recorded step, so a retried job resumes, never repeats.
 */
export async function runDeployStage(
  ctx: EngineContext,
  job: DeployJob,
  signal?: AbortSignal,
): Promise<void> {
  const run = await ctx.runs.requireRun(job.runId);
  if (
    isTerminal(run.state) ||
    run.currentEnv !== job.env ||
    !['deploying', 'verifying'].includes(run.state)
  ) {
    ctx.logger.info({ runId: run.id, env: job.env, state: run.state }, 'deploy job no longer applies');
    return;
  }
  const app = run.app;
  if (app === undefined) throw DeployNotConfigured(`run ${run.id} has no app`);
  await withDeployTurn(
    ctx,
    run,
    app,
    job.env,
    (current, leaseSignal) => deployWithLock(ctx, current, app, job.env, leaseSignal),
    { signal },
  );
}

async function deployWithLock(
  ctx: EngineContext,
  run: Run,
  app: string,
  env: string,
  signal: AbortSignal,
): Promise<Run> {
  const pipeline = await requirePipelineOfRun(ctx, run);
  const { policy } = await ctx.policy.current();
  const planned = planEnvironments(pipeline, policy, run.repo).environments.find((e) => e.target.env === env);
  if (!planned) throw DeployNotConfigured(`the platform policy no longer grants ${env} to ${run.repo}`);
  const octokit = await ctx.github.forInstallation(run.installationId);
  const log = ctx.logger.child({ runId: run.id, app, env });

  // 1. Render, validate and commit. commitToEnvRepo finds this run's earlier commit by its
  //    Shipgate-Run trailer, so a retry reuses it instead of committing twice.
  const commit = await commitOnce(ctx, run, planned, signal, async (preflighted) => {
    const checkoutDir = await mkdtemp(path.join(ctx.workDir, 'release-'));
    try {
      const src = path.join(checkoutDir, 'src');
      await cloneAtSha({ ...checkoutOf(ctx, run), dir: src });
      const tag = renderImageTag(pipeline.image.tag, { tag: run.tag ?? run.sha, sha: run.sha });
      const mode = await envRepoWriteMode(ctx, planned.mode);
      const result = await releaseToEnvironment(ctx.envRepo, {
        checkoutDir: src,
        source: planned.source,
        target: planned.target,
        image: { repository: pipeline.image.repository, tag },
        trailers: {
          shipgateRun: run.id,
          sourceRepo: run.repo,
          sourceCommit: run.sha,
          gates: gatesLine((run.gates ?? {}) as GatesField),
          approvedBy: await approvedByFor(ctx, run.id, env),
        },
        mode,
        signal,
        beforeCommit: preflighted,
      });
      if (result.commit === null) throw DeployNotConfigured(`nothing was committed for ${app} in ${env}`);
      return {
        sha: result.commit,
        files: result.files,
        event: { message: `${env}: ${result.status} ${result.commit.slice(0, 12)}`, data: {} },
      };
    } finally {
      await rm(checkoutDir, { recursive: true, force: true });
    }
  });

  // 2. GitHub Deployment for this environment and release, and the deploy's ports.
  const ports = await createDeployPorts(ctx, {
    run,
    app,
    env,
    pipeline,
    path: planned.target.path,
    octokit,
    description: `${app} ${run.tag ?? run.sha.slice(0, 7)} → ${env}`,
    logger: log,
  });
  // 3. Sync, watch the blue-green Rollout, run the gates, promote or roll back.
  const result = await syncAndVerify(ctx, { run, app, env, planned, pipeline, commit, ports, signal });
  if (result.outcome === 'rolled-back') {
    log.warn({ gate: result.gate, reason: result.reason, revertCommit: result.revertCommit }, 'rolled back');
    const moved = {
      run: await markRolledBack(ctx, run, env, result, {
        reason: `${result.gate} failed in ${env}: ${result.reason}`,
        message: `${env}: ${result.gate} failed — ${rolloutAbortWording(result.aborted)}; reverted git (${result.revertCommit.slice(0, 12)})`,
      }),
    };
    await notifyRelease(ctx, moved.run ?? run, {
      kind: 'rolled-back',
      env,
      gate: result.gate,
      reason: result.reason,
      revertCommit: result.revertCommit,
    });
    return moved.run ?? run;
  }
  log.info({ revision: result.revision }, 'environment deployed');
  const deployedRun = await ctx.runs.requireRun(run.id);
  const approvers = (deployedRun.approvals ?? [])
    .filter((a) => a.env === env && a.decision === 'approve')
    .map((a) => a.slackUserId);
  await notifyRelease(
    ctx,
    deployedRun,
    approvers.length > 0
      ? { kind: 'promoted', env, approvedBy: approvers }
      : { kind: 'environment-deployed', env },
  );
  return continueAfterEnvironment(ctx, await ctx.runs.requireRun(run.id), env);
}

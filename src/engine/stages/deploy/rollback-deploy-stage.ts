import { DeployNotConfigured, RollbackLiveMoved } from '../../../errors.js';
import { openEnvRepo } from '../../../gitops/open-env-repo.js';
import { readLive } from '../../../gitops/read-live.js';
import { revertAppEnv } from '../../../gitops/revert-app-env.js';
import { isTerminal } from '../../../runs/run-state-machine.js';
import type { Run } from '../../../runs/run-types.js';
import { envRepoWriteMode } from '../../context/env-repo.js';
import { rolloutAbortWording } from '../../../deploy/rollout-abort-wording.js';
import { markRolledBack, syncAndVerify } from './sync-and-verify.js';
import { withDeployTurn } from './with-deploy-turn.js';
import { commitOnce } from './commit-once.js';
import { createDeployPorts } from './deploy-ports.js';
import { planEnvironments } from '../../decisions/deploy-targets.js';
import type { EngineContext } from '../../context/engine-context.js';
import { requirePipelineOfRun } from '../../progress/pipeline-of-run.js';
import type { StageJob } from '../../context/stage-jobs.js';
import { ROLLBACK_PLAN_STEP, type RollbackRecord } from '../../context/rollback-record.js';

type RollbackDeployJob = Extract<StageJob, { stage: 'rollback-deploy' }>;

/**
 * Deploys a manual rollback run to its one environment, through the same path as a release:
 * the app+env lock (ordered by the request time, so a rollback counts as the newest release),
 * one commit in the env repo, Argo CD sync, the blue-green Rollout and its gates.
 *
 * The commit restores the path as it was at the target release (`revertAppEnv` with
 * `toCommit`): subject `revert <app> in <env> to <sha>`, trailers `Shipgate-Run` (this run),
 * `Reverts` (what was live), `Restores` (the target) and the target's `Source-Repo`,
 * `Source-Commit` and `Image`. It reverts exactly the commit that was live when the rollback
 * was planned; if another release moved the environment since, the run fails and says so.
 *
 * If the restored release fails a gate, the Rollout is aborted and the rollback commit itself
 * is reverted, so git names the version that is actually serving again.
 */
export async function runRollbackDeployStage(
  ctx: EngineContext,
  job: RollbackDeployJob,
  signal?: AbortSignal,
): Promise<void> {
  const run = await ctx.runs.requireRun(job.runId);
  if (run.kind !== 'rollback')
    throw DeployNotConfigured(`run ${run.id} is a ${run.kind} run, not a rollback`);
  if (
    isTerminal(run.state) ||
    run.currentEnv !== job.env ||
    !['deploying', 'verifying'].includes(run.state)
  ) {
    ctx.logger.info({ runId: run.id, env: job.env, state: run.state }, 'rollback job no longer applies');
    return;
  }
  const app = run.app;
  if (app === undefined) throw DeployNotConfigured(`run ${run.id} has no app`);
  const record = await ctx.runs.getStepResult<RollbackRecord>(run.id, ROLLBACK_PLAN_STEP);
  if (record === undefined) throw DeployNotConfigured(`rollback run ${run.id} has no plan`);

  await withDeployTurn(
    ctx,
    run,
    app,
    job.env,
    (current, leaseSignal) => rollbackWithLock(ctx, current, app, job.env, record, leaseSignal),
    { signal },
  );
}

async function rollbackWithLock(
  ctx: EngineContext,
  run: Run,
  app: string,
  env: string,
  record: RollbackRecord,
  signal: AbortSignal,
): Promise<Run> {
  // The `.shipgate.yml` of the release being restored: its ZAP settings gate the rollback.
  const pipeline = await requirePipelineOfRun(ctx, run);
  const { policy } = await ctx.policy.current();
  const planned = planEnvironments(pipeline, policy, run.repo).environments.find((e) => e.target.env === env);
  if (!planned) throw DeployNotConfigured(`the platform policy no longer grants ${env} to ${run.repo}`);
  if (planned.target.path !== record.target.path) {
    throw DeployNotConfigured(
      `the policy moved ${app} in ${env} from ${record.target.path} to ${planned.target.path} after the rollback was planned`,
    );
  }
  const path = planned.target.path;
  const octokit = await ctx.github.forInstallation(run.installationId);
  const log = ctx.logger.child({ runId: run.id, app, env });
  const target = record.plan.target;
  const what = target.tag ?? target.sha.slice(0, 12);

  // 1. The rollback commit: exactly one per run. revertAppEnv recognises its own commit (same
  //    Shipgate-Run, reverting the same live commit), so a retry finds it instead of writing again.
  const commit = await commitOnce(ctx, run, planned, signal, async (preflighted) => {
    await preflighted();
    const mode = await envRepoWriteMode(ctx, planned.mode);
    signal.throwIfAborted();
    const result = await revertAppEnv(ctx.envRepo, {
      path,
      badCommit: record.live,
      toCommit: target.sha,
      runId: run.id,
      reason: `Manual rollback of ${app} in ${env} to ${what} (${target.sha}), requested by ${record.requestedBy} (Shipgate run ${run.id}).`,
      app,
      env,
      mode,
    });
    let sha: string;
    if (result.status === 'reverted' && result.commit !== null) sha = result.commit;
    else if (result.status === 'already-reverted' && result.commit !== null) {
      // Only our own earlier attempt counts; a gate's automatic revert of the same commit means
      // the environment moved under us.
      const live = await readLive(ctx.envRepo, { path });
      if (live?.run !== run.id) throw RollbackLiveMoved(app, env, record.live, result.commit);
      sha = result.commit;
    } else if (result.status === 'nothing-to-revert' && result.commit !== null) {
      // The target's manifests are what is live already: nothing to commit, still verify it.
      sha = result.commit;
    } else if (result.status === 'not-live') {
      throw RollbackLiveMoved(app, env, record.live, result.commit ?? 'nothing');
    } else {
      throw DeployNotConfigured(`rollback of ${app} in ${env}: ${result.explanation}`);
    }
    return {
      sha,
      files: await filesAt(ctx, sha, path),
      event: {
        message: `${env}: ${result.status} — ${sha.slice(0, 12)} restores ${what}`,
        data: { restores: target.sha, reverts: record.live },
      },
    };
  });

  // 2–3. The same ports and gates as a release deploy.
  const ports = await createDeployPorts(ctx, {
    run,
    app,
    env,
    pipeline,
    path,
    octokit,
    description: `rollback of ${app} to ${what} → ${env}`,
    // The rollback commit carries this run's id; the revert of a failed rollback must not
    // mistake it for an earlier revert (see DeployPortsRequest.revertRunId).
    revertRunId: `${run.id}-revert`,
    logger: log,
  });
  const result = await syncAndVerify(ctx, { run, app, env, planned, pipeline, commit, ports, signal });

  if (result.outcome === 'rolled-back') {
    log.warn(
      { gate: result.gate, reason: result.reason, revertCommit: result.revertCommit },
      'rollback failed its gates',
    );
    return markRolledBack(ctx, run, env, result, {
      reason: `rollback to ${what} failed ${result.gate} in ${env}: ${result.reason}`,
      message: `${env}: the rollback to ${what} failed ${result.gate} — ${rolloutAbortWording(result.aborted)}; reverted the rollback commit (${result.revertCommit.slice(0, 12)})`,
    });
  }
  log.info({ revision: result.revision, target: target.sha }, 'rolled back');
  const done = await ctx.runs.transition(run.id, {
    from: ['deploying', 'verifying'],
    to: 'succeeded',
    event: {
      type: 'rollback',
      message: `${env}: ${app} is back on ${what} (${commit.sha.slice(0, 12)} restores ${target.sha.slice(0, 12)})`,
      data: { env, commit: commit.sha, restores: target.sha, reverts: record.live },
    },
    eventKey: `${run.id}:done`,
  });
  return done.run ?? run;
}

/** Files of `dir` at `commit` (relative to it): the deploy finds the Rollout among them. */
async function filesAt(ctx: EngineContext, commit: string, dir: string): Promise<string[]> {
  return openEnvRepo(ctx.envRepo, async (repo) => {
    await repo.fetchCommit(commit, 1);
    const tree = await repo.objectAt(commit, dir);
    if (tree === null) return [];
    return (await repo.lsTreeRecursive(tree)).filter((e) => e.type === 'blob').map((e) => e.name);
  });
}

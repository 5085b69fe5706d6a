import path from 'node:path';
import { parse } from 'yaml';
import type { DeployInput } from '../../../deploy/deploy-input.js';
import { runDeploy, type DeployResult } from '../../../deploy/run-deploy.js';
import { openEnvRepo } from '../../../gitops/open-env-repo.js';
import type { DeployPorts } from '../../../deploy/ports.js';
import { recordRollback } from '../../../audit/record-decision.js';
import { recordDeployForDora } from '../../../dora/record-deploy.js';
import { DeployNotConfigured } from '../../../errors.js';
import type { PipelineConfig } from '../../../pipeline/index.js';
import type { Run } from '../../../runs/run-types.js';
import { deployNames } from '../../../deploy/deploy-names.js';
import type { PlannedEnvironment } from '../../decisions/deploy-targets.js';
import type { EngineContext } from '../../context/engine-context.js';

export interface SyncAndVerifyRequest {
  run: Run;
  app: string;
  env: string;
  planned: PlannedEnvironment;
  pipeline: PipelineConfig;
  /** The env-repo commit to sync and the files it holds for this app and environment. */
  commit: { sha: string; files: readonly string[] };
  ports: DeployPorts;
  signal?: AbortSignal | undefined;
}

/**
 * What a release deploy and a manual rollback share once their commit is in the env repo:
 * the run enters `verifying(env)`, Argo CD syncs the commit, and the workload goes through its
 * strategy's checks (blueGreen, canary, rolling) to Healthy, or is aborted where that applies
 * and reverted. Counts the outcome.
 */
export async function syncAndVerify(
  ctx: EngineContext,
  request: SyncAndVerifyRequest,
): Promise<DeployResult> {
  const { run, app, env, planned, pipeline, commit } = request;
  const zapPath = pipeline.environments.find((e) => e.name === env)?.zap.path ?? '/';
  const names = deployNames(planned, commit.files, zapPath);
  const verifying = await ctx.runs.transition(run.id, {
    from: 'deploying',
    to: 'verifying',
    env,
    eventKey: `${run.id}:verify:${env}`,
  });
  if (!verifying.ok)
    throw DeployNotConfigured(`run ${run.id} is ${verifying.run?.state}, not deploying ${env}`);
  const canary =
    planned.strategy === 'canary' ? await canaryOf(ctx, commit, planned, names.rollout, zapPath) : undefined;
  // A rolling deploy watches the rendered Deployment: without one it could only time out.
  if (
    planned.strategy === 'rolling' &&
    !commit.files.some((f) => /^deployment-.+\.yaml$/.test(path.basename(f)))
  ) {
    throw DeployNotConfigured(`rolling in ${planned.target.env}: no Deployment was rendered`);
  }
  const result = await runDeploy(
    {
      runId: run.id,
      app,
      environment: env,
      revision: commit.sha,
      sourceCommit: run.sha,
      argocd: { application: names.application },
      rollout: { namespace: planned.target.namespace, name: names.rollout },
      previewUrl: names.previewUrl,
      strategy: planned.strategy,
      ...(canary ? { canary } : {}),
    },
    request.ports,
    { ...(request.signal ? { signal: request.signal } : {}) },
  );
  ctx.metrics?.deploys.inc({ environment: env, outcome: result.outcome });
  if (result.outcome === 'rolled-back')
    ctx.metrics?.rollbacks.inc({ app, environment: env, gate: result.gate });
  await recordOutcome(ctx, run, app, env, result);
  return result;
}

/** Ends the run as `rolled-back` after a failed gate, with the gate, the reason and the revert. */
export async function markRolledBack(
  ctx: EngineContext,
  run: Run,
  env: string,
  result: Extract<DeployResult, { outcome: 'rolled-back' }>,
  wording: { reason: string; message: string },
): Promise<Run> {
  const moved = await ctx.runs.transition(run.id, {
    from: ['verifying', 'deploying'],
    to: 'rolled-back',
    env,
    reason: wording.reason,
    event: {
      type: 'rollback',
      message: wording.message,
      data: {
        env,
        gate: result.gate,
        reason: result.reason,
        revertCommit: result.revertCommit,
        aborted: result.aborted,
      },
    },
    eventKey: `${run.id}:rolled-back:${env}`,
  });
  return moved.run ?? run;
}

/**
 * The canary steps as committed (the Rollout in the env repo at `commit`): the plan gates
 * exactly the pauses that will run. ZAP scans the Rollout's canaryService in the cluster.
 */
async function canaryOf(
  ctx: EngineContext,
  commit: { sha: string; files: readonly string[] },
  planned: PlannedEnvironment,
  rolloutName: string,
  zapPath: string,
): Promise<NonNullable<DeployInput['canary']>> {
  const file = commit.files.find((f) => path.basename(f) === `rollout-${rolloutName}.yaml`);
  if (file === undefined)
    throw DeployNotConfigured(`canary in ${planned.target.env}: no Rollout was rendered`);
  const text = await openEnvRepo(ctx.envRepo, async (repo) => {
    await repo.fetchCommit(commit.sha, 1);
    const oid = await repo.objectAt(commit.sha, path.posix.join(planned.target.path, file));
    return oid === null ? undefined : (await repo.readBlobs([oid])).get(oid);
  });
  const canary = (parse(text ?? '') as { spec?: { strategy?: { canary?: Record<string, unknown> } } } | null)
    ?.spec?.strategy?.canary;
  if (!canary || !Array.isArray(canary.steps)) {
    throw DeployNotConfigured(
      `canary in ${planned.target.env}: the Rollout has no spec.strategy.canary.steps`,
    );
  }
  const service = typeof canary.canaryService === 'string' ? canary.canaryService : undefined;
  return {
    steps: canary.steps as Record<string, unknown>[],
    ...(service
      ? { serviceUrl: `http://${service}.${planned.target.namespace}.svc.cluster.local${zapPath}` }
      : {}),
  };
}

/** The deploy's place in the DORA history and, for an automatic rollback, in the audit trail. */
async function recordOutcome(
  ctx: EngineContext,
  run: Run,
  app: string,
  env: string,
  result: DeployResult,
): Promise<void> {
  if (run.kind === 'pr') return;
  const at = ctx.now();
  if (ctx.dora !== undefined) {
    await recordDeployForDora(
      {
        history: ctx.dora,
        compare: async () => {
          const octokit = await ctx.github.forInstallation(run.installationId);
          return (route, params) => octokit.request(route, params);
        },
        logger: ctx.logger,
      },
      {
        runId: run.id,
        runKind: run.kind,
        repo: run.repo,
        app,
        env,
        tag: run.tag,
        outcome: result.outcome === 'rolled-back' ? 'rolled-back' : 'succeeded',
        at,
      },
    );
  }
  if (result.outcome === 'rolled-back' && ctx.audit !== undefined) {
    await recordRollback(ctx.audit, {
      runId: run.id,
      app,
      env,
      requestedBy: 'shipgate',
      via: 'system',
      at,
      targetSha: result.revertCommit,
      reason: `${result.gate} failed: ${result.reason}`,
      breakGlass: false,
    }).catch((err: unknown) =>
      ctx.logger.warn({ err, runId: run.id }, 'audit: could not record the rollback'),
    );
  }
}

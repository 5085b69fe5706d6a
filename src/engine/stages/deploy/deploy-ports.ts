import type { DeployEvent, DeploymentState, DeployPorts } from '../../../deploy/ports.js';
import { DeployNotConfigured } from '../../../errors.js';
import { runZapGate } from '../../../gates/index.js';
import { ensureDeployment, setDeploymentStatus, type GithubOctokit } from '../../../github/index.js';
import { revertAppEnv } from '../../../gitops/revert-app-env.js';
import type { Logger } from '../../../logger.js';
import type { PipelineConfig } from '../../../pipeline/index.js';
import { createOncePerRun } from '../../../runs/create-once-per-run.js';
import type { Run } from '../../../runs/run-types.js';
import { splitRepo, type EngineContext } from '../../context/engine-context.js';
import { zapGateOptions } from '../../decisions/gate-options.js';
import { recordGateResult } from '../../progress/record-gate-result.js';
import { completeRunCheck, ensureRunChecks } from '../../progress/run-checks.js';

export interface DeployPortsRequest {
  run: Run;
  app: string;
  env: string;
  pipeline: PipelineConfig;
  /** The env-repo path the policy grants; a revert after a failed gate touches only it. */
  path: string;
  /** The run's installation (GitHub Deployment and its statuses). */
  octokit: GithubOctokit;
  /** Text of the GitHub Deployment. */
  description: string;
  /**
   * `Shipgate-Run` of the revert commit written when a gate fails. @defaultValue `run.id`
   * A rollback run passes another value: its own rollback commit already carries `run.id` and
   * a `Reverts` trailer, and revertAppEnv would take that commit for the revert it is asked
   * to write (already reverted), leaving git on the version that just failed.
   */
  revertRunId?: string;
  logger: Logger;
}

/**
 * The outside world of `runDeploy` for one run and environment: Argo CD, the Rollout watch,
 * the ZAP gate (with its check run), the revert commit, the GitHub Deployment's statuses, the
 * run's step-once store and its event log. Shared by release deploys and manual rollbacks, so
 * both go through the same gates and the same commit path.
 *
 * Creates (idempotently, by run id) the GitHub Deployment first; throws DeployNotConfigured
 * when Argo CD or the Kubernetes API is not configured.
 */
export async function createDeployPorts(
  ctx: EngineContext,
  request: DeployPortsRequest,
): Promise<DeployPorts> {
  const { run, app, env, pipeline, octokit } = request;
  const { owner, repo } = splitRepo(run.repo);
  // Once per run and environment even when this deploy runs in two processes at once.
  const { id: deploymentId } = await createOncePerRun(ctx.runs, run.id, `deployment:${env}`, () =>
    ensureDeployment(octokit, {
      owner,
      repo,
      ref: run.sha,
      environment: env,
      runId: run.id,
      description: request.description,
      productionEnvironment: /^prod/.test(env),
    }),
  );
  const deploymentStatus = async (state: DeploymentState, description: string) => {
    const mapped = state === 'pending' ? 'queued' : state;
    await setDeploymentStatus(octokit, {
      owner,
      repo,
      deploymentId,
      state: mapped,
      description: description.slice(0, 140),
    });
  };

  if (ctx.argocd === undefined) throw DeployNotConfigured('ARGOCD_SERVER and ARGOCD_TOKEN are not set');
  if (ctx.rolloutSource === undefined)
    throw DeployNotConfigured('no KUBECONFIG or in-cluster config to watch Rollouts');

  return {
    argocd: ctx.argocd,
    rolloutSource: ctx.rolloutSource,
    deploymentSource: ctx.deploymentSource,
    zap: async (url, zapSignal) => {
      // Created running: the scan starts right after (it used to stay `queued` until completed).
      const { zap: checkRunId } = await ensureRunChecks(ctx, run, ['zap'], { status: 'in_progress' });
      const gate = await runZapGate(
        ctx.executor,
        { runId: run.id, attemptKey: `${run.id}.zap.${env}` },
        zapGateOptions(pipeline, url),
        { signal: zapSignal },
      );
      if (checkRunId !== undefined) {
        await completeRunCheck(ctx, run, checkRunId, {
          conclusion: gate.cancelled ? 'cancelled' : gate.conclusion,
          title: `${env}: ${gate.title}`,
          summary: gate.summary,
          text: gate.text,
        });
      }
      await recordGateResult(ctx, run.id, 'zap', gate, `gate:zap:${env}`);
      return { passed: gate.conclusion !== 'failure', summary: gate.title };
    },
    revert: async (reason) => {
      const reverted = await revertAppEnv(ctx.envRepo, {
        path: request.path,
        badCommit: reason.badCommit,
        runId: request.revertRunId ?? run.id,
        reason: `${reason.gate} failed: ${reason.reason}`,
        app,
        env,
      });
      if (reverted.commit === null)
        throw DeployNotConfigured(`revert of ${reason.badCommit}: ${reverted.explanation}`);
      return { commitSha: reverted.commit };
    },
    deploymentStatus,
    steps: {
      claim: (key) => ctx.runs.claimStep(run.id, key),
      result: (key) => ctx.runs.getStepResult(run.id, key),
      save: (key, value) => ctx.runs.recordStepResult(run.id, key, value),
    },
    notify: async (event: DeployEvent) => {
      await ctx.runs.appendEvent(
        run.id,
        { type: `deploy:${event.type}`, message: describeDeployEvent(event), data: { env } },
        { eventKey: `deploy:${env}:${event.type}` },
      );
    },
    clock: { now: () => ctx.now().getTime() },
    logger: request.logger,
  };
}

export function describeDeployEvent(event: DeployEvent): string {
  switch (event.type) {
    case 'gate-failed':
      return `${event.environment}: gate ${event.gate} failed — ${event.reason}`;
    case 'rolled-back':
      return `${event.environment}: rolled back (${event.gate}): ${event.reason}`;
    case 'gates-passed':
    case 'awaiting-manual-promotion':
    case 'succeeded':
      return `${event.environment}: ${event.type} — ${event.summary}`;
    case 'needs-person':
      return `${event.environment}: needs a person — ${event.reason}`;
    default:
      return `${event.environment}: ${event.type}`;
  }
}

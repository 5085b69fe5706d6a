import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { createEngineContext } from '../src/engine/create-engine-context.js';
import type { EngineContext } from '../src/engine/engine-context.js';
import { runDeployStage } from '../src/engine/deploy-environment-stage.js';
import { handleWebhookJob } from '../src/engine/handle-webhook.js';
import { failGateStage, runGateStage } from '../src/engine/run-gate-stage.js';
import { runRollbackDeployStage } from '../src/engine/rollback-deploy-stage.js';
import { handleRollbackRequest, ROLLBACK_REQUEST_JOB } from '../src/engine/start-rollback-run.js';
import { runManifestsPreviewStage } from '../src/engine/preview-manifests-stage.js';
import { WebhookJobSchema } from '../src/webhooks/webhook-job.js';
import type { WorkerContext, WorkerSpec } from './index.js';
import { asDeployJob, asJob, isLastAttempt, parseStage } from './job-helpers.js';

/**
 * The engine's queue workers. Each is thin: parse the job, call one engine function, and let
 * the error's `retryable` flag decide between a BullMQ retry and giving up at once.
 */
const contexts = new WeakMap<WorkerContext, EngineContext>();

export function engineContextOf(ctx: WorkerContext): EngineContext {
  let engine = contexts.get(ctx);
  if (!engine) {
    engine = createEngineContext({
      config: ctx.config,
      logger: ctx.logger,
      redis: ctx.producer,
      queues: ctx.queues,
      metrics: ctx.metrics,
      ...(ctx.engineTuning ? { tuning: ctx.engineTuning } : {}),
    });
    contexts.set(ctx, engine);
  }
  return engine;
}

export const pipelineWorker: WorkerSpec = {
  queue: 'webhook',
  concurrency: 4,
  handlers: {
    '*': async (job, ctx) => {
      const parsed = WebhookJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`job ${job.id} is not a webhook job`);
      return asJob(() => handleWebhookJob(engineContextOf(ctx), parsed.data));
    },
  },
};

const gateHandler = {
  gate: async (job: Job, ctx: WorkerContext) => {
    const data = parseStage(job, 'gate');
    const engine = engineContextOf(ctx);
    const result = await asJob(() => runGateStage(engine, data), {
      onGivingUp: (err) =>
        failGateStage(engine, { ...data, key: data.gate === 'tests' ? 'tests' : 'trivy' }, err),
      lastAttempt: isLastAttempt(job),
    });
    return result ? { conclusion: result.conclusion } : { skipped: true };
  },
};

export const testGateWorker: WorkerSpec = { queue: 'test', concurrency: 2, handlers: gateHandler };
export const trivyGateWorker: WorkerSpec = { queue: 'trivy', concurrency: 2, handlers: gateHandler };

export const renderWorker: WorkerSpec = {
  queue: 'render',
  concurrency: 2,
  handlers: {
    'manifests-preview': async (job, ctx) => {
      const data = parseStage(job, 'manifests-preview');
      const engine = engineContextOf(ctx);
      return asJob(() => runManifestsPreviewStage(engine, data), {
        onGivingUp: (err) => failGateStage(engine, { ...data, key: 'manifests' }, err),
        lastAttempt: isLastAttempt(job),
      });
    },
  },
};

export const deployWorker: WorkerSpec = {
  queue: 'deploy',
  // Deploys of different apps and environments run side by side; the lock orders each pair.
  concurrency: 4,
  handlers: {
    deploy: async (job, ctx, { token, signal }) =>
      asDeployJob(job, token, () => runDeployStage(engineContextOf(ctx), parseStage(job, 'deploy'), signal)),
    // Manual rollbacks: plan (reads git history) and start the run, then deploy it like a release.
    [ROLLBACK_REQUEST_JOB]: async (job, ctx) =>
      asJob(() => handleRollbackRequest(engineContextOf(ctx), job.data)),
    'rollback-deploy': async (job, ctx, { token, signal }) =>
      asDeployJob(job, token, () =>
        runRollbackDeployStage(engineContextOf(ctx), parseStage(job, 'rollback-deploy'), signal),
      ),
  },
};

export const ENGINE_WORKERS: readonly WorkerSpec[] = [
  pipelineWorker,
  testGateWorker,
  trivyGateWorker,
  renderWorker,
  deployWorker,
];

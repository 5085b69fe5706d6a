import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { createEngineContext } from '../src/engine/context/create-engine-context.js';
import type { EngineContext } from '../src/engine/context/engine-context.js';
import { runDeployStage } from '../src/engine/stages/deploy/deploy-stage.js';
import { handleWebhookJob } from '../src/engine/triggers/handle-webhook.js';
import { failGateStage, runGateStage } from '../src/engine/stages/gate-stage.js';
import { failAbandonedRun } from '../src/engine/progress/fail-abandoned-run.js';
import { StageJobSchema } from '../src/engine/context/stage-jobs.js';
import { isShipgateError } from '../src/errors.js';
import type { QueueName } from '../src/queue/names.js';
import { workerLiveness } from '../src/queue/worker-liveness.js';
import { runRollbackDeployStage } from '../src/engine/stages/deploy/rollback-deploy-stage.js';
import { handleRollbackRequest, ROLLBACK_REQUEST_JOB } from '../src/engine/triggers/start-rollback-run.js';
import { runManifestsPreviewStage } from '../src/engine/stages/manifests-preview-stage.js';
import { WebhookJobSchema } from '../src/webhooks/webhook-job.js';
import type { GivenUpHandler, WorkerContext, WorkerSpec } from './index.js';
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

/** Why BullMQ gave up, in words fit for a check run (no raw error text: it may carry anything). */
function stalledOut(err: Error): boolean {
  return /stalled more than allowable limit/.test(err.message);
}

function givenUpExplanation(err: Error, queue: QueueName): string {
  if (stalledOut(err))
    return `its worker stopped or missed its lock renewals too many times (the job stalled more than the allowed ${workerLiveness(queue).maxStalledCount} times)`;
  return isShipgateError(err)
    ? `${err.code}: ${err.message}`
    : 'its job failed for good (see the worker logs)';
}

/**
 * A stage job BullMQ failed for good. The gate and preview handlers report their own last
 * failure, but a job failed for stalling never reaches them, so that one is reported here.
 * A deploy job has no such report at all, so its run would stay `deploying`.
 */
const stageGivenUp: GivenUpHandler = async (job, err, ctx) => {
  const parsed = StageJobSchema.safeParse(job.data);
  if (!parsed.success) return;
  const data = parsed.data;
  const engine = engineContextOf(ctx);
  const explanation = givenUpExplanation(err, job.queueName as QueueName);
  if (data.stage === 'gate' || data.stage === 'manifests-preview') {
    // Any other final failure went through the handler, which reported it with its own words.
    if (!stalledOut(err)) return;
    const key = data.stage === 'manifests-preview' ? 'manifests' : data.gate === 'tests' ? 'tests' : 'trivy';
    await failGateStage(engine, { ...data, key }, err, explanation);
    return;
  }
  if (data.stage === 'deploy' || data.stage === 'rollback-deploy') {
    await failAbandonedRun(engine, data.runId, `the ${data.stage} job for ${data.env} ${explanation}`);
  }
};

export const testGateWorker: WorkerSpec = {
  queue: 'test',
  concurrency: 2,
  handlers: gateHandler,
  onGivenUp: stageGivenUp,
};
export const trivyGateWorker: WorkerSpec = {
  queue: 'trivy',
  concurrency: 2,
  handlers: gateHandler,
  onGivenUp: stageGivenUp,
};

export const renderWorker: WorkerSpec = {
  queue: 'render',
  concurrency: 2,
  onGivenUp: stageGivenUp,
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
  // A deploy spends its minutes waiting on Argo CD and the cluster, not on the CPU: with 4 a
  // worker the fault soak's deploys queued behind busy slots for up to 100 s (see docs).
  concurrency: 8,
  onGivenUp: stageGivenUp,
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

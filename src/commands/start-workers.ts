import type { RedisClient } from '../redis/connection.js';
import { WORKERS, createWorkers, startSchedules, type WorkerContext } from '../../workers/index.js';
import { loadDeployKubeConfig } from '../engine/context/create-engine-context.js';
import { warmArgoCdValidators } from '../argocd/validate-argocd-resource.js';
import { crdValidators } from '../gitops/crd-schemas.js';
import { closeQueues, createAllQueues } from '../queue/create-queues.js';
import { createRedisConnection } from '../redis/connection.js';
import { claimScratchAndSweep } from '../scratch/sweep-scratch.js';
import { closeWorker } from '../shutdown.js';
import type { Runtime } from './runtime.js';

/** How long a worker may take to finish its active jobs on shutdown. @defaultValue 30 s */
export const WORKER_CLOSE_TIMEOUT_MS = 30_000;

/** Starts every registered worker and schedule on the runtime; adds their shutdown steps. */
export async function startWorkers(
  runtime: Runtime,
  options: { engineTuning?: WorkerContext['engineTuning'] } = {},
): Promise<RedisClient[]> {
  const { config, logger, producer, metrics } = runtime;
  // Loaded now rather than by the first deploy: a kubeconfig the Rollout gates cannot use stops
  // the start with one line.
  loadDeployKubeConfig(config);
  if (config.argocd.server === undefined) {
    logger.warn(
      'ARGOCD_SERVER is not set: pull requests and gates run, releases stop before their first deploy',
    );
  }
  const connections: RedisClient[] = [];
  const queues = createAllQueues(producer, config.queuePrefix);
  metrics.watchQueues(Object.values(queues));
  metrics.watchRedis(producer);
  // Before any job runs: what a crashed predecessor left in the scratch folders goes now.
  const scratch = await claimScratchAndSweep(config.dataDir);
  if (scratch.swept.length > 0)
    logger.info({ folders: scratch.swept.length }, 'cleared scratch folders left by a crashed worker');
  if (scratch.sharedWith.length > 0)
    logger.info(
      { others: scratch.sharedWith.length },
      'scratch folders shared with a live worker: not cleared',
    );
  // Compiled before any job holds a lock, not by the first render: parsing ~1 MB of CRD YAML and
  // compiling it with ajv blocks the event loop for 1-4 s (more on a loaded machine). Inside a
  // job that outlasted the 5 s job locks, so every job of the process was taken for stalled.
  const compileStarted = performance.now();
  crdValidators();
  warmArgoCdValidators();
  logger.debug({ ms: Math.round(performance.now() - compileStarted) }, 'manifest validators compiled');
  const ctx: WorkerContext = {
    config,
    logger,
    metrics,
    producer,
    queues,
    ...(options.engineTuning ? { engineTuning: options.engineTuning } : {}),
    createConnection: () => {
      const c = createRedisConnection(runtime.redisUrl, 'worker', { connectionName: 'shipgate-worker' });
      connections.push(c);
      return c;
    },
  };
  const workers = createWorkers(ctx, WORKERS);
  await startSchedules(ctx, WORKERS);
  logger.info({ queues: workers.map((w) => w.name) }, 'workers started');
  runtime.shutdown.add({
    name: 'workers',
    timeoutMs: WORKER_CLOSE_TIMEOUT_MS + 5000,
    run: async () => {
      await Promise.all(workers.map((w) => closeWorker(w, WORKER_CLOSE_TIMEOUT_MS, logger)));
    },
  });
  // After the workers: the marker says the scratch folders are in use until no job can run.
  runtime.shutdown.add({ name: 'scratch marker', timeoutMs: 1000, run: () => scratch.release() });
  runtime.shutdown.add({
    name: 'worker queues',
    timeoutMs: 3000,
    run: () => closeQueues(Object.values(queues)),
  });
  return connections;
}

import type { RedisClient } from '../redis/connection.js';
import type { WorkerContext } from '../../workers/index.js';
import { closeQueues, createAllQueues } from '../queue/create-queues.js';
import { createRedisConnection } from '../redis/connection.js';
import { claimScratchAndSweep } from '../scratch/sweep-scratch.js';
import { buildOpsServer } from '../server/build-ops-server.js';
import { closeWorker } from '../shutdown.js';
import type { Command } from './command.js';
import { listenOrExplain, orShutDown } from './listen.js';
import { addConnectionShutdown, openRuntime, readConfig, type Runtime } from './runtime.js';

/** How long a worker may take to finish its active jobs on shutdown. @defaultValue 30 s */
export const WORKER_CLOSE_TIMEOUT_MS = 30_000;

/** Starts every registered worker and schedule on the runtime; adds their shutdown steps. */
export async function startWorkers(
  runtime: Runtime,
  options: { engineTuning?: WorkerContext['engineTuning'] } = {},
): Promise<RedisClient[]> {
  const { config, logger, producer, metrics } = runtime;
  // The workers' module graph (the engine, the Kubernetes client, Slack, gates) is loaded here,
  // not by the CLI: every command is in one registry, and `serve` alone should not carry it
  // (about 60 MB of idle RSS).
  const [{ WORKERS, createWorkers, startSchedules }, { loadDeployKubeConfig }] = await Promise.all([
    import('../../workers/index.js'),
    import('../engine/context/create-engine-context.js'),
  ]);
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

export const workCommand: Command = {
  name: 'work',
  summary: 'workers only: run the queued pipeline, gate and maintenance jobs',
  usage: 'shipgate work',
  env: [
    'GITHUB_APP_ID',
    'GITHUB_PRIVATE_KEY_PATH',
    'ENV_REPO',
    'REDIS_URL',
    'ARGOCD_SERVER',
    'SLACK_BOT_TOKEN',
  ],
  examples: ['REDIS_URL=redis://127.0.0.1:6379 shipgate work'],
  async run() {
    const runtime = await openRuntime(readConfig('work'), { embedRedis: false });
    // Probes and a scrape target for worker pods, on PORT.
    const ops = await buildOpsServer(runtime);
    await orShutDown(
      runtime,
      () => addConnectionShutdown(runtime),
      () => listenOrExplain(ops, runtime.config.port, runtime.config.host),
    );
    runtime.shutdown.add({ name: 'ops server', timeoutMs: 3000, run: () => ops.close() });
    const connections = await startWorkers(runtime);
    addConnectionShutdown(runtime, connections);
    runtime.shutdown.installSignalHandlers();
    return 'running';
  },
};

import type { Command } from './command.js';
import { listenOrExplain, orShutDown } from './listen.js';
import { addConnectionShutdown, openRuntime, readConfig } from './runtime.js';

// The workers (Kubernetes client, manifest models, every stage) are loaded by `run`, so other
// commands (and `--help`) do not pay for them.
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
    const { buildOpsServer } = await import('../server/build-ops-server.js');
    const ops = await buildOpsServer(runtime);
    await orShutDown(
      runtime,
      () => addConnectionShutdown(runtime),
      () => listenOrExplain(ops, runtime.config.port, runtime.config.host),
    );
    runtime.shutdown.add({ name: 'ops server', timeoutMs: 3000, run: () => ops.close() });
    const { startWorkers } = await import('./start-workers.js');
    const connections = await startWorkers(runtime);
    addConnectionShutdown(runtime, connections);
    runtime.shutdown.installSignalHandlers();
    return 'running';
  },
};

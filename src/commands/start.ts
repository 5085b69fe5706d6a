import type { Command } from './command.js';
import { orShutDown } from './listen.js';
import { addConnectionShutdown, openRuntime, readConfig } from './runtime.js';

export const startCommand: Command = {
  name: 'start',
  summary: 'serve + work in one process; launches redis-server when REDIS_URL is unset',
  usage: 'shipgate start',
  env: ['GITHUB_WEBHOOK_SECRET', 'GITHUB_APP_ID', 'GITHUB_PRIVATE_KEY_PATH', 'ENV_REPO', 'REDIS_URL', 'PORT'],
  examples: ['shipgate start            # reads ./.env; open http://127.0.0.1:3000/readyz'],
  async run() {
    const runtime = await openRuntime(readConfig('start'), { embedRedis: true });
    const [{ startHttp }, { startWorkers }] = await Promise.all([
      import('./start-http.js'),
      import('./start-workers.js'),
    ]);
    await orShutDown(
      runtime,
      () => addConnectionShutdown(runtime),
      () => startHttp(runtime),
    );
    const connections = await startWorkers(runtime);
    addConnectionShutdown(runtime, connections);
    runtime.shutdown.installSignalHandlers();
    return 'running';
  },
};

import type { Command } from './command.js';
import { orShutDown } from './listen.js';
import { addConnectionShutdown, openRuntime, readConfig } from './runtime.js';

// The HTTP stack is loaded by `run`, so other commands (and `--help`) do not pay for it.
export const serveCommand: Command = {
  name: 'serve',
  summary: 'HTTP only: verify, deduplicate and queue webhooks; health, metrics and the API',
  usage: 'shipgate serve',
  env: ['GITHUB_WEBHOOK_SECRET', 'REDIS_URL', 'PORT', 'HOST', 'SHIPGATE_API_TOKEN'],
  examples: ['REDIS_URL=redis://127.0.0.1:6379 shipgate serve'],
  async run() {
    const runtime = await openRuntime(readConfig('serve'), { embedRedis: false });
    await orShutDown(
      runtime,
      () => addConnectionShutdown(runtime),
      async () => {
        const { startHttp } = await import('./start-http.js');
        return startHttp(runtime);
      },
    );
    addConnectionShutdown(runtime);
    runtime.shutdown.installSignalHandlers();
    return 'running';
  },
};

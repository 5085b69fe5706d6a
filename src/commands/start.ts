import type { Command } from './command.js';
import { addConnectionShutdown, openRuntime, readConfig } from './runtime.js';
import { startHttp } from './serve.js';
import { startWorkers } from './work.js';

export const startCommand: Command = {
  name: 'start',
  summary: 'serve + work in one process; launches redis-server when REDIS_URL is unset',
  usage: 'shipgate start',
  async run() {
    const runtime = await openRuntime(readConfig('start'), { embedRedis: true });
    await startHttp(runtime);
    const connections = await startWorkers(runtime);
    addConnectionShutdown(runtime, connections);
    runtime.shutdown.installSignalHandlers();
    return 'running';
  },
};

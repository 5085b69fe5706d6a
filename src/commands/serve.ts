import type { FastifyInstance } from 'fastify';
import { closeQueues, createAllQueues } from '../queue/create-queues.js';
import { API_PLUGINS } from '../server/api-plugins.js';
import { buildServer } from '../server/build-server.js';
import type { Command } from './command.js';
import { listenOrExplain, orShutDown } from './listen.js';
import { addConnectionShutdown, openRuntime, readConfig, type Runtime } from './runtime.js';

/** Starts the HTTP server (webhooks, health, metrics, API) on the runtime; adds its shutdown steps. */
export async function startHttp(runtime: Runtime): Promise<FastifyInstance> {
  const { config, logger, producer, metrics } = runtime;
  const queues = createAllQueues(producer, config.queuePrefix);
  metrics.watchQueues(Object.values(queues));
  metrics.watchRedis(producer);
  const app = await buildServer({
    config,
    logger,
    producer,
    queues,
    metrics,
    plugins: API_PLUGINS.map((factory) => factory({ config, logger, producer, queues, metrics })),
  });
  await listenOrExplain(app, config.port, config.host);
  // fastify's close stops accepting, answers 503 on kept-alive sockets, and waits for
  // in-flight requests, each of which is bounded by the enqueue timeout.
  runtime.shutdown.add({ name: 'http server', timeoutMs: 10_000, run: () => app.close() });
  runtime.shutdown.add({
    name: 'producer queues',
    timeoutMs: 3000,
    run: () => closeQueues(Object.values(queues)),
  });
  return app;
}

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
      () => startHttp(runtime),
    );
    addConnectionShutdown(runtime);
    runtime.shutdown.installSignalHandlers();
    return 'running';
  },
};

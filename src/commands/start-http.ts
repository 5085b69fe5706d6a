import type { FastifyInstance } from 'fastify';
import { closeQueues, createAllQueues } from '../queue/create-queues.js';
import { API_PLUGINS } from '../server/api-plugins.js';
import { buildServer } from '../server/build-server.js';
import { releaseStartupGarbage } from '../process/release-startup-garbage.js';
import { listenOrExplain } from './listen.js';
import type { Runtime } from './runtime.js';

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
  // Every module the server needs to answer is loaded now (the lazy API routes aside).
  await app.ready();
  releaseStartupGarbage();
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

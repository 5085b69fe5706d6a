import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { RedisClient } from '../redis/connection.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { handleError, handleNotFound } from '../http/error-handler.js';
import { opsRoutes } from './ops-routes.js';

/**
 * Health and metrics only, for `shipgate work`: worker pods need probes and a scrape target
 * but must not take webhooks.
 */
export async function buildOpsServer(deps: {
  logger: Logger;
  producer: RedisClient;
  metrics: Metrics;
}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  await app.register(opsRoutes, { producer: deps.producer, metrics: deps.metrics });
  return app;
}

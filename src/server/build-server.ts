import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import { RateLimited } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { IngressQueues } from '../queue/create-queues.js';
import { deliveryIdForLog } from '../webhooks/delivery-headers.js';
import {
  githubWebhookRoute,
  WEBHOOK_PATH,
  type WebhookRouteOptions,
} from '../webhooks/github-webhook-route.js';
import { handleError, handleNotFound } from './error-handler.js';
import { opsRoutes } from './ops-routes.js';

export interface ServerDeps {
  config: Config;
  logger: Logger;
  /** Producer connection (no offline queue, command timeout): see `createRedisConnection`. */
  producer: Redis;
  queues: IngressQueues;
  metrics: Metrics;
  /**
   * API plugins (runs API, Slack interactions, approvals). They are registered in one
   * context that has the per-client API rate limit, the security headers and the JSON error
   * handler; they protect their routes with `requireBearerToken(config.apiToken)`.
   */
  plugins?: FastifyPluginAsync[];
  /** Tuning, mostly for tests. */
  limits?: ServerLimits;
}

export interface ServerLimits {
  /** API requests per client per window. @defaultValue 300 per minute */
  api?: { max: number; timeWindowMs: number };
  /** Rejected webhook requests per client per window. @defaultValue 100 per minute */
  rejectedWebhooks?: WebhookRouteOptions['rejectedLimit'];
  /** @defaultValue 3000 */
  enqueueTimeoutMs?: number;
}

/** Default body limit for API routes; the webhook route has its own (25 MB). */
const API_BODY_LIMIT = 1024 * 1024;
const QUIET_PATHS = new Set(['/livez', '/readyz', '/metrics']);

/**
 * Builds the HTTP server: webhook ingress, health and metrics, and the API plugins.
 * Not listening yet: call `app.listen({ port, host })`.
 */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, logger, producer, queues, metrics } = deps;
  const app = Fastify({
    loggerInstance: logger,
    // One line per request, written by the onResponse hook below, instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: API_BODY_LIMIT,
    // Request ids are ours; a client-sent id would let anyone forge log correlation.
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    childLoggerFactory(parent, bindings, opts, rawReq) {
      const url = rawReq.url ?? '';
      const deliveryId = url.startsWith(WEBHOOK_PATH) ? deliveryIdForLog(rawReq.headers) : undefined;
      return parent.child(deliveryId === undefined ? bindings : { ...bindings, deliveryId }, opts);
    },
  }) as unknown as FastifyInstance;

  app.setErrorHandler(handleError);
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => RateLimited(Math.max(1, Math.ceil(context.ttl / 1000))),
  });
  await app.register(helmet, { global: true });

  const apiLimit = deps.limits?.api ?? { max: 300, timeWindowMs: 60_000 };
  const apiRateLimit = app.rateLimit({ max: apiLimit.max, timeWindow: apiLimit.timeWindowMs });
  app.setNotFoundHandler({ preHandler: apiRateLimit }, handleNotFound);

  app.addHook('onResponse', async (request, reply) => {
    const path = request.routeOptions.url ?? request.url.split('?')[0]!.slice(0, 200);
    const line = {
      method: request.method,
      url: path,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      ...(request.webhook ?? {}),
    };
    if (QUIET_PATHS.has(path)) request.log.debug(line, 'request');
    else if (reply.statusCode >= 500) request.log.error(line, 'request');
    else if (reply.statusCode >= 400) request.log.warn(line, 'request');
    else request.log.info(line, 'request');
  });

  await app.register(opsRoutes, { producer, metrics });
  await app.register(githubWebhookRoute, {
    secrets: config.github.webhookSecrets,
    producer,
    queues,
    queuePrefix: config.queuePrefix,
    metrics,
    rejectedLimit: deps.limits?.rejectedWebhooks,
    enqueueTimeoutMs: deps.limits?.enqueueTimeoutMs,
  });
  await app.register(async (api) => {
    api.addHook('onRequest', apiRateLimit);
    for (const plugin of deps.plugins ?? []) await api.register(plugin);
  });
  return app;
}

import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { RedisClient } from '../redis/connection.js';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import { RateLimited } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { IngressQueues } from '../queue/create-queues.js';
import { deliveryIdForLog } from '../webhooks/delivery-headers.js';
import {
  DEFAULT_LARGE_BODY_BUDGET,
  githubWebhookRoute,
  WEBHOOK_PATH,
  type WebhookRouteOptions,
} from '../webhooks/github-webhook-route.js';
import { createBodyBudget } from '../http/body-budget.js';
import { handleError, handleNotFound } from '../http/error-handler.js';
import { opsRoutes } from './ops-routes.js';
import { avatarOriginsOf, serveConsole, type ConsoleOptions } from './serve-console.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route has a limiter of its own and skips the shared per-client API limit. */
    apiRateLimit?: boolean;
  }
}

export interface ServerDeps {
  config: Config;
  logger: Logger;
  /** Producer connection (no offline queue, command timeout): see `createRedisConnection`. */
  producer: RedisClient;
  queues: IngressQueues;
  metrics: Metrics;
  /**
   * API plugins (runs API, Slack interactions, approvals). They are registered in one
   * context that has the per-client API rate limit, the security headers and the JSON error
   * handler; they protect their routes with `requireBearerToken(config.apiToken)`.
   */
  plugins?: FastifyPluginAsync[];
  /**
   * The web console at `/` (built into dist/web). false: none (tests of other routes).
   * @defaultValue the built console of this install, avatars from the configured GitHub
   */
  console?: ConsoleOptions | false;
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
  /** Bytes of large webhook bodies read at one time. @defaultValue 64 MiB */
  largeBodyBudgetBytes?: number;
  timeouts?: Partial<ServerTimeouts>;
}

/** Every connection is bounded in time, so slow or idle clients cannot hold sockets forever. */
export interface ServerTimeouts {
  /** Until the request headers are in. @defaultValue 10000 */
  headersMs: number;
  /** Until the whole request (headers and body) is in. @defaultValue 30000 */
  requestMs: number;
  /** No byte in either direction while a request is open: a stalled body. @defaultValue 10000 */
  idleMs: number;
  /**
   * An idle kept-alive connection. Above the 60 s upstream idle timeout of common proxies
   * (ingress-nginx, ALB), so the proxy, not Shipgate, closes first. @defaultValue 65000
   */
  keepAliveMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<ServerTimeouts> = Object.freeze({
  headersMs: 10_000,
  requestMs: 30_000,
  idleMs: 10_000,
  keepAliveMs: 65_000,
});

/** SHIPGATE_TRUST_PROXY as fastify takes it: a hop count trusts that many proxies nearest to us. */
function trustProxyOf(
  value: Config['trustProxy'],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof value === 'number' ? (_address, hop) => hop < value : value;
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
  const timeouts = { ...DEFAULT_TIMEOUTS, ...deps.limits?.timeouts };
  const app = Fastify({
    loggerInstance: logger,
    trustProxy: trustProxyOf(config.trustProxy),
    connectionTimeout: timeouts.idleMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    requestTimeout: timeouts.requestMs,
    http: {
      headersTimeout: timeouts.headersMs,
      // Node checks the header and request timeouts on this interval (30 s by default).
      connectionsCheckingInterval: Math.min(1000, timeouts.headersMs),
    },
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
    const status = reply.statusCode;
    const line = {
      method: request.method,
      url: path,
      status,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      ...(request.webhook ?? {}),
    };
    if (request.webhook?.outcome === 'aborted') return request.log.debug(line, 'request');
    if (request.webhook != null) {
      // Webhooks: queued deliveries are counted by the metrics, so they log at debug; refusals
      // and ignored events get one short line each (headers only, never the body).
      const queued = request.webhook.outcome === 'accepted' || request.webhook.outcome === 'duplicate';
      if (queued) return request.log.debug(line, 'request');
      return status >= 500 && status !== 503
        ? request.log.error(line, 'request')
        : request.log.info(line, 'request');
    }
    if (QUIET_PATHS.has(path)) request.log.debug(line, 'request');
    else if (status >= 500) request.log.error(line, 'request');
    else if (status >= 400) request.log.warn(line, 'request');
    else request.log.info(line, 'request');
  });

  await app.register(opsRoutes, { producer, metrics });
  await app.register(githubWebhookRoute, {
    secrets: config.github.webhookSecrets,
    producer,
    queues,
    metrics,
    rejectedLimit: deps.limits?.rejectedWebhooks,
    enqueueTimeoutMs: deps.limits?.enqueueTimeoutMs,
    largeBodies: createBodyBudget(deps.limits?.largeBodyBudgetBytes ?? DEFAULT_LARGE_BODY_BUDGET),
  });
  await app.register(async (api) => {
    // Console sessions: signed cookies (HMAC-SHA256, checked in constant time by the plugin).
    await api.register(cookie, config.console ? { secret: config.console.sessionSecret } : {});
    // Routes that limit themselves (Slack interactions count only failed verifications) opt out.
    api.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config.apiRateLimit === false) return;
      await apiRateLimit.call(api, request, reply);
    });
    for (const plugin of deps.plugins ?? []) await api.register(plugin);
  });
  if (deps.console !== false) {
    await app.register(
      serveConsole({ avatarOrigins: avatarOriginsOf(config.github.apiUrl), ...deps.console }),
    );
  }
  return app;
}

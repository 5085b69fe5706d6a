import type { FastifyPluginAsync } from 'fastify';
import type { RedisClient } from '../redis/connection.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { AllQueues } from '../queue/create-queues.js';
import { approvalsApiPlugin, slackInteractionsApiPlugin } from '../api/approvals-routes.js';
import { auditApiPlugin } from '../api/audit-routes.js';
import { doraApiPlugin } from '../api/dora-routes.js';
import { liveApiPlugin } from '../api/live-routes.js';
import { rollbackApiPlugin } from '../api/rollback-routes.js';
import { runsRoutes } from '../api/runs-routes.js';
import { RunStore } from '../runs/run-store.js';
import { requireBearerToken } from './require-bearer-token.js';

/** What an API plugin may use. Routes protect themselves with `requireBearerToken(config.apiToken)`. */
export interface ApiContext {
  config: Config;
  logger: Logger;
  producer: RedisClient;
  queues: AllQueues;
  metrics: Metrics;
}

export type ApiPluginFactory = (ctx: ApiContext) => FastifyPluginAsync;

/**
 * The registry of API plugins `shipgate serve`/`start` mounts (runs API, Slack interactions,
 * approvals): adding one is one line here. They share the API rate limit, security headers and
 * the JSON error handler (see `buildServer`).
 */
export const API_PLUGINS: readonly ApiPluginFactory[] = [
  (ctx) =>
    runsRoutes({
      store: new RunStore(ctx.producer, { prefix: `${ctx.config.queuePrefix}:runs` }),
      requireToken: requireBearerToken(ctx.config.apiToken),
    }),
  approvalsApiPlugin,
  slackInteractionsApiPlugin,
  rollbackApiPlugin,
  auditApiPlugin,
  doraApiPlugin,
  liveApiPlugin,
];

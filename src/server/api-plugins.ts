import type { FastifyPluginAsync } from 'fastify';
import { approvalsApiPlugin, slackInteractionsApiPlugin } from '../api/approvals-routes.js';
import { auditApiPlugin } from '../api/audit-routes.js';
import { doraApiPlugin } from '../api/dora-routes.js';
import { liveApiPlugin } from '../api/live-routes.js';
import { rollbackApiPlugin } from '../api/rollback-routes.js';
import { runsRoutes } from '../api/runs-routes.js';
import { RunStore } from '../runs/run-store.js';
import { authRoutes } from '../api/auth-routes.js';
import { eventsRoutes } from '../api/events-routes.js';
import { RunFeedReader } from '../runs/run-feed.js';
import { consoleRoutes } from '../api/console-routes.js';
import { tokensRoutes } from '../api/tokens-routes.js';
import { ApprovalStore } from '../approvals/approval-store.js';
import type { ArgoCdClient, ArgoCdClientOptions } from '../argocd/argocd-client.js';
import { readFileSync } from 'node:fs';

export { consoleAuthOf, type ApiContext } from '../api/api-context.js';
import { consoleAuthOf, type ApiContext } from '../api/api-context.js';

/**
 * The console's only Argo CD call (an Application's health), with the client (its HTTP
 * transport and schemas) imported on the first call rather than when `shipgate serve` starts.
 */
function lazyArgoCdHealth(options: ArgoCdClientOptions): Pick<ArgoCdClient, 'getApplication'> {
  let client: Promise<ArgoCdClient> | undefined;
  return {
    async getApplication(...args) {
      client ??= import('../argocd/argocd-client.js').then((m) => m.createArgoCdClient(options));
      return (await client).getApplication(...args);
    },
  };
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
      requireToken: consoleAuthOf(ctx).guard.viewer,
    }),
  (ctx) => {
    const auth = consoleAuthOf(ctx);
    return authRoutes({ config: ctx.config, guard: auth.guard, sessions: auth.sessions });
  },
  (ctx) =>
    eventsRoutes({
      feed: new RunFeedReader(ctx.producer, `${ctx.config.queuePrefix}:runs:feed`),
      requireViewer: consoleAuthOf(ctx).guard.viewer,
    }),
  (ctx) => {
    const { argocd } = ctx.config;
    return consoleRoutes({
      auth: consoleAuthOf(ctx),
      runs: new RunStore(ctx.producer, { prefix: `${ctx.config.queuePrefix}:runs` }),
      approvals: new ApprovalStore(ctx.producer, `${ctx.config.queuePrefix}:slack:approvals`),
      ...(argocd.server !== undefined && argocd.token !== undefined
        ? {
            argocd: lazyArgoCdHealth({
              server: argocd.server,
              token: argocd.token,
              insecure: argocd.insecure,
              logger: ctx.logger,
              ...(argocd.caFile ? { ca: readFileSync(argocd.caFile) } : {}),
            }),
          }
        : {}),
    });
  },
  (ctx) => tokensRoutes({ guard: consoleAuthOf(ctx).guard, tokens: consoleAuthOf(ctx).tokens }),
  approvalsApiPlugin,
  slackInteractionsApiPlugin,
  rollbackApiPlugin,
  auditApiPlugin,
  doraApiPlugin,
  liveApiPlugin,
];

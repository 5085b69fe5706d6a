import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { computeDora, parseWindow } from '../dora/compute-dora.js';
import { registerDoraMetrics } from '../dora/dora-metrics.js';
import { DeployHistory } from '../dora/deploy-history.js';
import { BadRequest } from '../errors.js';
import { consoleAuthOf, type ApiContext } from './api-context.js';

const QuerySchema = z
  .object({
    app: z.string().max(100).optional(),
    env: z.string().max(100).optional(),
    /** `30d` (default), `12h`, `90m`. */
    window: z.string().max(10).optional(),
  })
  .strict();

/**
 * `GET /api/metrics/dora?app=&env=&window=30d`: the four DORA measures per app and environment
 * over the window ending now, computed from the deploy history in Redis.
 *
 *   200 { window: { from, to, days }, items: [DoraFigures…] }   one item per matching pair
 */
export function doraRoutes(options: {
  history: DeployHistory;
  requireToken: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  now?: () => Date;
}): FastifyPluginAsync {
  const now = options.now ?? (() => new Date());
  return async (app) => {
    app.get('/api/metrics/dora', { preHandler: options.requireToken }, async (request, reply) => {
      const parsed = QuerySchema.safeParse(request.query ?? {});
      if (!parsed.success) throw BadRequest(parsed.error.issues[0]?.message ?? 'invalid query');
      const windowMs = parseWindow(parsed.data.window ?? '30d');
      if (windowMs === undefined) throw BadRequest('window: expected 1m to 400d, e.g. 30d, 12h, 90m');
      const to = now();
      const from = new Date(to.getTime() - windowMs);
      const [pairs, records] = await Promise.all([options.history.pairs(), options.history.all()]);
      const items = pairs
        .filter(
          (p) =>
            (parsed.data.app === undefined || p.app === parsed.data.app) &&
            (parsed.data.env === undefined || p.env === parsed.data.env),
        )
        .map((p) => {
          const { leadTimeSeconds, timeToRestoreSeconds, ...rest } = computeDora(
            records,
            p.app,
            p.env,
            from,
            to,
          );
          return {
            ...rest,
            leadTimeSeconds: { median: leadTimeSeconds.median, count: leadTimeSeconds.count },
            timeToRestoreSeconds: { median: timeToRestoreSeconds.median, count: timeToRestoreSeconds.count },
          };
        });
      void reply.header('cache-control', 'no-store');
      return {
        window: { from: from.toISOString(), to: to.toISOString(), days: windowMs / 86_400_000 },
        items,
      };
    });
  };
}

/** The API route, and the DORA gauges and histograms on the server's `/metrics`. */
export function doraApiPlugin(ctx: ApiContext): FastifyPluginAsync {
  const history = new DeployHistory(ctx.producer, { prefix: `${ctx.config.queuePrefix}:dora` });
  registerDoraMetrics(ctx.metrics.registry, history);
  return doraRoutes({ history, requireToken: consoleAuthOf(ctx).guard.viewer });
}

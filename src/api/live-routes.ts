import type { FastifyPluginAsync } from 'fastify';
import { NotFound } from '../errors.js';
import { readLiveSnapshot } from '../recovery/live-snapshot.js';
import { RunKeys } from '../runs/run-keys.js';
import type { ApiContext } from './api-context.js';
import { requireBearerToken } from '../http/require-bearer-token.js';

/**
 * `GET /api/live`: what is live per app and environment, as the workers last read it from the
 * env repo (at start, after a Redis loss, and every 5 minutes). Git stays the truth; this is a
 * copy for people and scripts that have no clone at hand.
 *
 *   200 { rebuiltAt, envCommit, items: [LiveEntry…] }
 *   404 NotFound before the first read
 */
export function liveApiPlugin(ctx: ApiContext): FastifyPluginAsync {
  const keys = new RunKeys(`${ctx.config.queuePrefix}:runs`);
  const requireToken = requireBearerToken(ctx.config.apiToken);
  return async (app) => {
    app.get('/api/live', { preHandler: requireToken }, async (_request, reply) => {
      const snapshot = await readLiveSnapshot(ctx.producer, keys);
      void reply.header('cache-control', 'no-store');
      if (snapshot === undefined)
        throw NotFound('live state (no worker has read the env repo yet; try again in a minute)');
      return { rebuiltAt: snapshot.rebuiltAt, envCommit: snapshot.envCommit, items: snapshot.entries };
    });
  };
}

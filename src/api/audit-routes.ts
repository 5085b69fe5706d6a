import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AuditLog } from '../audit/audit-log.js';
import { AuditQuerySchema } from '../audit/schema.js';
import { BadRequest } from '../errors.js';
import { consoleAuthOf, type ApiContext } from './api-context.js';

/**
 * `GET /api/audit`: the audit trail, oldest first, one page at a time.
 *
 *   Authorization: Bearer <SHIPGATE_API_TOKEN>
 *   ?since=ISO|id &until=ISO|id &kind= &app= &env= &run= &actor= &limit=1..500 (100) &cursor=<id>
 *   200 { entries: [{ id, kind, actor, via, at, runId?, app?, env?, outcome, reason, breakGlass?, details? }],
 *         nextCursor: string | null }
 *
 * Pages are stable: each entry's id is its position in an append-only stream, and the next
 * page starts after the last id returned, whatever is appended meanwhile.
 */
export function auditRoutes(options: {
  audit: AuditLog;
  requireToken: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
}): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/audit', { preHandler: options.requireToken }, async (request, reply) => {
      const parsed = AuditQuerySchema.safeParse(request.query ?? {});
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        throw BadRequest(first ? `${first.path.join('.') || 'query'}: ${first.message}` : 'invalid query');
      }
      let page;
      try {
        page = await options.audit.list(parsed.data);
      } catch (err) {
        if (err instanceof RangeError) throw BadRequest(err.message);
        throw err;
      }
      void reply.header('cache-control', 'no-store');
      return page;
    });
  };
}

export function auditApiPlugin(ctx: ApiContext): FastifyPluginAsync {
  return auditRoutes({
    audit: new AuditLog(ctx.producer, {
      prefix: `${ctx.config.queuePrefix}:audit`,
      retentionDays: ctx.config.auditRetentionDays,
    }),
    requireToken: consoleAuthOf(ctx).guard.viewer,
  });
}

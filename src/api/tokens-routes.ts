import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { AuthGuard } from '../auth/auth-guard.js';
import { TOKEN_SCOPES } from '../auth/principal.js';
import { TokenName, type TokenStore } from '../auth/token-store.js';
import { BadRequest, NotFound } from '../errors.js';

/**
 * Named, scoped API tokens; admin only (SHIPGATE_API_TOKEN or an admin-scoped token). What
 * `shipgate token create|list|revoke` calls.
 *
 *   POST   /api/tokens          { name, scope } → 201 { name, scope, createdAt, createdBy, token }   shown once
 *   GET    /api/tokens          { tokens: [{ name, scope, createdAt, createdBy }] }
 *   DELETE /api/tokens/:name    204; 404 when no such token
 */
const CreateBody = z.object({ name: TokenName, scope: z.enum(TOKEN_SCOPES) }).strict();

export function tokensRoutes(options: { guard: AuthGuard; tokens: TokenStore }): FastifyPluginAsync {
  const { guard, tokens } = options;
  return async (app) => {
    app.post('/api/tokens', { preHandler: guard.admin }, async (request, reply) => {
      const parsed = CreateBody.safeParse(request.body ?? {});
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        throw BadRequest(first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid body');
      }
      const { token, info } = await tokens.create(
        parsed.data.name,
        parsed.data.scope,
        request.principal!.login,
      );
      request.log.info({ name: info.name, scope: info.scope, by: info.createdBy }, 'API token created');
      void reply.header('cache-control', 'no-store');
      return reply.code(201).send({ ...info, token });
    });

    app.get('/api/tokens', { preHandler: guard.admin }, async (_request, reply) => {
      void reply.header('cache-control', 'no-store');
      return { tokens: await tokens.list() };
    });

    app.delete<{ Params: { name: string } }>(
      '/api/tokens/:name',
      { preHandler: guard.admin },
      async (request, reply) => {
        const { name } = request.params;
        if (!(await tokens.revoke(name))) throw NotFound(`token ${name.slice(0, 64)}`);
        request.log.info({ name, by: request.principal!.login }, 'API token revoked');
        return reply.code(204).send();
      },
    );
  };
}

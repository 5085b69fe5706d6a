import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiTokenNotConfigured, Unauthorized } from '../errors.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * A preHandler for API routes: `Authorization: Bearer <SHIPGATE_API_TOKEN>`, compared in
 * constant time. Hashing both sides first gives equal-length buffers, so neither the token's
 * length nor its prefix leaks through timing. Without a configured token the API is off
 * (503 `SHIPGATE_E_API_TOKEN_NOT_CONFIGURED`) rather than open.
 *
 * Use: `app.get('/api/runs', { preHandler: requireBearerToken(config.apiToken) }, handler)`.
 */
export function requireBearerToken(
  apiToken: string | undefined,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = apiToken === undefined ? undefined : digest(apiToken);
  return async (request) => {
    if (expected === undefined) throw ApiTokenNotConfigured();
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer ([^\s]+)$/i.exec(header);
    if (match === null || !timingSafeEqual(digest(match[1] ?? ''), expected)) throw Unauthorized();
  };
}

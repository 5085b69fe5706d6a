import type { Queue } from 'bullmq';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  enqueueRollbackRequest,
  rollbackRequestStatus,
  type RollbackRequestStatus,
} from '../engine/triggers/start-rollback-run.js';
import {
  BadRequest,
  Forbidden,
  isShipgateError,
  NotFound,
  RedisUnavailable,
  RollbackFrozen,
  ShipgateError,
} from '../errors.js';
import { consoleAuthOf, type ApiContext } from './api-context.js';
import type { AuthGuard } from '../auth/auth-guard.js';
import { BREAK_GLASS_MIN_CHARS, decideRollback, type RollbackFacts } from '../auth/access-decisions.js';
import { activeFreeze } from '../policy/freeze-windows.js';

/**
 * Manual rollback through the authenticated API.
 *
 *   POST /api/rollbacks            Authorization: Bearer <SHIPGATE_API_TOKEN>
 *     body { app, env, to?: tag | sha, requestedBy?: GitHub login }
 *     header Idempotency-Key?      the same key twice is one request
 *     202 { requestId, status: 'started', runId, created, state, target }   run started (or found)
 *     202 { requestId, status: 'queued' | 'planning' }                     no answer within the wait
 *     404 SHIPGATE_E_ROLLBACK_NOT_GRANTED | SHIPGATE_E_ROLLBACK_TARGET_NOT_FOUND
 *     400 SHIPGATE_E_ROLLBACK_REQUEST_INVALID, 401, 503 SHIPGATE_E_REDIS_UNAVAILABLE
 *   GET /api/rollbacks/:requestId
 *     200 { requestId, status, runId?, … , error?: { code, message } }   404 when unknown
 *
 * The server validates and queues a `rollback-request` job, as for webhooks: planning reads the
 * env repo's history, which does not belong in a request. It then waits briefly for the
 * worker's answer so a caller usually gets the run id (follow it at GET /api/runs/:id).
 */
export interface RollbackRoutesOptions {
  deployQueue: Queue;
  requireToken: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Operator and freeze checks; without it (tests of the route alone) only requireToken. */
  guard?: AuthGuard;
  /** @defaultValue `() => new Date()` */
  now?: () => Date;
  /** How long to wait for the worker's answer before answering without a run id. @defaultValue 5000 */
  waitMs?: number;
}

const BodySchema = z
  .object({
    app: z.string().max(100),
    env: z.string().max(100),
    to: z.string().max(128).optional(),
    /** Tokens only: a GitHub login to record as the requester (a session is always itself). */
    requestedBy: z.string().max(50).optional(),
    reason: z.string().trim().max(2000).optional(),
    breakGlass: z
      .object({ reason: z.string().trim().min(BREAK_GLASS_MIN_CHARS).max(2000) })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Who may roll `env` back now: operators only (tokens: the rollback or admin scope), and during
 * a freeze only with break-glass. Returns what the request records about the caller.
 */
async function authorizeRollback(
  guard: AuthGuard,
  request: FastifyRequest,
  body: z.infer<typeof BodySchema>,
  now: Date,
): Promise<{ requestedBy?: string; actor: string; breakGlass?: { reason: string; freeze: string } }> {
  const { principal, roles, policy } = await guard.rolesOf(request);
  const byScope =
    principal.via === 'token' && (principal.scope === 'admin' || principal.scope === 'rollback');
  const operatorOf = byScope ? [...new Set([...roles.operatorOf, body.env])] : roles.operatorOf;
  let freeze: RollbackFacts['freeze'] = { frozen: false };
  if (policy && Object.hasOwn(policy.environments, body.env)) freeze = activeFreeze(policy, body.env, now);
  const decision = decideRollback(
    { ...roles, operatorOf },
    { env: body.env, freeze, ...(body.breakGlass ? { breakGlassReason: body.breakGlass.reason } : {}) },
  );
  if (!decision.allowed) {
    if (decision.code === 'frozen')
      throw RollbackFrozen(body.env, decision.until.toISOString(), decision.freezeReason);
    throw Forbidden(decision.reason);
  }
  const breakGlass =
    decision.breakGlass && body.breakGlass && freeze.frozen
      ? { reason: body.breakGlass.reason, freeze: `${freeze.reason} until ${freeze.until.toISOString()}` }
      : undefined;
  return {
    ...(principal.via === 'session' ? { requestedBy: principal.login } : {}),
    actor: principal.login,
    ...(breakGlass ? { breakGlass } : {}),
  };
}

const IdempotencyKey = z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/);

export interface RollbackRequestView {
  requestId: string;
  status: 'queued' | 'planning' | 'started' | 'refused' | 'failed';
  runId?: string;
  created?: boolean;
  state?: string;
  target?: unknown;
  error?: { code: string; message: string };
  reason?: string;
}

export function viewOf(requestId: string, s: RollbackRequestStatus): RollbackRequestView {
  if (s.status === 'failed') return { requestId, status: 'failed', reason: s.reason };
  if (s.status !== 'done') return { requestId, status: s.status };
  const r = s.result;
  if (r.outcome === 'refused') {
    return { requestId, status: 'refused', error: { code: r.error.code, message: r.error.message } };
  }
  return {
    requestId,
    status: 'started',
    runId: r.runId,
    created: r.created,
    state: r.state,
    target: r.target,
  };
}

export function rollbackRoutes(options: RollbackRoutesOptions): FastifyPluginAsync {
  const waitMs = options.waitMs ?? 5000;
  const queue = options.deployQueue;
  return async (app) => {
    app.post('/api/rollbacks', { preHandler: options.requireToken }, async (request, reply) => {
      const parsed = BodySchema.safeParse(request.body ?? {});
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        throw BadRequest(first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid body');
      }
      const header = request.headers['idempotency-key'];
      let requestId: string | undefined;
      if (header !== undefined) {
        const key = IdempotencyKey.safeParse(header);
        if (!key.success) throw BadRequest('Idempotency-Key: expected 1-64 chars of [A-Za-z0-9._-]');
        requestId = key.data;
      }
      const body = parsed.data;
      const who = options.guard
        ? await authorizeRollback(options.guard, request, body, (options.now ?? (() => new Date()))())
        : undefined;
      let queued: { requestId: string };
      try {
        queued = await enqueueRollbackRequest(queue, {
          app: body.app,
          env: body.env,
          ...(body.to === undefined ? {} : { to: body.to }),
          requestedBy: who?.requestedBy ?? body.requestedBy ?? 'api',
          ...(requestId === undefined ? {} : { requestId }),
          ...(who ? { actor: who.actor } : {}),
          ...(body.reason ? { reason: body.reason } : {}),
          ...(who?.breakGlass ? { breakGlass: who.breakGlass } : {}),
        });
      } catch (err) {
        if (isShipgateError(err)) throw err;
        throw RedisUnavailable('could not queue the rollback request', { cause: err });
      }
      request.log.info(
        {
          requestId: queued.requestId,
          app: body.app,
          env: body.env,
          to: body.to,
          actor: who?.actor,
          breakGlass: who?.breakGlass !== undefined,
        },
        'rollback request queued',
      );
      const status = await waitForAnswer(queue, queued.requestId, waitMs);
      if (status.status === 'done' && status.result.outcome === 'refused') {
        // The worker's refusal keeps its catalogue code and status (404 unknown tag, 400 …).
        const e = status.result.error;
        throw new ShipgateError(e.code, e.message, e.statusCode, false);
      }
      void reply.header('cache-control', 'no-store');
      return reply.code(202).send(viewOf(queued.requestId, status));
    });

    app.get<{ Params: { requestId: string } }>(
      '/api/rollbacks/:requestId',
      { preHandler: options.requireToken },
      async (request, reply): Promise<RollbackRequestView> => {
        const { requestId } = request.params;
        const status = await rollbackRequestStatus(queue, requestId);
        if (status === undefined) throw NotFound(`rollback request ${requestId.slice(0, 64)}`);
        void reply.header('cache-control', 'no-store');
        return viewOf(requestId, status);
      },
    );
  };
}

/** Polls the job (no blocking connection needed) until it finishes or `waitMs` passes. */
async function waitForAnswer(
  queue: Queue,
  requestId: string,
  waitMs: number,
): Promise<RollbackRequestStatus> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const status = (await rollbackRequestStatus(queue, requestId)) ?? { status: 'queued' as const };
    if (status.status === 'done' || status.status === 'failed' || Date.now() >= deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `POST /api/rollbacks` and `GET /api/rollbacks/:requestId` on the server's producer connection. */
export function rollbackApiPlugin(ctx: ApiContext): FastifyPluginAsync {
  return rollbackRoutes({
    deployQueue: ctx.queues.deploy,
    requireToken: consoleAuthOf(ctx).guard.scope('rollback'),
    guard: consoleAuthOf(ctx).guard,
  });
}

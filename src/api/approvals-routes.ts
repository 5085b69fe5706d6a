import type { Queue } from 'bullmq';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  apiDecisionJobOf,
  approvalDecisionJobOf,
  type ApprovalDecisionOutcome,
} from '../engine/stages/approval-stage.js';
import { enqueueStage, type StageQueues } from '../engine/context/stage-jobs.js';
import { ApprovalNotAwaited, ApprovalRefused, BadRequest, Forbidden, RunNotFound } from '../errors.js';
import type { Logger } from '../logger.js';
import { APPROVAL_COMMENT_MAX_CHARS } from '../approvals/approval-comment.js';
import { isRunId } from '../runs/run-id.js';
import { RunStore } from '../runs/run-store.js';
import { ResourceName } from '../runs/run-types.js';
import { consoleAuthOf, type ApiContext } from './api-context.js';
import type { AuthGuard } from '../auth/auth-guard.js';
import { decideApprove, slackIdentityOf } from '../auth/access-decisions.js';
import type { Run } from '../runs/run-types.js';
import { slackInteractionsRoutes } from '../slack/interactions-routes.js';
import { createReplayGuard } from '../slack/replay-guard.js';

/**
 * The fallback when Slack is down: an approval or rejection through the authenticated API.
 *
 *   POST /api/runs/:id/approvals   Authorization: Bearer <SHIPGATE_API_TOKEN>
 *     body { env, decision: 'approve' | 'reject', slackUserId, via?: 'api' | 'cli', comment? }
 *       comment: at most 500 characters, stored with the decision on the run (GET /api/runs/:id)
 *     200 { result }    the worker applied it: result.outcome approved | rejected | recorded | duplicate | closed | …
 *     202 { jobId }     queued; no worker answered within the wait (see GET /api/runs/:id)
 *     403 SHIPGATE_E_APPROVAL_REFUSED       the platform policy refused this person (same rules as a click)
 *     409 SHIPGATE_E_APPROVAL_NOT_AWAITED   the run does not wait for an approval to env
 *     404 SHIPGATE_E_RUN_NOT_FOUND, 401 SHIPGATE_E_UNAUTHORIZED, 400 SHIPGATE_E_BAD_REQUEST
 *
 * The server only validates and enqueues, as for webhooks: the `approval` worker applies the
 * decision under the platform policy (approvers, releaser, required count, freeze) and records it
 * in the approval audit and the run. `slackUserId` names the approver; the bearer token is held
 * by operators, so it is as trusted as the operator who sends it (audit: the run's event log).
 */
export interface ApprovalsRoutesOptions {
  runs: RunStore;
  queues: StageQueues;
  requireToken: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Decides who the caller acts as; without it (tests of the route alone) the body's slackUserId. */
  guard?: AuthGuard;
  logger: Logger;
  /** How long to wait for the worker's answer before a 202. @defaultValue 10000 */
  waitMs?: number;
  /** @defaultValue `() => new Date()` */
  now?: () => Date;
}

const BodySchema = z
  .object({
    env: ResourceName,
    decision: z.enum(['approve', 'reject']),
    /** Tokens name the approver; a signed-in person is their own (through the policy's identities). */
    slackUserId: z
      .string()
      .regex(/^[A-Z0-9]{2,32}$/, 'expected a Slack user id like U0123ABCD')
      .optional(),
    via: z.enum(['api', 'cli']).optional(),
    comment: z.string().max(APPROVAL_COMMENT_MAX_CHARS).optional(),
  })
  .strict();

/**
 * The Slack identity a decision is made as, and the label the audit shows. A session acts as
 * the Slack user its GitHub login maps to in the policy (the identity the Slack rules know);
 * a token names one, as before.
 */
async function deciderOf(
  guard: AuthGuard,
  request: FastifyRequest,
  run: Run,
  body: z.infer<typeof BodySchema>,
): Promise<{ slackUserId: string; actor?: string; tokenActor?: string }> {
  const { principal, roles, policy } = await guard.rolesOf(request);
  if (principal.via === 'token') {
    if (body.slackUserId === undefined) throw BadRequest('slackUserId: required with an API token');
    // A token acts for the Slack user it names: that person is the approver of record (trailer,
    // audit); the token itself is logged with the request.
    return { slackUserId: body.slackUserId, tokenActor: principal.login };
  }
  const slackUserId = policy ? slackIdentityOf(policy, principal.login) : undefined;
  if (slackUserId === undefined) {
    throw ApprovalRefused(
      `your GitHub login ${principal.login} has no Slack identity under identities in the platform policy`,
    );
  }
  if (body.slackUserId !== undefined && body.slackUserId !== slackUserId) {
    throw Forbidden('a signed-in person decides only as themselves');
  }
  const envPolicy =
    policy && Object.hasOwn(policy.environments, body.env) ? policy.environments[body.env] : undefined;
  const decision = decideApprove(principal, roles, {
    env: body.env,
    releaser: run.releaser,
    releaserMayApprove: envPolicy?.approval?.releaserMayApprove ?? false,
    decision: body.decision,
  });
  if (!decision.allowed) throw ApprovalRefused(decision.reason);
  return { slackUserId, actor: principal.login };
}

export function approvalsRoutes(options: ApprovalsRoutesOptions): FastifyPluginAsync {
  const waitMs = options.waitMs ?? 10_000;
  const now = options.now ?? (() => new Date());
  return async (app) => {
    app.post<{ Params: { id: string } }>(
      '/api/runs/:id/approvals',
      { preHandler: options.requireToken },
      async (request, reply) => {
        const { id } = request.params;
        const run = isRunId(id) ? await options.runs.getRun(id) : undefined;
        if (!run) throw RunNotFound(id.slice(0, 64));
        const parsed = BodySchema.safeParse(request.body ?? {});
        if (!parsed.success) {
          const first = parsed.error.issues[0];
          throw BadRequest(first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid body');
        }
        const body = parsed.data;
        if (run.state !== 'awaiting-approval' || run.currentEnv !== body.env) {
          throw ApprovalNotAwaited(run.id, body.env, run.state);
        }
        let decider: { slackUserId: string; actor?: string; tokenActor?: string };
        if (options.guard) decider = await deciderOf(options.guard, request, run, body);
        else if (body.slackUserId !== undefined) decider = { slackUserId: body.slackUserId };
        else throw BadRequest('slackUserId: required');
        const job = apiDecisionJobOf({
          runId: run.id,
          env: body.env,
          slackUserId: decider.slackUserId,
          decision: body.decision,
          via: body.via ?? 'api',
          receivedAt: now(),
          ...(decider.actor === undefined ? {} : { userName: decider.actor }),
          ...(body.comment === undefined ? {} : { comment: body.comment }),
        });
        const jobId = await enqueueStage(options.queues, job);
        request.log.info(
          {
            runId: run.id,
            env: body.env,
            userId: decider.slackUserId,
            actor: decider.actor ?? decider.tokenActor,
            decision: body.decision,
            via: job.via,
            // Never the comment itself: it is free text, and a log line outlives the run.
            commentChars: job.comment?.length ?? 0,
          },
          'approval decision queued through the API',
        );
        const result = await waitForResult(options.queues.approval, jobId, waitMs);
        void reply.header('cache-control', 'no-store');
        if (result === undefined) return reply.code(202).send({ jobId });
        if (result.outcome === 'refused') throw ApprovalRefused(result.reason ?? 'not allowed');
        if (result.outcome === 'not-awaiting')
          throw ApprovalNotAwaited(run.id, body.env, result.runState ?? '?');
        return reply.code(200).send({ result });
      },
    );
  };
}

/** Polls the job (no blocking connection needed); undefined when it did not finish in time. */
async function waitForResult(
  queue: Queue,
  jobId: string,
  waitMs: number,
): Promise<ApprovalDecisionOutcome | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const job = await queue.getJob(jobId);
    if (job?.finishedOn !== undefined) {
      if (job.failedReason) throw new Error(`approval job failed: ${job.failedReason}`);
      return job.returnvalue as ApprovalDecisionOutcome;
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// ── registrations for API_PLUGINS ───────────────────────────────────────────

/** `POST /api/runs/:id/approvals` on the server's producer connection. */
export function approvalsApiPlugin(ctx: ApiContext): FastifyPluginAsync {
  return approvalsRoutes({
    runs: new RunStore(ctx.producer, { prefix: `${ctx.config.queuePrefix}:runs` }),
    queues: ctx.queues,
    requireToken: consoleAuthOf(ctx).guard.scope('approve'),
    guard: consoleAuthOf(ctx).guard,
    logger: ctx.logger,
  });
}

/**
 * `POST /slack/interactions` when SLACK_SIGNING_SECRET is set: verified clicks become
 * `approval-decision` jobs (one per click; Slack's retries of a click share its job id).
 */
export function slackInteractionsApiPlugin(ctx: ApiContext): FastifyPluginAsync {
  const signingSecret = ctx.config.slack.signingSecret;
  if (signingSecret === undefined) return async () => undefined;
  const log = ctx.logger.child({ component: 'slack-interactions' });
  return slackInteractionsRoutes({
    signingSecret,
    logger: ctx.logger,
    replayGuard: createReplayGuard(ctx.producer, `${ctx.config.queuePrefix}:slack`),
    onAction: async (click, signal) => {
      const job = approvalDecisionJobOf(click);
      if (job === undefined) {
        // Ids no run or environment of ours could have: nothing to do, and nothing for Slack to retry.
        log.warn({ userId: click.userId }, 'Slack click with ids Shipgate never issues; ignored');
        return;
      }
      signal.throwIfAborted();
      await enqueueStage(ctx.queues, job);
    },
  });
}

import { recordWait } from '../../telemetry/with-span.js';
import { recordRefusedVote, recordVote } from '../../audit/record-decision.js';
import { randomUUID } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { ApprovalDeps } from '../../approvals/approval-deps.js';
import { approvedByTrailerValues } from '../../approvals/approval-audit.js';
import { approvalCommentOf } from '../../approvals/approval-comment.js';
import {
  handleApprovalClick,
  recordApiDecision,
  type ApprovalClickContext,
  type ApprovalClickResult,
} from '../../approvals/handle-approval-click.js';
import { expireApproval } from '../../approvals/expire-approval.js';
import { requestApproval } from '../../approvals/request-approval.js';
import type { ApprovalClick, ApprovalMessageContent } from '../../approvals/types.js';
import { ApprovalRequestClosed } from '../../errors.js';
import { approvalRuleOf, freezeStateOf, gateSummaryOf } from '../decisions/approval-mapping.js';
import { grantForRepo, slackUserForGithubLogin, type Policy } from '../../policy/index.js';
import type { Run } from '../../runs/run-types.js';
import { releaseEnvironments } from '../progress/advance-run.js';
import { continueAfterApproval } from '../progress/continue-release.js';
import type { EngineContext } from '../context/engine-context.js';
import { githubWebUrl } from '../context/env-repo.js';
import { checksUrlOf, notifyRelease } from '../progress/notify-release.js';
import { STAGE_JOB_OPTIONS, StageJobSchema, type StageJob } from '../context/stage-jobs.js';

/**
 * The approval stages of a release, on the `approval` queue:
 * - `approval-request`: post the request in Slack and schedule its expiry;
 * - `approval-decision`: one click (or API/CLI call) under the platform policy;
 * - `approval-expire`: a delayed job at the request's expiry.
 *
 * Who may approve is read from the platform policy only, never from the app repo. The approvals
 * module's store decides exactly once; the run moves with compare-and-set transitions keyed by
 * event, so retried jobs, Slack's retries and double clicks promote once.
 */

export const APPROVAL_EXPIRE_JOB = 'approval-expire';

export const ApprovalExpireJobSchema = z
  .object({
    runId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    env: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/),
  })
  .strict();
export type ApprovalExpireJob = z.infer<typeof ApprovalExpireJobSchema>;

export type ApprovalDecisionJob = Extract<StageJob, { stage: 'approval-decision' }>;

// ── pure mapping ────────────────────────────────────────────────────────────

/** A verified Slack click as an `approval-decision` job; undefined for ids no job could carry. */
export function approvalDecisionJobOf(click: ApprovalClick): ApprovalDecisionJob | undefined {
  const receivedMs = Date.parse(click.receivedAt);
  const job = {
    stage: 'approval-decision' as const,
    runId: click.runId,
    env: click.env,
    slackUserId: click.userId,
    decision: click.decision,
    nonce: click.nonce,
    via: 'slack' as const,
    channel: click.channelId ?? null,
    // Without action_ts (never seen from Slack) each delivery is its own job; the store still decides once.
    clickId: click.actionTs ?? `r${Number.isFinite(receivedMs) ? receivedMs : 0}`,
    ...(click.userName !== undefined ? { userName: click.userName.slice(0, 100) } : {}),
    ...(click.messageTs !== undefined ? { messageTs: click.messageTs } : {}),
    ...(click.threadTs !== undefined ? { threadTs: click.threadTs } : {}),
    ...(click.teamId !== undefined ? { teamId: click.teamId } : {}),
    retryNum: Math.min(100, click.retryNum),
    receivedAt: click.receivedAt,
  };
  const parsed = StageDecisionSchema.safeParse(job);
  return parsed.success ? parsed.data : undefined;
}

/** A decision made through the authenticated API or the CLI. */
export function apiDecisionJobOf(input: {
  runId: string;
  env: string;
  slackUserId: string;
  decision: 'approve' | 'reject';
  via: 'api' | 'cli';
  receivedAt: Date;
  /** Who decided, as authenticated (GitHub login or `token:<name>`): shown in the audit. */
  userName?: string;
  /** What they wrote with it; cleaned here (bounded, no controls, token shapes masked). */
  comment?: string;
}): ApprovalDecisionJob {
  const comment = approvalCommentOf(input.comment);
  return StageDecisionSchema.parse({
    stage: 'approval-decision',
    runId: input.runId,
    env: input.env,
    slackUserId: input.slackUserId,
    decision: input.decision,
    nonce: '',
    via: input.via,
    channel: null,
    clickId: randomUUID(),
    retryNum: 0,
    receivedAt: input.receivedAt.toISOString(),
    ...(input.userName === undefined ? {} : { userName: input.userName }),
    ...(comment === undefined ? {} : { comment }),
  });
}

/** The decision entry of the stage-job schema, narrowed. */
const StageDecisionSchema = {
  safeParse(value: unknown) {
    const parsed = StageJobSchema.safeParse(value);
    return parsed.success && parsed.data.stage === 'approval-decision'
      ? { success: true as const, data: parsed.data }
      : { success: false as const };
  },
  parse(value: unknown): ApprovalDecisionJob {
    const parsed = StageJobSchema.parse(value);
    if (parsed.stage !== 'approval-decision') throw new TypeError('not an approval-decision job');
    return parsed;
  },
};

// ── approval-request ────────────────────────────────────────────────────────

export type ApprovalRequestOutcome =
  | { outcome: 'posted'; channel: string; ts: string; created: boolean; expiresAt: string }
  /** Without Slack: the request is in the store, decided through the API or the CLI. */
  | { outcome: 'opened'; created: boolean; expiresAt: string }
  | { outcome: 'skipped'; reason: string };

/**
 * Posts the approval request for `env` (without Slack: stores it, for the API and the CLI) and
 * schedules its expiry. Idempotent: a retried job reuses
 * the stored request (same nonce, same message) and the same expiry job id.
 */
export async function runApprovalRequestStage(
  ctx: EngineContext,
  job: { runId: string; env: string },
): Promise<ApprovalRequestOutcome> {
  const log = ctx.logger.child({ runId: job.runId, env: job.env, stage: 'approval-request' });
  const run = await ctx.runs.getRun(job.runId);
  if (run === undefined) return { outcome: 'skipped', reason: 'unknown run' };
  if (run.state !== 'awaiting-approval' || run.currentEnv !== job.env) {
    log.info({ state: run.state, currentEnv: run.currentEnv }, 'run no longer awaits this approval');
    return { outcome: 'skipped', reason: `run is ${run.state}` };
  }
  const approvals = approvalsOf(ctx);
  if (approvals.slack === undefined) {
    log.warn(
      'Slack is not configured (SLACK_BOT_TOKEN): approve with `shipgate approve` or POST /api/runs/:id/approvals',
    );
  }
  const { policy } = await ctx.policy.current();
  const rule = approvalRuleOf(policy, job.env);
  if (rule === undefined) {
    // The policy changed since the run reached this point: nothing to ask anymore.
    log.info('the policy no longer requires an approval here');
    await continueAfterApproval(ctx, run.id, job.env, []);
    return { outcome: 'skipped', reason: 'no approval required' };
  }
  const envs = await releaseEnvironments(ctx, run.id);
  const fromEnv = envs[envs.indexOf(job.env) - 1] ?? '-';
  const content = approvalContentOf(ctx, policy, run, fromEnv, job.env);
  const releaserSlackId = slackUserForGithubLogin(policy, run.releaser);

  let result;
  try {
    result = await requestApproval(approvals, {
      runId: run.id,
      app: content.app,
      content,
      rule,
      releaser: { githubLogin: run.releaser },
      slackUserMapping: releaserSlackId === null ? {} : { [run.releaser]: releaserSlackId },
    });
  } catch (err) {
    // Decided between the run's transition and this job (an API decision): the decision acts.
    if (ApprovalRequestClosed.is(err)) return { outcome: 'skipped', reason: (err as Error).message };
    throw err;
  }
  const { request } = result;
  await scheduleApprovalExpiry(ctx, run.id, job.env, request.expiresAt);
  const where = result.ts !== undefined ? 'in Slack' : 'from the API and the CLI';
  await ctx.runs.appendEvent(
    run.id,
    {
      type: 'approval-requested',
      message: `approval for ${job.env} requested ${where} (expires ${request.expiresAt.toISOString()})`,
      data: { env: job.env, channel: result.channel, ts: result.ts, required: rule.required },
    },
    { eventKey: `approval-requested:${job.env}` },
  );
  if (result.supersededRunId !== undefined)
    await supersedeWaitingRun(ctx, result.supersededRunId, run.id, job.env);
  await notifyRelease(ctx, run, { kind: 'waiting-for-approval', env: job.env });
  if (result.channel === undefined || result.ts === undefined) {
    return { outcome: 'opened', created: result.created, expiresAt: request.expiresAt.toISOString() };
  }
  return {
    outcome: 'posted',
    channel: result.channel,
    ts: result.ts,
    created: result.created,
    expiresAt: request.expiresAt.toISOString(),
  };
}

/** The approval flows; a context without them still has the one store (no Slack parts). */
function approvalsOf(ctx: EngineContext): ApprovalDeps {
  return ctx.approvals ?? { store: ctx.approvalStore, logger: ctx.logger, now: () => ctx.now() };
}

export function approvalContentOf(
  ctx: Pick<EngineContext, 'config'>,
  policy: Policy,
  run: Run,
  fromEnv: string,
  toEnv: string,
): ApprovalMessageContent {
  const app = run.app ?? grantForRepo(policy, run.repo)?.app ?? run.repo.split('/')[1] ?? run.repo;
  const links: ApprovalMessageContent['links'] = { checks: checksUrlOf(ctx, run) };
  const envRepo = ctx.config.envRepo;
  const grantPath = grantForRepo(policy, run.repo)?.environments[toEnv]?.path;
  if (envRepo !== undefined && /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(envRepo)) {
    // What production has been getting: the history of the app's path in the env repo.
    links.envRepoDiff = `${githubWebUrl(ctx.config.github.apiUrl)}/${envRepo}/commits/HEAD${grantPath ? `/${grantPath}` : ''}`;
  }
  const server = ctx.config.argocd.server;
  if (server !== undefined) {
    const base = /^https?:\/\//.test(server) ? server : `https://${server}`;
    links.argocdApp = `${base.replace(/\/+$/, '')}/applications/${encodeURIComponent(`${app}-${toEnv}`)}`;
  }
  return {
    runId: run.id,
    app,
    version: run.tag ?? run.ref,
    fromEnv,
    toEnv,
    releaserLogin: run.releaser,
    gates: gateSummaryOf(run.gates),
    links,
  };
}

/** A delayed job at `expiresAt`; its id is fixed per run and environment, so a retry adds it once. */
export async function scheduleApprovalExpiry(
  ctx: EngineContext,
  runId: string,
  env: string,
  expiresAt: Date,
): Promise<string> {
  const data = ApprovalExpireJobSchema.parse({ runId, env });
  const jobId = `${runId}.approval-expire.${env}`;
  const options: JobsOptions = {
    ...STAGE_JOB_OPTIONS,
    jobId,
    // A little after the deadline, so the store (which compares clocks) agrees it is due.
    delay: Math.max(0, expiresAt.getTime() - ctx.now().getTime()) + 1000,
  };
  await ctx.queues.approval.add(APPROVAL_EXPIRE_JOB, data, options);
  return jobId;
}

/** An older release of the same app was waiting for this environment: the newer one replaces it. */
async function supersedeWaitingRun(ctx: EngineContext, oldRunId: string, byRunId: string, env: string) {
  const moved = await ctx.runs.transition(oldRunId, {
    from: 'awaiting-approval',
    to: 'superseded',
    supersededBy: byRunId,
    reason: `a newer release (${byRunId}) asked for approval to ${env}`,
    eventKey: `${oldRunId}:superseded-approval:${env}`,
  });
  if (moved.ok)
    ctx.logger.info({ runId: oldRunId, byRunId, env }, 'older release awaiting approval superseded');
}

// ── approval-expire ─────────────────────────────────────────────────────────

/** Expires the request if still open and due; the run then fails with "approval expired". */
export async function runApprovalExpireStage(
  ctx: EngineContext,
  job: ApprovalExpireJob,
): Promise<{ expired: boolean; runState?: string }> {
  const result = await expireApproval(approvalsOf(ctx), job.runId, job.env);
  // Act on the status, not on `expired`: a retry after a crash between the two steps still fails the run.
  if (result.request?.status !== 'expired') return { expired: false };
  const run = await failWaitingRun(ctx, job.runId, job.env, 'approval expired', 'expired');
  return { expired: result.expired, ...(run ? { runState: run.state } : {}) };
}

// ── approval-decision ───────────────────────────────────────────────────────

/** What a decision job returns (BullMQ keeps it as the job's return value; the API reads it). */
export interface ApprovalDecisionOutcome {
  outcome: ApprovalClickResult['outcome'] | 'not-awaiting' | 'no-request';
  status?: string;
  decided: boolean;
  /** Why a refused decision was refused (shown to API/CLI callers; Slack users get an ephemeral). */
  code?: string;
  reason?: string;
  approvers: string[];
  runState?: string;
}

export async function runApprovalDecisionStage(
  ctx: EngineContext,
  job: ApprovalDecisionJob,
): Promise<ApprovalDecisionOutcome> {
  const log = ctx.logger.child({ runId: job.runId, env: job.env, userId: job.slackUserId, via: job.via });
  const { policy } = await ctx.policy.current();
  const getFreeze: ApprovalClickContext['getFreeze'] = (env) => freezeStateOf(policy, env, ctx.now());

  const approvals = approvalsOf(ctx);
  if (approvals.slack === undefined) {
    if (job.via === 'slack') {
      log.warn('Slack click without SLACK_BOT_TOKEN configured on the workers; ignored');
      return { outcome: 'no-request', decided: false, approvers: [] };
    }
    // Without Slack the run says whether a decision is still wanted (no message shows it).
    const run = await ctx.runs.getRun(job.runId);
    if (run === undefined) return { outcome: 'unknown', decided: false, approvers: [] };
    if (run.state !== 'awaiting-approval' || run.currentEnv !== job.env) {
      return { outcome: 'not-awaiting', decided: false, approvers: [], runState: run.state };
    }
    // A run that waited before the request was stored (its request job ran without a store).
    if ((await approvals.store.getRequest(job.runId, job.env)) === undefined) {
      const opened = await runApprovalRequestStage(ctx, { runId: job.runId, env: job.env });
      if (opened.outcome === 'skipped') {
        // The policy no longer asks for an approval here (the run went on), or the run moved.
        const after = await ctx.runs.getRun(job.runId);
        return opened.reason === 'no approval required'
          ? { outcome: 'approved', decided: true, approvers: [], runState: after?.state }
          : { outcome: 'not-awaiting', decided: false, approvers: [], runState: after?.state };
      }
    }
  }

  const result =
    job.via === 'slack'
      ? await handleApprovalClick(approvals, clickOf(job), { getFreeze })
      : await recordApiDecision(
          approvals,
          {
            runId: job.runId,
            env: job.env,
            userId: job.slackUserId,
            ...(job.userName !== undefined ? { userName: job.userName } : {}),
            decision: job.decision,
          },
          { getFreeze },
        );

  if (result.outcome === 'refused') {
    await auditVote(ctx, job, { refused: { code: result.code, reason: result.reason } });
    return {
      outcome: 'refused',
      status: result.status,
      decided: false,
      code: result.code,
      reason: result.reason,
      approvers: [],
    };
  }
  const approvers = result.approvers.map((v) => v.userId);
  if (result.outcome === 'unknown') return { outcome: 'unknown', decided: false, approvers };

  const vote = result.request?.votes.find((v) => v.userId === job.slackUserId);
  if (vote !== undefined && ['approved', 'rejected', 'recorded', 'duplicate'].includes(result.outcome)) {
    await ctx.runs.addApproval(job.runId, {
      env: job.env,
      slackUserId: vote.userId,
      at: vote.at.toISOString(),
      decision: vote.decision,
      // The comment of the job that carried this vote; a later click by the same person is not
      // added again (one decision per approver), so its comment does not replace the first.
      ...(job.comment === undefined ? {} : { comment: job.comment }),
    });
    await auditVote(ctx, job, {
      outcome: result.outcome === 'duplicate' ? 'recorded' : result.outcome,
      at: vote.at,
    });
  }

  let run: Run | undefined;
  const request = result.request;
  if (result.decided && request !== undefined) {
    // How long the release stood waiting for people, on this decision job's span.
    recordWait('approval', ctx.now().getTime() - request.createdAt.getTime(), { 'shipgate.env': job.env });
  }
  if (result.status === 'approved' && request !== undefined) {
    run = await promoteIfWaiting(ctx, job.runId, job.env, approvedByTrailerValues(request));
  } else if (result.status === 'rejected') {
    const by = result.rejectedBy ?? request?.votes.find((v) => v.decision === 'reject');
    const who = by ? (by.userName ?? by.userId) : 'an approver';
    run = await failWaitingRun(ctx, job.runId, job.env, `rejected by ${who}`, 'rejected');
  } else if (result.status === 'expired') {
    run = await failWaitingRun(ctx, job.runId, job.env, 'approval expired', 'expired');
  }
  log.info(
    { outcome: result.outcome, status: result.status, decided: result.decided },
    'approval decision handled',
  );
  return {
    outcome: result.outcome,
    ...(result.status !== undefined ? { status: result.status } : {}),
    decided: result.decided,
    approvers,
    ...(run ? { runState: run.state } : {}),
  };
}

function clickOf(job: ApprovalDecisionJob): ApprovalClick {
  return {
    runId: job.runId,
    env: job.env,
    nonce: job.nonce,
    decision: job.decision,
    userId: job.slackUserId,
    ...(job.userName !== undefined ? { userName: job.userName } : {}),
    ...(job.teamId !== undefined ? { teamId: job.teamId } : {}),
    ...(job.channel !== null ? { channelId: job.channel } : {}),
    ...(job.messageTs !== undefined ? { messageTs: job.messageTs } : {}),
    ...(job.threadTs !== undefined ? { threadTs: job.threadTs } : {}),
    actionTs: job.clickId,
    retryNum: job.retryNum ?? 0,
    receivedAt: job.receivedAt ?? new Date().toISOString(),
  };
}

/**
 * Promotes only a run that still waits for this environment: a late click on an approved
 * request, or a retried job, finds the run already deploying and changes nothing.
 */
async function promoteIfWaiting(
  ctx: EngineContext,
  runId: string,
  env: string,
  approvedBy: string[],
): Promise<Run | undefined> {
  const run = await ctx.runs.getRun(runId);
  if (run === undefined || run.state !== 'awaiting-approval' || run.currentEnv !== env) return run;
  return continueAfterApproval(ctx, runId, env, approvedBy);
}

async function failWaitingRun(
  ctx: EngineContext,
  runId: string,
  env: string,
  reason: string,
  kind: 'rejected' | 'expired',
): Promise<Run | undefined> {
  const run = await ctx.runs.getRun(runId);
  if (run === undefined || run.state !== 'awaiting-approval' || run.currentEnv !== env) return run;
  const moved = await ctx.runs.transition(runId, {
    from: 'awaiting-approval',
    to: 'failed',
    reason,
    event: { type: 'approval', message: `${env}: ${reason}`, data: { env, outcome: kind } },
    eventKey: `${runId}:approval-${kind}:${env}`,
  });
  const after = moved.run ?? run;
  if (moved.ok) {
    await notifyRelease(
      ctx,
      after,
      { kind: 'failed', env, gate: 'approval', reason },
      { eventKey: `failed:${env}` },
    );
  }
  return after;
}

/**
 * The audit entry of one decision job: a counted vote once per approver (a retried or double
 * click is the same vote), a refused click once per click. Never fails the decision.
 */
async function auditVote(
  ctx: EngineContext,
  job: ApprovalDecisionJob,
  what: { outcome: string; at: Date } | { refused: { code: string; reason: string } },
): Promise<void> {
  if (ctx.audit === undefined) return;
  const base = {
    runId: job.runId,
    env: job.env,
    userId: job.slackUserId,
    ...(job.userName !== undefined ? { userName: job.userName } : {}),
    decision: job.decision,
    via: job.via,
    ...(job.comment === undefined ? {} : { comment: job.comment }),
  };
  try {
    const app = (await ctx.runs.getRun(job.runId))?.app;
    const withApp = app !== undefined ? { ...base, app } : base;
    if ('refused' in what) {
      await recordRefusedVote(ctx.audit, {
        ...withApp,
        at: ctx.now(),
        clickId: job.clickId,
        code: what.refused.code,
        reason: what.refused.reason,
      });
    } else {
      await recordVote(ctx.audit, { ...withApp, at: what.at, outcome: what.outcome });
    }
  } catch (err) {
    ctx.logger.warn({ err, runId: job.runId, env: job.env }, 'audit: could not record the decision');
  }
}

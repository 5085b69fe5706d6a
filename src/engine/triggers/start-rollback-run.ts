import { notifyRelease } from '../progress/notify-release.js';
import { recordRollback } from '../../audit/record-decision.js';
import { approvalRuleOf } from '../decisions/approval-mapping.js';
import { ROLLBACK_PLAN_STEP, type RollbackRecord } from '../context/rollback-record.js';
import { randomUUID } from 'node:crypto';
import type { JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import { planManualRollback, type RollbackPlan } from '../../deploy/plan-manual-rollback.js';
import {
  isRetryable,
  isShipgateError,
  RollbackNotGranted,
  RollbackRequestInvalid,
  RollbackTargetNotFound,
} from '../../errors.js';
import { listPathHistory } from '../../gitops/read-live.js';
import type { EnvironmentTarget } from '../../gitops/types.js';
import { resolveDeployTarget, type Policy } from '../../policy/index.js';
import { isTerminal } from '../../runs/run-state-machine.js';
import { ResourceName, type Run } from '../../runs/run-types.js';
import { splitRepo, type EngineContext } from '../context/engine-context.js';
import { enqueueStage } from '../context/stage-jobs.js';

/**
 * `shipgate rollback <app> <env> [--to <tag|sha>]` and `POST /api/rollbacks`: picks an earlier
 * good release of the app in the environment from the env repo's history and starts a
 * `rollback` run for it. The run then goes through the same lock, commit path, Argo CD sync and
 * blue-green gates as a release (src/engine/stages/deploy/rollback-deploy-stage.ts).
 */

/** BullMQ job name of a rollback request on the `deploy` queue. */
export const ROLLBACK_REQUEST_JOB = 'rollback-request';
/** The app-repo ref recorded on rollback runs (they restore a release, they build no ref). */
export const ROLLBACK_REF = 'refs/shipgate/rollback';

const GithubLogin = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/, 'expected a GitHub login, "api" or "cli"');
const JobIdPart = z
  .string()
  .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 chars of [A-Za-z0-9._-]');

export const RollbackRequestSchema = z
  .object({
    app: ResourceName,
    env: ResourceName,
    /** A release tag (`v1.2.3`) or a commit sha (env-repo commit or app `Source-Commit`). */
    to: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$/, 'expected a tag or a commit sha')
      .optional(),
    /** Who asked: a GitHub login, or `api`/`cli` when the caller does not say. */
    requestedBy: GithubLogin,
    /** Names one request: its job id, so a resent request is one job. */
    requestId: JobIdPart.optional(),
    /** The authenticated caller (GitHub login, `token:<name>`, `api-token`), for the audit and the run. */
    actor: z.string().min(1).max(100).optional(),
    /** Why, in the caller's words. */
    reason: z.string().max(2000).optional(),
    /** Set when the rollback was allowed through a freeze window: the written justification. */
    breakGlass: z
      .object({ reason: z.string().min(10).max(2000), freeze: z.string().max(500) })
      .strict()
      .optional(),
  })
  .strict();
export type RollbackRequest = z.input<typeof RollbackRequestSchema>;

export interface StartedRollback {
  run: Run;
  /** False when an identical request already made this run. */
  created: boolean;
  plan: RollbackPlan;
}

/**
 * The repo whose policy grant deploys `app` to `env`, and the env-repo target it grants.
 * Only the platform policy decides this; nothing from an app repo is read.
 */
export function rollbackTargetOf(
  policy: Policy,
  app: string,
  env: string,
): { repo: string; target: EnvironmentTarget } {
  const repos = Object.entries(policy.repos.grants)
    .filter(([, grant]) => grant.app === app)
    .map(([repo]) => repo);
  if (repos.length === 0)
    throw RollbackNotGranted(app, env, 'no repository is granted this app in the policy');
  const withEnv = repos.filter((repo) => Object.hasOwn(policy.repos.grants[repo]!.environments, env));
  if (withEnv.length === 0) throw RollbackNotGranted(app, env, `${repos.join(', ')} is not granted ${env}`);
  if (withEnv.length > 1) {
    throw RollbackNotGranted(app, env, `several repositories are granted it (${withEnv.join(', ')})`);
  }
  const repo = withEnv[0]!;
  const decision = resolveDeployTarget(policy, repo, env);
  if (!decision.allowed) throw RollbackNotGranted(app, env, decision.reason);
  return {
    repo,
    target: {
      app: decision.app,
      env,
      path: decision.path,
      namespace: decision.namespace,
      requireBlueGreen: decision.requireBlueGreen,
      allowClusterScoped: decision.allowClusterScoped ? ['*'] : [],
    },
  };
}

/** Runs that ended without changing what is live: asking the same again deserves a new run. */
const DEAD_ENDS: readonly Run['state'][] = ['failed', 'cancelled', 'superseded'];
const MAX_GENERATIONS = 20;

/**
 * Plans the rollback (reading the env repo's history for the path) and starts the run:
 * queued → deploying(env), then a `rollback-deploy` job. Throws RollbackRequestInvalid,
 * RollbackNotGranted or RollbackTargetNotFound (nothing is written) when it cannot.
 *
 * Idempotency: the run's key is `rollback:<app>:<env>:<live commit>:<target commit>:<n>` —
 * the intent "take what is live now back to that release". A request sent twice (a double
 * click, a CLI retried after a timeout, two people at once) finds the same run while it is in
 * flight or after it succeeded; once a rollback has committed, what is live has changed, so a
 * later request plans afresh. `n` moves past runs that ended without touching git (failed,
 * cancelled, superseded), so the same rollback can be asked again after, say, fixing Argo CD.
 */
export async function startRollbackRun(ctx: EngineContext, raw: RollbackRequest): Promise<StartedRollback> {
  const parsed = RollbackRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw RollbackRequestInvalid(
      first ? `${first.path.join('.') || 'request'}: ${first.message}` : 'invalid',
    );
  }
  const request = parsed.data;
  const { app, env } = request;
  const { policy } = await ctx.policy.current();
  const { repo, target } = rollbackTargetOf(policy, app, env);

  const history = await listPathHistory(ctx.envRepo, { path: target.path, limit: 200 });
  const live = history[0];
  if (live === undefined) throw RollbackTargetNotFound(`nothing was ever deployed to ${target.path}`);
  const plan = planManualRollback({
    liveCommits: history.map((c) => ({ sha: c.commit, trailers: c.trailers })),
    ...(request.to === undefined ? {} : { to: request.to }),
  });
  const sourceCommit = plan.target.sourceCommit;
  if (sourceCommit === undefined || !/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(sourceCommit)) {
    throw RollbackTargetNotFound(`${plan.target.sha.slice(0, 12)} records no full Source-Commit`);
  }
  const sourceRepo = history.find((c) => c.commit === plan.target.sha)?.sourceRepo;
  if (sourceRepo !== undefined && sourceRepo.toLowerCase() !== repo.toLowerCase()) {
    throw RollbackTargetNotFound(
      `${plan.target.sha.slice(0, 12)} was released from ${sourceRepo}, but the policy grants ${app} to ${repo}`,
    );
  }

  const { owner, repo: name } = splitRepo(repo);
  const installationId = await ctx.github.findRepoInstallation(owner, name);
  const intent = `rollback:${app}:${env}:${live.commit}:${plan.target.sha}`;
  let started: { run: Run; created: boolean } | undefined;
  for (let n = 1; n <= MAX_GENERATIONS; n += 1) {
    started = await ctx.runs.createRun(
      {
        kind: 'rollback',
        repo,
        installationId,
        sha: sourceCommit,
        ref: ROLLBACK_REF,
        ...(plan.target.tag === undefined ? {} : { tag: plan.target.tag.slice(0, 255) }),
        app,
        releaser: request.requestedBy,
      },
      { idempotencyKey: `${intent}:${n}` },
    );
    if (started.created || !DEAD_ENDS.includes(started.run.state)) break;
  }
  const { run, created } = started!;
  const log = ctx.logger.child({ runId: run.id, app, env });
  if (!created) log.info({ state: run.state }, 'rollback already requested; same run');
  if (isTerminal(run.state)) return { run, created, plan };

  // Each step below is safe to repeat, so a retried request job finishes what a crash left.
  if ((await ctx.runs.getStepResult(run.id, ROLLBACK_PLAN_STEP)) === undefined) {
    const record: RollbackRecord = {
      app,
      env,
      target,
      live: live.commit,
      plan,
      requestedBy: request.requestedBy,
      ...(request.to === undefined ? {} : { to: request.to }),
      ...(request.requestId === undefined ? {} : { requestId: request.requestId }),
      ...(request.actor === undefined ? {} : { actor: request.actor }),
      ...(request.reason === undefined ? {} : { reason: request.reason }),
      ...(request.breakGlass === undefined ? {} : { breakGlass: request.breakGlass }),
    };
    await ctx.runs.recordStepResult(run.id, ROLLBACK_PLAN_STEP, record);
  }
  const what = plan.target.tag ?? plan.target.sha.slice(0, 12);
  const moved = await ctx.runs.transition(run.id, {
    from: 'queued',
    to: 'deploying',
    env,
    event: {
      type: 'rollback-requested',
      message: `${request.actor ?? request.requestedBy} asked to roll ${app} in ${env} back to ${what} (${plan.target.sha.slice(0, 12)}, live: ${live.commit.slice(0, 12)})${request.reason ? `: ${request.reason.slice(0, 500)}` : ''}`,
      data: {
        env,
        target: plan.target,
        live: live.commit,
        skipped: plan.skipped.slice(0, 20),
        requestedBy: request.requestedBy,
        ...(request.actor === undefined ? {} : { actor: request.actor }),
        ...(request.reason === undefined ? {} : { reason: request.reason.slice(0, 2000) }),
        ...(request.breakGlass === undefined ? {} : { breakGlass: request.breakGlass }),
      },
    },
    eventKey: `${run.id}:deploy:${env}`,
  });
  const now = moved.run ?? run;
  if (ctx.audit !== undefined) {
    // A manual rollback skips the environment's approvals: that is its break-glass.
    const { policy } = await ctx.policy.current();
    await recordRollback(ctx.audit, {
      runId: run.id,
      app,
      env,
      requestedBy: request.actor ?? request.requestedBy,
      via: request.requestedBy === 'cli' ? 'cli' : 'api',
      at: ctx.now(),
      targetSha: plan.target.sha,
      ...(plan.target.tag !== undefined ? { targetTag: plan.target.tag } : {}),
      reason:
        `roll ${app} in ${env} back to ${what}` +
        (request.reason ? `: ${request.reason}` : '') +
        (request.breakGlass
          ? ` [break-glass during freeze (${request.breakGlass.freeze}): ${request.breakGlass.reason}]`
          : ''),
      breakGlass: request.breakGlass !== undefined || approvalRuleOf(policy, env) !== undefined,
    }).catch((err: unknown) => log.warn({ err }, 'audit: could not record the rollback'));
  }
  if (request.breakGlass !== undefined && created) {
    await notifyRelease(ctx, now, {
      kind: 'break-glass',
      env,
      actor: request.actor ?? request.requestedBy,
      reason: request.breakGlass.reason,
      freeze: request.breakGlass.freeze,
    });
  }
  if (['deploying', 'verifying'].includes(now.state) && now.currentEnv === env) {
    await enqueueStage(ctx.queues, { stage: 'rollback-deploy', runId: run.id, env });
  }
  return { run: now, created, plan };
}

// ── the rollback-request job (API and CLI → worker) ───────────────────────────

export type RollbackRequestOutcome =
  | {
      outcome: 'started';
      runId: string;
      created: boolean;
      state: Run['state'];
      target: RollbackPlan['target'];
    }
  | { outcome: 'refused'; error: { code: string; message: string; statusCode: number } };

/**
 * The `rollback-request` job: planning reads git history, which is too slow for an HTTP
 * request. A refusal (unknown app, no such tag, nothing earlier) is the job's answer, not a
 * failure to retry; git or GitHub outages throw, and BullMQ retries them.
 */
export async function handleRollbackRequest(
  ctx: EngineContext,
  data: unknown,
): Promise<RollbackRequestOutcome> {
  try {
    const { run, created, plan } = await startRollbackRun(ctx, data as RollbackRequest);
    return { outcome: 'started', runId: run.id, created, state: run.state, target: plan.target };
  } catch (err) {
    if (isShipgateError(err) && !isRetryable(err)) {
      return {
        outcome: 'refused',
        error: { code: err.code, message: err.message, statusCode: err.statusCode },
      };
    }
    throw err;
  }
}

const DAY_SECONDS = 24 * 3600;

/** Git or GitHub may be briefly away; a request that cannot plan in ~2 minutes fails. */
export const ROLLBACK_REQUEST_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 5,
  backoff: { type: 'exponential', delay: 4000 },
  removeOnComplete: { age: 7 * DAY_SECONDS, count: 10_000 },
  removeOnFail: { age: 30 * DAY_SECONDS, count: 10_000 },
});

export function rollbackRequestJobId(requestId: string): string {
  return `${ROLLBACK_REQUEST_JOB}.${requestId}`;
}

/**
 * Queues a rollback request on the `deploy` queue; returns its id. The job carries names only
 * (app, env, tag or sha, who), never a secret. The same `requestId` twice is one job.
 */
export async function enqueueRollbackRequest(
  deployQueue: Queue,
  request: Omit<RollbackRequest, 'requestId'> & { requestId?: string },
): Promise<{ requestId: string; jobId: string }> {
  const requestId = request.requestId ?? randomUUID();
  const parsed = RollbackRequestSchema.safeParse({ ...request, requestId });
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw RollbackRequestInvalid(
      first ? `${first.path.join('.') || 'request'}: ${first.message}` : 'invalid',
    );
  }
  const jobId = rollbackRequestJobId(requestId);
  await deployQueue.add(ROLLBACK_REQUEST_JOB, parsed.data, { ...ROLLBACK_REQUEST_JOB_OPTIONS, jobId });
  return { requestId, jobId };
}

export type RollbackRequestStatus =
  | { status: 'queued' | 'planning' }
  | { status: 'done'; result: RollbackRequestOutcome }
  | { status: 'failed'; reason: string };

/** Where a queued request is; undefined when no such request is known (or it expired). */
export async function rollbackRequestStatus(
  deployQueue: Queue,
  requestId: string,
): Promise<RollbackRequestStatus | undefined> {
  if (!JobIdPart.safeParse(requestId).success) return undefined;
  const job = await deployQueue.getJob(rollbackRequestJobId(requestId));
  if (!job || job.name !== ROLLBACK_REQUEST_JOB) return undefined;
  if (job.finishedOn !== undefined) {
    return job.failedReason
      ? { status: 'failed', reason: job.failedReason.slice(0, 500) }
      : { status: 'done', result: job.returnvalue as RollbackRequestOutcome };
  }
  return { status: job.processedOn === undefined ? 'queued' : 'planning' };
}

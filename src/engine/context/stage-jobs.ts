import type { JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import type { QueueName } from '../../queue/names.js';
import { RUN_LIMITS } from '../../runs/run-types.js';
import { currentTraceparent, TRACEPARENT_PATTERN } from '../../telemetry/trace-context.js';

/**
 * Jobs of the stage queues. Each carries ids only (run, gate, environment, check run), never
 * a secret or a payload: the worker reads the run record and mints tokens itself.
 *
 * Job ids are derived from what the job does, so enqueueing the same stage twice (a retried
 * pipeline job, two webhook deliveries racing) adds it once: BullMQ ignores an `add` whose
 * jobId already exists.
 */
/** The gates that run as stage jobs. ZAP is not one: it runs inside the deploy, against the preview. */
export const GATES = ['tests', 'trivy'] as const;
export type GateName = (typeof GATES)[number];

/** Parts of job ids: BullMQ forbids ':' in custom ids, and '.' separates the parts. */
const JOB_ID_PART = z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/);

/** W3C trace context of whoever enqueued the job (src/telemetry); absent when tracing is off. */
const traceparent = z.string().regex(TRACEPARENT_PATTERN).optional();

export const StageJobSchema = z.discriminatedUnion('stage', [
  z.object({
    traceparent,
    stage: z.literal('gate'),
    runId: z.string().max(64),
    gate: z.enum(GATES),
    checkRunId: z.number().int().nonnegative(),
    /** Bumped by "Re-run" on the check, so a rerun is a new job, not a duplicate. */
    attempt: z.number().int().min(1).max(100),
  }),
  z.object({
    traceparent,
    stage: z.literal('manifests-preview'),
    runId: z.string().max(64),
    checkRunId: z.number().int().nonnegative(),
    attempt: z.number().int().min(1).max(100),
  }),
  z.object({
    traceparent,
    stage: z.literal('deploy'),
    runId: z.string().max(64),
    env: z.string().max(63),
  }),
  z.object({
    /** A manual rollback run's one environment (src/engine/stages/deploy/rollback-deploy-stage.ts). */
    traceparent,
    stage: z.literal('rollback-deploy'),
    runId: z.string().max(64),
    env: z.string().max(63),
  }),
  z.object({
    traceparent,
    stage: z.literal('approval-request'),
    runId: z.string().max(64),
    env: z.string().max(63),
  }),
  z.object({
    traceparent,
    stage: z.literal('approval-decision'),
    runId: JOB_ID_PART,
    env: JOB_ID_PART,
    slackUserId: z.string().regex(/^[A-Z0-9]{2,32}$/),
    decision: z.enum(['approve', 'reject']),
    /** The button's nonce ('' for the API/CLI, which authenticated with the bearer token instead). */
    nonce: z.string().max(128),
    via: z.enum(['slack', 'api', 'cli']),
    /** Channel of the clicked message, for the ephemeral answer to a refused click. */
    channel: z.string().max(32).nullable(),
    /**
     * Names one click: Slack's `action_ts` (its retries of a click repeat it), or a fresh id per
     * API call. Part of the job id, so a click refused during a freeze can be made again later.
     */
    clickId: JOB_ID_PART,
    userName: z.string().max(100).optional(),
    /**
     * The approver's comment (API and console; Slack buttons carry none). Free text, but bounded
     * and with token shapes masked before it is enqueued (src/approvals/approval-comment.ts).
     */
    comment: z.string().max(RUN_LIMITS.approvalCommentChars).optional(),
    messageTs: z.string().max(32).optional(),
    threadTs: z.string().max(32).optional(),
    teamId: z.string().max(32).optional(),
    retryNum: z.number().int().min(0).max(100).optional(),
    receivedAt: z.string().max(40).optional(),
  }),
]);

export type StageJob = z.infer<typeof StageJobSchema>;

export function queueForStage(job: StageJob): QueueName {
  switch (job.stage) {
    case 'gate':
      return job.gate === 'tests' ? 'test' : job.gate;
    case 'manifests-preview':
      return 'render';
    case 'deploy':
    case 'rollback-deploy':
      return 'deploy';
    case 'approval-request':
    case 'approval-decision':
      return 'approval';
  }
}

/** BullMQ forbids ':' in custom ids; '.' keeps them readable in logs and Redis. */
export function stageJobId(job: StageJob): string {
  switch (job.stage) {
    case 'gate':
      return `${job.runId}.gate.${job.gate}.${job.attempt}`;
    case 'manifests-preview':
      return `${job.runId}.manifests.${job.attempt}`;
    case 'deploy':
      return `${job.runId}.deploy.${job.env}`;
    case 'rollback-deploy':
      return `${job.runId}.rollback-deploy.${job.env}`;
    case 'approval-request':
      return `${job.runId}.approval-request.${job.env}`;
    case 'approval-decision':
      // One job per click: Slack's retries of the same click collapse here; double and
      // concurrent clicks are separate jobs, and the approval store decides exactly once.
      return `${job.runId}.approval.${job.env}.${job.slackUserId}.${job.decision}.${job.clickId}`;
  }
}

const DAY_SECONDS = 24 * 3600;

/** Gate and deploy jobs do slow, fallible work: retry with backoff, keep history bounded. */
export const STAGE_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 4,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { age: 14 * DAY_SECONDS, count: 10_000 },
  removeOnFail: { age: 30 * DAY_SECONDS, count: 10_000 },
});

/**
 * Deploy jobs wait for the app+environment lock as a delay that uses no attempt (see
 * asDeployJob in workers/job-helpers.ts). The attempts are for real failures, Argo CD or the
 * cluster unreachable at preflight among them: a fixed 15 s for up to 10 minutes.
 */
export const DEPLOY_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  ...STAGE_JOB_OPTIONS,
  attempts: 40,
  backoff: { type: 'fixed', delay: 15_000 },
});

export type StageQueues = Pick<Record<QueueName, Queue>, 'test' | 'trivy' | 'render' | 'deploy' | 'approval'>;

export async function enqueueStage(
  queues: StageQueues,
  job: StageJob,
  options: JobsOptions = {},
): Promise<string> {
  const tp = job.traceparent ?? currentTraceparent();
  const parsed = StageJobSchema.parse(tp === undefined ? job : { ...job, traceparent: tp });
  const queueName = queueForStage(parsed) as keyof StageQueues;
  const jobId = stageJobId(parsed);
  const defaults =
    parsed.stage === 'deploy' || parsed.stage === 'rollback-deploy' ? DEPLOY_JOB_OPTIONS : STAGE_JOB_OPTIONS;
  await queues[queueName].add(parsed.stage, parsed, { ...defaults, ...options, jobId });
  return jobId;
}

import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import {
  APPROVAL_EXPIRE_JOB,
  ApprovalExpireJobSchema,
  runApprovalDecisionStage,
  runApprovalExpireStage,
  runApprovalRequestStage,
} from '../src/engine/approval-stages.js';
import { StageJobSchema, type StageJob } from '../src/engine/stage-jobs.js';
import { isRetryable } from '../src/errors.js';
import { engineContextOf } from './engine-workers.js';
import type { WorkerSpec } from './index.js';

/** A non-retryable catalogue error ends the job at once; anything else is retried with backoff. */
async function asJob<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isRetryable(err)) throw new UnrecoverableError((err as Error).message);
    throw err;
  }
}

function parseStage<S extends StageJob['stage']>(job: Job, stage: S): Extract<StageJob, { stage: S }> {
  const parsed = StageJobSchema.safeParse(job.data);
  if (!parsed.success || parsed.data.stage !== stage) {
    throw new UnrecoverableError(`job ${job.id} is not a ${stage} job`);
  }
  return parsed.data as Extract<StageJob, { stage: S }>;
}

/**
 * The `approval` queue: post requests, apply decisions, expire requests. Decisions are quick
 * (Redis, one Slack update), so a few run in parallel; the approval store serializes each request.
 */
export const approvalWorker: WorkerSpec = {
  queue: 'approval',
  concurrency: 4,
  handlers: {
    'approval-request': async (job, ctx) =>
      asJob(() => runApprovalRequestStage(engineContextOf(ctx), parseStage(job, 'approval-request'))),
    'approval-decision': async (job, ctx) =>
      asJob(() => runApprovalDecisionStage(engineContextOf(ctx), parseStage(job, 'approval-decision'))),
    [APPROVAL_EXPIRE_JOB]: async (job, ctx) => {
      const parsed = ApprovalExpireJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`job ${job.id} is not an approval-expire job`);
      return asJob(() => runApprovalExpireStage(engineContextOf(ctx), parsed.data));
    },
  },
};

export const APPROVAL_WORKERS: readonly WorkerSpec[] = [approvalWorker];

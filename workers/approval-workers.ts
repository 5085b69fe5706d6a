import { UnrecoverableError } from 'bullmq';
import {
  APPROVAL_EXPIRE_JOB,
  ApprovalExpireJobSchema,
  runApprovalDecisionStage,
  runApprovalExpireStage,
  runApprovalRequestStage,
} from '../src/engine/stages/approval-stage.js';
import { engineContextOf } from './engine-workers.js';
import type { WorkerSpec } from './index.js';
import { asJob, parseStage } from './job-helpers.js';

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

import type { JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import type { QueueName } from '../queue/names.js';

/**
 * Jobs of the stage queues. Each carries ids only (run, gate, environment, check run), never
 * a secret or a payload: the worker reads the run record and mints tokens itself.
 *
 * Job ids are derived from what the job does, so enqueueing the same stage twice (a retried
 * pipeline job, two webhook deliveries racing) adds it once: BullMQ ignores an `add` whose
 * jobId already exists.
 */
export const GATES = ['tests', 'trivy', 'zap'] as const;
export type GateName = (typeof GATES)[number];

export const StageJobSchema = z.discriminatedUnion('stage', [
  z.object({
    stage: z.literal('gate'),
    runId: z.string().max(64),
    gate: z.enum(GATES),
    checkRunId: z.number().int().nonnegative(),
    /** Bumped by "Re-run" on the check, so a rerun is a new job, not a duplicate. */
    attempt: z.number().int().min(1).max(100),
  }),
  z.object({
    stage: z.literal('manifests-preview'),
    runId: z.string().max(64),
    checkRunId: z.number().int().nonnegative(),
    attempt: z.number().int().min(1).max(100),
  }),
  z.object({
    stage: z.literal('deploy'),
    runId: z.string().max(64),
    env: z.string().max(63),
  }),
  z.object({
    stage: z.literal('approval-request'),
    runId: z.string().max(64),
    env: z.string().max(63),
  }),
  z.object({
    stage: z.literal('approval-decision'),
    runId: z.string().max(64),
    env: z.string().max(63),
    slackUserId: z.string().max(32),
    decision: z.enum(['approve', 'reject']),
    nonce: z.string().max(128),
    via: z.enum(['slack', 'api', 'cli']),
    /** Slack's response_url-free context for the ephemeral answer. */
    channel: z.string().max(32).nullable(),
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
    case 'approval-request':
      return `${job.runId}.approval-request.${job.env}`;
    case 'approval-decision':
      // One job per click identity: Slack's retries of the same click collapse here; the
      // approval store makes the decision itself exactly-once.
      return `${job.runId}.approval.${job.env}.${job.slackUserId}.${job.decision}`;
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

export type StageQueues = Pick<
  Record<QueueName, Queue>,
  'test' | 'trivy' | 'zap' | 'render' | 'deploy' | 'approval'
>;

export async function enqueueStage(
  queues: StageQueues,
  job: StageJob,
  options: JobsOptions = {},
): Promise<string> {
  const parsed = StageJobSchema.parse(job);
  const queueName = queueForStage(parsed) as keyof StageQueues;
  const jobId = stageJobId(parsed);
  await queues[queueName].add(parsed.stage, parsed, { ...STAGE_JOB_OPTIONS, ...options, jobId });
  return jobId;
}

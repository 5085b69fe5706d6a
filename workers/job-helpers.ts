import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { StageJobSchema, type StageJob } from '../src/engine/stage-jobs.js';
import { isRetryable } from '../src/errors.js';

export interface AsJobOptions {
  /** True on the job's last attempt: a failure now is final even when retryable. */
  lastAttempt?: boolean;
  /** Runs once when the job fails for good, so the stage can still report (a check run, a run state). */
  onGivingUp?: (err: unknown) => Promise<void>;
}

/**
 * Runs `fn`; a non-retryable catalogue error becomes an UnrecoverableError (no more attempts).
 * When the job gives up, `onGivingUp` reports it first; its own failure is not the job's.
 */
export async function asJob<T>(fn: () => Promise<T>, options: AsJobOptions = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const final = !isRetryable(err) || options.lastAttempt === true;
    if (final && options.onGivingUp) await options.onGivingUp(err).catch(() => {});
    if (!isRetryable(err)) throw new UnrecoverableError((err as Error).message);
    throw err;
  }
}

/** True when BullMQ will not retry this job after the current attempt. */
export function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** Parses a stage job's data; a job of the wrong shape can never succeed, so it fails once. */
export function parseStage<S extends StageJob['stage']>(job: Job, stage: S): Extract<StageJob, { stage: S }> {
  const parsed = StageJobSchema.safeParse(job.data);
  if (!parsed.success || parsed.data.stage !== stage) {
    throw new UnrecoverableError(`job ${job.id} is not a ${stage} job`);
  }
  return parsed.data as Extract<StageJob, { stage: S }>;
}

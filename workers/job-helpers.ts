import type { Job } from 'bullmq';
import { DelayedError, UnrecoverableError } from 'bullmq';
import { StageJobSchema, type StageJob } from '../src/engine/context/stage-jobs.js';
import { DeployLockBusy, isRetryable } from '../src/errors.js';

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

/** How long a deploy waits before asking for the app+environment lock again. @defaultValue 15 s */
export const LOCK_WAIT_MS = 15_000;

/**
 * A deploy job: a busy environment (DeployLockBusy) moves the job back to `delayed` without
 * using an attempt (BullMQ's DelayedError), so waiting for the lock is neither a failed job in
 * the logs nor in the metrics, and does not eat the retries kept for real failures.
 */
export async function asDeployJob<T>(
  job: Job,
  token: string | undefined,
  fn: () => Promise<T>,
  waitMs: number = LOCK_WAIT_MS,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (DeployLockBusy.is(err) && token !== undefined) {
      await job.moveToDelayed(Date.now() + waitMs, token);
      throw new DelayedError(err.message);
    }
    if (!isRetryable(err)) throw new UnrecoverableError((err as Error).message);
    throw err;
  }
}

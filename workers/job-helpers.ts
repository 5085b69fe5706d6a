import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { StageJobSchema, type StageJob } from '../src/engine/stage-jobs.js';
import { isRetryable } from '../src/errors.js';

/** Runs `fn`; a non-retryable catalogue error becomes an UnrecoverableError (no more attempts). */
export async function asJob<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isRetryable(err)) throw new UnrecoverableError((err as Error).message);
    throw err;
  }
}

/** Parses a stage job's data; a job of the wrong shape can never succeed, so it fails once. */
export function parseStage<S extends StageJob['stage']>(job: Job, stage: S): Extract<StageJob, { stage: S }> {
  const parsed = StageJobSchema.safeParse(job.data);
  if (!parsed.success || parsed.data.stage !== stage) {
    throw new UnrecoverableError(`job ${job.id} is not a ${stage} job`);
  }
  return parsed.data as Extract<StageJob, { stage: S }>;
}

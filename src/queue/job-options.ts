import type { JobsOptions } from 'bullmq';

const DAY_SECONDS = 24 * 3600;

/**
 * Options for jobs on the `webhook` queue. Retries back off exponentially (2 s, 4 s, 8 s, …);
 * finished jobs are kept long enough to inspect and no longer, so Redis stays bounded.
 */
export const WEBHOOK_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 6,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 7 * DAY_SECONDS, count: 10_000 },
  removeOnFail: { age: 14 * DAY_SECONDS, count: 10_000 },
});

/** Maintenance jobs are periodic: a failed sweep is simply retried by the next one. */
export const MAINTENANCE_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 1,
  removeOnComplete: { age: DAY_SECONDS, count: 100 },
  removeOnFail: { age: 7 * DAY_SECONDS, count: 100 },
});

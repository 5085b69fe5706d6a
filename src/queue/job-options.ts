import type { JobsOptions } from 'bullmq';

const DAY_SECONDS = 24 * 3600;

/**
 * Options for jobs on the `webhook` queue. Retries back off exponentially (2 s, 4 s, 8 s, …).
 * Finished jobs are kept by age and count, so Redis stays bounded. The age is longer than the
 * 4-day delivery dedupe window on purpose: removing a job also removes its BullMQ dedupe key, so
 * the count is set high enough (50,000 deliveries in 4 days) that age, not count, decides.
 */
export const WEBHOOK_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 6,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 5 * DAY_SECONDS, count: 50_000 },
  removeOnFail: { age: 14 * DAY_SECONDS, count: 50_000 },
});

/** Maintenance jobs are periodic: a failed sweep is simply retried by the next one. */
export const MAINTENANCE_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 1,
  removeOnComplete: { age: DAY_SECONDS, count: 100 },
  removeOnFail: { age: 7 * DAY_SECONDS, count: 100 },
});

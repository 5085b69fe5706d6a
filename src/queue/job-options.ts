import type { JobsOptions } from 'bullmq';

const DAY_SECONDS = 24 * 3600;

/**
 * GitHub lets a delivery be redelivered for 3 days. The job id is the one dedupe of deliveries
 * (BullMQ adds nothing when a job with that id exists), so a finished job must outlive that
 * window: removing it would let a redelivery run again.
 */
export const DELIVERY_DEDUPE_SECONDS = 4 * DAY_SECONDS;

/**
 * Options for jobs on the `webhook` queue. Retries back off exponentially (2 s, 4 s, 8 s, …).
 * Completed jobs are removed by age only, never by count: a count would cut the dedupe window
 * short under a burst. Redis stays bounded by rate × 4 days × the bounded job data (a few KB).
 * Failed jobs are kept longer for inspection; dropping one early only lets a redelivery retry it.
 */
export const WEBHOOK_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 6,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: DELIVERY_DEDUPE_SECONDS },
  removeOnFail: { age: 14 * DAY_SECONDS, count: 50_000 },
});

/** Maintenance jobs are periodic: a failed sweep is simply retried by the next one. */
export const MAINTENANCE_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 1,
  removeOnComplete: { age: DAY_SECONDS, count: 100 },
  removeOnFail: { age: 7 * DAY_SECONDS, count: 100 },
});

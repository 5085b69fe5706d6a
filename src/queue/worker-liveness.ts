import type { WorkerOptions } from 'bullmq';
import type { QueueName } from './names.js';

/**
 * How fast a dead worker's jobs come back. BullMQ holds a lock per active job and the worker
 * renews it every `lockDuration / 2`; every `stalledInterval` each worker marks the active jobs
 * and moves back to waiting those whose lock has lapsed. A job of a worker killed with
 * `kill -9` is therefore taken up again after at most about `lockDuration + stalledInterval`:
 * 7.5 s here, against 35–70 s with BullMQ's defaults (30 s each, and a first pass to mark).
 *
 * Why not shorter: a lock must survive the longest event-loop stall of a healthy worker, or a
 * live job is taken for dead and run twice (harmless, since every job is idempotent, but
 * wasteful). 5 s leaves a wide margin over the worst stalls measured (YAML parses and kustomize
 * output handling stay well under 1 s). Each stalled check is one short Lua script per queue
 * per worker, about 4 a second for a worker on every queue: negligible for Redis.
 *
 * `maxStalledCount` is 3, not 1: under rolling restarts or a crash loop a job can lose its
 * worker more than once, and it must not be failed for good for that.
 */
export const WORKER_LIVENESS: Readonly<
  Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'>
> = Object.freeze({
  lockDuration: 5_000,
  stalledInterval: 2_500,
  maxStalledCount: 3,
});

/**
 * Deploy jobs may lose their worker 10 times, not 3. A deploy holds its worker for the whole
 * rollout (a minute or more on a busy machine), so a crash loop or a run of restarts meets it
 * far more often than a gate job of seconds; and it resumes where it stopped (its step ledger
 * and env-repo commit are idempotent), while giving it up leaves an environment half deployed.
 * The fault soak on a slow 2-core machine (kill -9 every 45 s, deploys of 60-100 s) saw the
 * restarted worker take the same deploy back and be killed under it 4 times.
 */
export const DEPLOY_MAX_STALLED_COUNT = 10;

/** The liveness settings of one queue's workers. */
export function workerLiveness(
  queue: QueueName,
): Readonly<Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'>> {
  return queue === 'deploy'
    ? { ...WORKER_LIVENESS, maxStalledCount: DEPLOY_MAX_STALLED_COUNT }
    : WORKER_LIVENESS;
}

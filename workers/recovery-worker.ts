import type { JobsOptions } from 'bullmq';
import { MAINTENANCE_JOB_OPTIONS } from '../src/queue/job-options.js';
import {
  claimRedisEpoch,
  rebuildLiveState,
  reportLostRuns,
} from '../src/recovery/recover-after-redis-loss.js';
import { RunKeys } from '../src/runs/run-keys.js';
import { engineContextOf } from './engine-workers.js';
import type { WorkerContext, WorkerSpec } from './index.js';

export const RECOVER_LOST_RUNS_JOB = 'recover-lost-runs';
export const REBUILD_LIVE_STATE_JOB = 'rebuild-live-state';
/** How often "what is live" is read again from the env repo (deploys change it meanwhile). */
export const LIVE_STATE_EVERY_MS = 5 * 60_000;

/** GitHub or git may be briefly away right after an outage: retry the report for a while. */
const RECOVERY_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  ...MAINTENANCE_JOB_OPTIONS,
  attempts: 8,
  backoff: { type: 'exponential', delay: 5_000 },
});

function keysOf(ctx: WorkerContext): RunKeys {
  return new RunKeys(`${ctx.config.queuePrefix}:runs`);
}

/**
 * Disaster recovery at start. A Redis with no `recovery:epoch` has never been seen by Shipgate,
 * or has lost its data: the first worker to start on it claims it and queues one recovery job,
 * which reports the runs that were in flight as lost (once) and rebuilds what is live from the
 * env repo. An ordinary restart finds the epoch and queues nothing.
 */
export const recoveryWorker: WorkerSpec = {
  queue: 'maintenance',
  handlers: {
    [RECOVER_LOST_RUNS_JOB]: async (_job, ctx) => {
      const engine = engineContextOf(ctx);
      const live = await rebuildLiveState(engine, ctx.producer, keysOf(ctx));
      const report = await reportLostRuns(engine, ctx.producer, keysOf(ctx));
      // Stored with the job: ids and counts only.
      return { live: live.entries.length, lost: report.lost.length, reported: report.reported };
    },
    [REBUILD_LIVE_STATE_JOB]: async (_job, ctx) => {
      const live = await rebuildLiveState(engineContextOf(ctx), ctx.producer, keysOf(ctx));
      return { live: live.entries.length, envCommit: live.envCommit };
    },
  },
  async schedule(ctx) {
    // Without an env repo nothing is deployed, so nothing is live to rebuild and no deploy can
    // have been lost; the jobs would only fail and retry. The epoch stays unclaimed for later.
    if (ctx.config.envRepo === undefined) return;
    await ctx.queues.maintenance.upsertJobScheduler(
      REBUILD_LIVE_STATE_JOB,
      { every: LIVE_STATE_EVERY_MS },
      { name: REBUILD_LIVE_STATE_JOB, opts: MAINTENANCE_JOB_OPTIONS },
    );
    if (await claimRedisEpoch(ctx.producer, keysOf(ctx), new Date())) {
      ctx.logger.warn('Redis holds no Shipgate state: checking GitHub for runs lost with it');
      await ctx.queues.maintenance.add(
        RECOVER_LOST_RUNS_JOB,
        {},
        { ...RECOVERY_JOB_OPTIONS, jobId: RECOVER_LOST_RUNS_JOB },
      );
    }
  },
};

import { createHookDeliveriesClient } from '../src/redelivery/hook-deliveries-client.js';
import { sweepMissedDeliveries } from '../src/redelivery/sweep-missed-deliveries.js';
import { MAINTENANCE_JOB_OPTIONS } from '../src/queue/job-options.js';
import type { WorkerContext, WorkerSpec } from './index.js';

export const REDELIVERY_JOB_NAME = 'redeliver-missed';
/** How often the sweep runs. GitHub keeps deliveries for 3 days, so this is far inside the window. */
export const REDELIVERY_EVERY_MS = 5 * 60_000;

async function runSweep(ctx: WorkerContext) {
  const { appId, privateKey, apiUrl } = ctx.config.github;
  if (appId === undefined || privateKey === undefined) {
    ctx.logger.warn('GITHUB_APP_ID or GITHUB_PRIVATE_KEY is not set; skipping the redelivery sweep');
    return { skipped: 'no-app-credentials' };
  }
  const result = await sweepMissedDeliveries({
    client: createHookDeliveriesClient({ appId, privateKey, apiUrl }),
    redis: ctx.producer,
    prefix: ctx.config.queuePrefix,
    logger: ctx.logger.child({ job: REDELIVERY_JOB_NAME }),
    metrics: ctx.metrics,
  });
  // Return value is stored in Redis with the job: counts only, no payloads.
  return {
    skipped: result.skipped ?? null,
    since: result.since,
    scanned: result.scanned,
    redelivered: result.redelivered.length,
    gaveUp: result.gaveUp.length,
    deferred: result.deferred,
  };
}

/** Thin worker: the periodic missed-delivery sweep on the `maintenance` queue. */
export const redeliveryWorker: WorkerSpec = {
  queue: 'maintenance',
  handlers: { [REDELIVERY_JOB_NAME]: (_job, ctx) => runSweep(ctx) },
  async schedule(ctx) {
    await ctx.queues.maintenance.upsertJobScheduler(
      REDELIVERY_JOB_NAME,
      { every: REDELIVERY_EVERY_MS },
      { name: REDELIVERY_JOB_NAME, opts: MAINTENANCE_JOB_OPTIONS },
    );
  },
};

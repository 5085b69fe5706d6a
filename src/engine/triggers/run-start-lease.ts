import { RunStartBusy } from '../../errors.js';
import { newRunId } from '../../runs/run-id.js';
import type { EngineContext } from '../context/engine-context.js';

/**
 * The lease of a run start. Short, and renewed while the start runs: a worker killed in the
 * middle of a start stops renewing, and its lease then blocks the redelivered job for at most
 * this long. It was a flat 60 s, which the fault soak (issue 17) found: a worker `kill -9`ed
 * while starting a release left the run `queued`, with its `shipgate/config` check queued, for a
 * minute and more, while every retry of the webhook job (2, 4, 8 … s) hit the dead holder's
 * lease, against the 10 s in which a killed worker's jobs must resume.
 */
export const RUN_START_LEASE_MS = 8_000;

/**
 * Two deliveries for one run (a tag's `push` and `create`, a redelivery) can be handled at the
 * same moment. The steps of starting a run are idempotent one at a time, but two of them
 * racing could both create a check run. One holder at a time, with a lease so a crashed
 * worker cannot block the run: the other delivery is retried (BullMQ backoff) and then finds
 * the run started.
 */
export async function withRunStartLease<T>(
  ctx: Pick<EngineContext, 'locks'>,
  runId: string,
  fn: () => Promise<T>,
  options: { leaseMs?: number } = {},
): Promise<T> {
  const leaseMs = options.leaseMs ?? RUN_START_LEASE_MS;
  // The deploy lock's keys are names and its holders run ids: a fresh id names this attempt.
  const holder = newRunId();
  const key = runId.toLowerCase();
  if (!(await ctx.locks.acquire('run-start', key, holder, { leaseMs }))) throw RunStartBusy(runId);
  // A start that waits on GitHub (retries, rate limits) can outlast one lease: renew it well
  // within the lease while this holder is alive. A lost renewal is not fatal: every step is
  // idempotent on its own, the lease only keeps two starters from racing.
  const renewal = setInterval(
    () => {
      ctx.locks.renew('run-start', key, holder, { leaseMs }).catch(() => {});
    },
    Math.max(100, Math.floor(leaseMs / 3)),
  );
  try {
    return await fn();
  } finally {
    clearInterval(renewal);
    await ctx.locks.release('run-start', key, holder);
  }
}

import { RunStartBusy } from '../../errors.js';
import { newRunId } from '../../runs/run-id.js';
import type { EngineContext } from '../context/engine-context.js';

const LEASE_MS = 60_000;

/**
 * Two deliveries for one run (a tag's `push` and `create`, a redelivery) can be handled at the
 * same moment. The steps of starting a run are idempotent one at a time, but two of them
 * racing could both create a check run. One holder at a time, with a lease so a crashed
 * worker cannot block the run: the other delivery is retried (BullMQ backoff) and then finds
 * the run started.
 */
export async function withRunStartLease<T>(
  ctx: EngineContext,
  runId: string,
  fn: () => Promise<T>,
): Promise<T> {
  // The deploy lock's keys are names and its holders run ids: a fresh id names this attempt.
  const holder = newRunId();
  const key = runId.toLowerCase();
  if (!(await ctx.locks.acquire('run-start', key, holder, { leaseMs: LEASE_MS }))) throw RunStartBusy(runId);
  try {
    return await fn();
  } finally {
    await ctx.locks.release('run-start', key, holder);
  }
}

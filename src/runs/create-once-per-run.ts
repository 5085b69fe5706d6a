import { setTimeout as sleep } from 'node:timers/promises';
import type { RunStore } from './run-store.js';

/** How long a caller that lost the claim waits for the winner's result. @defaultValue 15 s */
export const DEFAULT_WINNER_WAIT_MS = 15_000;
const POLL_MS = 100;

/**
 * Creates an outside object (a check run, a GitHub Deployment) for a run at most once, even when
 * two processes ask at the same moment: GitHub's own find-or-create cannot see a create that is
 * still in flight, so two callers that both look before either creates make two objects.
 *
 * One caller claims the step (`RunStore.claimStep`), creates, and records the result; the others
 * wait for that result. A claim with no result after `waitMs` means the winner died mid-create:
 * the caller then runs `create` itself, which must be a find-or-create (it finds the object if the
 * winner made it before dying). Two processes get here for one run and step only when the same
 * job runs twice at once, e.g. a worker starved past its BullMQ lock while another took the job.
 */
export async function createOncePerRun<T>(
  runs: Pick<RunStore, 'claimStep' | 'getStepResult' | 'recordStepResult'>,
  runId: string,
  stepKey: string,
  create: () => Promise<T>,
  options: { waitMs?: number; signal?: AbortSignal | undefined } = {},
): Promise<T> {
  const recorded = await runs.getStepResult<T>(runId, stepKey);
  if (recorded !== undefined) return recorded;
  if (!(await runs.claimStep(runId, stepKey))) {
    const deadline = Date.now() + (options.waitMs ?? DEFAULT_WINNER_WAIT_MS);
    while (Date.now() < deadline) {
      await sleep(POLL_MS, undefined, options.signal ? { signal: options.signal } : {});
      const result = await runs.getStepResult<T>(runId, stepKey);
      if (result !== undefined) return result;
    }
  }
  const value = await create();
  await runs.recordStepResult(runId, stepKey, value);
  return value;
}

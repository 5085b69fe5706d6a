import type { Run } from '../../runs/run-types.js';
import { completeRunCheck, runChecks } from './run-checks.js';
import type { EngineContext } from '../context/engine-context.js';
import { GATES } from '../context/stage-jobs.js';

/**
 * Winds down a run that is now terminal (superseded or cancelled): removes its stage jobs that
 * have not started (a started one notices the run's state and aborts itself), and completes its
 * open check runs as `cancelled`, so the PR shows the truth. Safe to repeat.
 */
export async function windDownRun(ctx: EngineContext, run: Run, reason: string): Promise<void> {
  for (const gate of GATES) {
    const queue = gate === 'tests' ? ctx.queues.test : ctx.queues[gate];
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      await removeIfWaiting(queue, `${run.id}.gate.${gate}.${attempt}`);
    }
  }
  await removeIfWaiting(ctx.queues.render, `${run.id}.manifests.1`);

  const checks = await runChecks(ctx, run.id);
  const finished = new Set(Object.keys(run.gates ?? {}));
  for (const [key, checkRunId] of Object.entries(checks)) {
    if (key === 'config' || finished.has(key) || checkRunId === undefined) continue;
    await completeRunCheck(ctx, run, checkRunId, {
      conclusion: 'cancelled',
      title: 'Cancelled',
      summary: reason,
    });
  }
}

async function removeIfWaiting(queue: import('bullmq').Queue, jobId: string): Promise<void> {
  const job = await queue.getJob(jobId);
  if (!job) return;
  const state = await job.getState();
  if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
    // A job a worker took meanwhile cannot be removed; it checks the run's state itself.
    await job.remove().catch(() => {});
  }
}

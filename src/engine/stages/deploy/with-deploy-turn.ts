import { holdDeployLease } from '../../../deploy/hold-deploy-lease.js';
import { DeployLockBusy, isRetryable, isShipgateError } from '../../../errors.js';
import { isTerminal } from '../../../runs/run-state-machine.js';
import type { Run } from '../../../runs/run-types.js';
import type { EngineContext } from '../../context/engine-context.js';

const LEASE_MS = 120_000;

/**
 * One deploy at a time per app and environment, for release deploys and rollbacks alike:
 * waits its turn (a stale run is superseded, a busy environment throws DeployLockBusy, which
 * the worker turns into a delay of the job, not a failed attempt), keeps the lease alive while
 * `deploy` runs and aborts the signal it hands to `deploy` the moment the lease is lost, ends
 * the run as `failed` with the reason when `deploy` fails for good, and gives the environment
 * back once the run has moved on from it.
 */
export async function withDeployTurn(
  ctx: EngineContext,
  run: Run,
  app: string,
  env: string,
  deploy: (run: Run, signal: AbortSignal) => Promise<Run>,
  options: { signal?: AbortSignal | undefined; leaseMs?: number } = {},
): Promise<void> {
  const leaseMs = options.leaseMs ?? LEASE_MS;
  // Ordered by when the run was created: a rollback counts as newer than any release before it.
  const turn = await ctx.locks.waitTurn(app, env, run.id, Date.parse(run.createdAt), { leaseMs });
  if (turn.status === 'superseded') {
    await ctx.runs.transition(run.id, {
      from: 'deploying',
      to: 'superseded',
      supersededBy: turn.by,
      reason: `a newer release or rollback of ${app} (${turn.by}) took ${env}`,
      eventKey: `${run.id}:superseded:${env}`,
    });
    return;
  }
  if (turn.status === 'waiting') throw DeployLockBusy(app, env, turn.holder);

  const lease = holdDeployLease(
    ctx.locks,
    { app, env, runId: run.id },
    { leaseMs, logger: ctx.logger, ...(options.signal ? { signal: options.signal } : {}) },
  );
  let current = run;
  try {
    current = await deploy(run, lease.signal);
  } catch (err) {
    if (!isRetryable(err)) current = await failRun(ctx, current, env, err);
    throw err;
  } finally {
    lease.stop();
    const movedOn =
      isTerminal(current.state) ||
      current.currentEnv !== env ||
      !['deploying', 'verifying'].includes(current.state);
    if (movedOn) await ctx.locks.release(app, env, run.id);
  }
}

/** A deploy that cannot go on (a non-retryable error) ends the run as failed, with why. */
async function failRun(ctx: EngineContext, run: Run, env: string, err: unknown): Promise<Run> {
  const why = isShipgateError(err) ? `${err.code}: ${err.message}` : String(err);
  const moved = await ctx.runs.transition(run.id, {
    from: ['deploying', 'verifying'],
    to: 'failed',
    env,
    reason: why.slice(0, 1000),
    eventKey: `${run.id}:failed:${env}`,
  });
  return moved.run ?? run;
}

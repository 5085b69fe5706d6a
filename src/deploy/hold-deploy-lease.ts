/**
 * Keeps a deploy lock's lease alive while a deploy runs, and turns losing it into an abort.
 *
 * The renewal's answer is read: `false` means another deploy holds the environment now, and
 * the deploy stops at once (the signal reaches every step, so no commit or Argo CD call
 * follows). A renewal that errors (Redis briefly away) is tried again on the next tick, but
 * once the last good renewal is older than two thirds of the lease, the lease may run out
 * before we know: the deploy stops then too, rather than risk two deploys of one environment.
 */
import { DeployLeaseLost } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DeployLock } from '../runs/deploy-lock.js';

export interface DeployLease {
  /** Aborts with DeployLeaseLost when the lease is lost; combines the caller's signal. */
  signal: AbortSignal;
  /** Stops renewing (the caller releases the lock itself). */
  stop(): void;
}

export interface HoldDeployLeaseOptions {
  /** @defaultValue 120000 */
  leaseMs?: number;
  /** The worker's own cancellation (shutdown, a cancelled job). */
  signal?: AbortSignal;
  logger?: Logger;
  /** @defaultValue Date.now */
  now?: () => number;
}

export function holdDeployLease(
  locks: Pick<DeployLock, 'renew'>,
  target: { app: string; env: string; runId: string },
  options: HoldDeployLeaseOptions = {},
): DeployLease {
  const leaseMs = options.leaseMs ?? 120_000;
  const now = options.now ?? Date.now;
  const lost = new AbortController();
  let lastRenewed = now();
  let renewing = false;
  const tick = async () => {
    if (renewing || lost.signal.aborted) return;
    renewing = true;
    try {
      const held = await locks.renew(target.app, target.env, target.runId, { leaseMs });
      if (held) lastRenewed = now();
      else lost.abort(DeployLeaseLost(target.app, target.env, 'another deploy holds the lock'));
    } catch (err) {
      options.logger?.warn({ err: String(err) }, 'deploy lease renewal failed; trying again');
      if (now() - lastRenewed > (leaseMs * 2) / 3) {
        lost.abort(
          DeployLeaseLost(
            target.app,
            target.env,
            `no renewal for ${Math.round((now() - lastRenewed) / 1000)}s`,
            {
              cause: err,
            },
          ),
        );
      }
    } finally {
      renewing = false;
    }
  };
  const timer = setInterval(() => void tick(), Math.max(10, Math.floor(leaseMs / 3)));
  timer.unref();
  const stop = () => clearInterval(timer);
  lost.signal.addEventListener('abort', () => {
    stop();
    options.logger?.error(
      { ...target, reason: String(lost.signal.reason) },
      'deploy lease lost; stopping the deploy',
    );
  });
  return {
    signal: options.signal ? AbortSignal.any([options.signal, lost.signal]) : lost.signal,
    stop,
  };
}

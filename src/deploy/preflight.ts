/**
 * Before a deploy commits anything, it proves it can verify what it commits: Argo CD answers
 * for the environment's Application, and the cluster answers for the Rollout's namespace. A
 * release that cannot be verified never reaches the env repo, where an auto-syncing Argo CD
 * would deploy it ungated.
 */
import type { ArgoCdClient } from '../argocd/argocd-client.js';
import { DeployNotConfigured, DeployPreflightFailed, isRetryable } from '../errors.js';
import type { RolloutRef, RolloutSource } from './watch-rollout.js';

export interface PreflightTarget {
  application: string;
  /** The namespace the workload lives in (any name in it proves the cluster answers). */
  rollout: RolloutRef;
}

/** @defaultValue 20 s: Argo CD's client retries inside this. */
const PREFLIGHT_TIMEOUT_MS = 20_000;

export async function preflightDeploy(
  deps: {
    argocd: Pick<ArgoCdClient, 'getApplication'> | undefined;
    rolloutSource: RolloutSource | undefined;
  },
  target: PreflightTarget,
  signal?: AbortSignal,
): Promise<{ argocd: Pick<ArgoCdClient, 'getApplication'>; rolloutSource: RolloutSource }> {
  const { argocd, rolloutSource } = deps;
  if (argocd === undefined) throw DeployNotConfigured('ARGOCD_SERVER and ARGOCD_TOKEN are not set');
  if (rolloutSource === undefined)
    throw DeployNotConfigured('no KUBECONFIG or in-cluster config to watch Rollouts');
  const bounded = AbortSignal.any([...(signal ? [signal] : []), AbortSignal.timeout(PREFLIGHT_TIMEOUT_MS)]);
  const check = async (what: string, call: () => Promise<unknown>) => {
    try {
      await call();
    } catch (err) {
      signal?.throwIfAborted();
      // Not found or refused (a wrong name, a token without rights) will not heal by waiting.
      if (!isRetryable(err) && !bounded.aborted) throw err;
      throw DeployPreflightFailed(`${what}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  };
  await check(`Argo CD Application ${target.application}`, () =>
    argocd.getApplication(target.application, { signal: bounded }),
  );
  await check(`Kubernetes namespace ${target.rollout.namespace}`, async () => {
    const watch = await rolloutSource.open(target.rollout, bounded);
    watch.close();
  });
  return { argocd, rolloutSource };
}

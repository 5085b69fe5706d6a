/**
 * A deploy that loses its lock mid-rollout, through the real Argo CD client and the
 * Kubernetes stand-in: after the loss it sends no resume, no abort, no sync and no revert.
 */
import { afterEach, expect, it } from 'vitest';
import { holdDeployLease } from '../../../src/deploy/hold-deploy-lease.js';
import { runDeploy } from '../../../src/deploy/run-deploy.js';
import { DeployLeaseLost } from '../../../src/errors.js';
import { newRunId } from '../../../src/runs/run-id.js';
import { DeployLock } from '../../../src/runs/deploy-lock.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import { startDeployHarness, type Harness } from './deploy-harness.js';

let h: Harness | undefined;
const prefix = uniquePrefix('lease-lost');
const redis = testRedis();
afterEach(async () => {
  await h?.close();
  redis.disconnect();
  await deleteKeysWithPrefix(prefix);
});

it('a deploy whose lease is stolen during the blue-green pause stops with no further Argo CD call', async () => {
  const x = (h = await startDeployHarness({ holdPre: true }));
  const locks = new DeployLock(redis, { prefix });
  const mine = newRunId();
  // Long enough that a loaded machine still renews in time (renewals every third of it), short
  // enough that the steal below is seen within a second.
  const leaseMs = 2_000;
  await locks.acquire('web', 'production', mine, { leaseMs });
  const lease = holdDeployLease(locks, { app: 'web', env: 'production', runId: mine }, { leaseMs });

  const deploy = runDeploy(x.input(), x.ports(), { pollIntervalMs: 25, signal: lease.signal });
  // Handled from the start: if the wait below fails, the deploy's rejection is not left unhandled.
  const settled = deploy.then(
    () => 'finished',
    (err: unknown) => err,
  );
  await x.until(
    () => x.rollout().status?.blueGreen?.prePromotionAnalysisRunStatus?.status === 'Running',
    'the Rollout to pause with pre-promotion analysis running',
    60_000,
  );
  // Another deploy of production takes the lock: the next renewal reads `false`.
  await locks.release('web', 'production', mine);
  await locks.acquire('web', 'production', newRunId(), { leaseMs: 60_000 });
  expect(DeployLeaseLost.is(await settled)).toBe(true);

  const requestsAtLoss = x.argo.requests.length;
  // The analysis passes after the loss: a deploy still running would now scan and promote.
  expect(x.finishPre()).toBe(true);
  await new Promise((r) => setTimeout(r, 300));
  expect(x.argo.actions).toEqual([]); // no resume, no abort
  expect(x.argo.syncs.map((s) => s.body.revision)).toEqual([x.releaseCommit]);
  expect(x.reverts).toEqual([]);
  expect(x.zapCalls).toEqual([]);
  expect(x.argo.requests.length).toBe(requestsAtLoss);
  expect(await x.repo.head()).toBe(x.releaseCommit);
});
